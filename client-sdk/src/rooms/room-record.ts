import { type DeviceCertificate, LIMITS, type RoomStatement } from '@liaison/protocol';
import type { KeyStore } from '../key-store/key-store.js';
import { foldMembership, type KnownStatement, type Membership } from './membership.js';
import type { RoomMessage } from './room-message.js';
import { statementHash } from './statements.js';

/** Room messages held, per room, until the history they name arrives. */
export const MAX_WAITING_MESSAGES = 50;
/** Rooms known only by a message that named them, waiting for their history: bounded, as anyone may name one. */
export const MAX_ROOMS_WAITING = 20;

/** What this device keeps of a room, in its key store. */
export interface StoredRoom {
  roomId: string;
  /** Verified statements whose every parent is known, in the order received. */
  statements: RoomStatement[];
  /** Verified statements waiting for a parent. */
  pending: RoomStatement[];
  /** The certificates of the devices that signed them, each once: a later member checks them again. */
  certificates: DeviceCertificate[];
  /** Room messages that name statements this device does not have yet. */
  waiting: RoomMessage[];
}

/**
 * A room as this device holds it: its verified history, folded into its membership, and what waits
 * for history. Statements go in only verified; the fold is recomputed from all of them each time.
 */
export class RoomRecord {
  private readonly known = new Map<string, KnownStatement>();
  private readonly pending = new Map<string, KnownStatement>();
  private readonly certificates = new Map<string, DeviceCertificate>();
  private folded: Membership | undefined;
  waiting: RoomMessage[];

  constructor(stored: StoredRoom) {
    this.roomId = stored.roomId;
    for (const c of stored.certificates) this.certificates.set(c.deviceId, c);
    for (const statement of stored.statements)
      this.known.set(statementHash(statement), { hash: statementHash(statement), statement });
    for (const statement of stored.pending)
      this.pending.set(statementHash(statement), { hash: statementHash(statement), statement });
    this.waiting = stored.waiting;
  }

  readonly roomId: string;

  /** The room's state, or undefined while its `create` has not arrived. */
  get membership(): Membership | undefined {
    if (this.known.size === 0) return undefined;
    this.folded ??= foldMembership([...this.known.values()]);
    return this.folded;
  }

  knows(hash: string): boolean {
    return this.known.has(hash);
  }

  /** Parents named by waiting statements, or by a message's heads, that this device lacks. */
  missing(heads: readonly string[] = []): string[] {
    const named = [...heads, ...[...this.pending.values()].flatMap((s) => s.statement.parents)];
    return [...new Set(named)].filter((h) => !this.known.has(h) && !this.pending.has(h));
  }

  certificate(deviceId: string): DeviceCertificate | undefined {
    return this.certificates.get(deviceId);
  }

  /** The whole history, with its signers' certificates, as a new member gets it. */
  history(): { statements: RoomStatement[]; certificates: DeviceCertificate[] } {
    const statements = (this.membership?.applied ?? []).map((s) => s.statement);
    const signers = new Set(statements.map((s) => s.authorDevice));
    return { statements, certificates: [...this.certificates.values()].filter((c) => signers.has(c.deviceId)) };
  }

  /**
   * Takes verified statements (with their signers' certificates): those whose parents are all
   * known join the history, the others wait. A second `create` for the room is refused. Returns
   * the hashes that joined the history now.
   */
  add(statements: readonly KnownStatement[], certificates: readonly DeviceCertificate[]): string[] {
    for (const c of certificates) if (!this.certificates.has(c.deviceId)) this.certificates.set(c.deviceId, c);
    for (const s of statements) {
      if (this.known.has(s.hash)) continue;
      if (
        s.statement.change.op === 'create' &&
        [...this.known.values()].some((k) => k.statement.change.op === 'create')
      )
        continue;
      if (this.known.size + this.pending.size >= LIMITS.maxRoomStatements * 2) break;
      this.pending.set(s.hash, s);
    }
    const joined: string[] = [];
    for (let progress = true; progress; ) {
      progress = false;
      for (const [hash, s] of this.pending) {
        const ready =
          s.statement.change.op === 'create'
            ? this.known.size === 0
            : this.known.size > 0 && s.statement.parents.every((p) => this.known.has(p));
        if (!ready) continue;
        this.pending.delete(hash);
        this.known.set(hash, s);
        joined.push(hash);
        progress = true;
      }
    }
    if (joined.length > 0) this.folded = undefined;
    return joined;
  }

  toStored(): StoredRoom {
    return {
      roomId: this.roomId,
      statements: [...this.known.values()].map((s) => s.statement),
      pending: [...this.pending.values()].map((s) => s.statement),
      certificates: [...this.certificates.values()],
      waiting: this.waiting,
    };
  }
}

const INDEX_KEY = 'rooms';
const roomKey = (roomId: string) => `room:${roomId}`;

/** The rooms this device holds, in its key store: one state entry per room and an index. */
export class RoomStore {
  constructor(private readonly store: KeyStore) {}

  async ids(): Promise<string[]> {
    const index = await this.store.getState(INDEX_KEY);
    return index ? (JSON.parse(index) as string[]) : [];
  }

  async get(roomId: string): Promise<RoomRecord | undefined> {
    const stored = await this.store.getState(roomKey(roomId));
    return stored ? new RoomRecord(JSON.parse(stored) as StoredRoom) : undefined;
  }

  async put(room: RoomRecord): Promise<void> {
    await this.store.setState(roomKey(room.roomId), JSON.stringify(room.toStored()));
    const ids = await this.ids();
    if (!ids.includes(room.roomId)) await this.store.setState(INDEX_KEY, JSON.stringify([...ids, room.roomId]));
  }
}
