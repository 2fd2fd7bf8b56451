import { type DeviceCertificate, LIMITS, type RoomStatement } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import type { KeyStore } from '../key-store/key-store.js';
import { foldMembership, type KnownStatement, type Membership } from './membership.js';
import type { RoomMessage } from './room-message.js';
import { statementHash } from './statements.js';

/** Room messages held, per room and per sender, until the history they name arrives. */
export const MAX_WAITING_MESSAGES = 50;
export const MAX_WAITING_PER_SENDER = 10;
/** Statements held for a missing parent, per room: whoever knows a room id may send some. */
const MAX_PENDING = 50;
/** Rooms known only by a message that named them, waiting for their history: bounded, as anyone may name one. */
export const MAX_ROOMS_WAITING = 20;

/** What this device keeps of a room, in its key store. */
export interface StoredRoom {
  roomId: string;
  /** Verified statements whose every parent is known, in the order received. */
  statements: RoomStatement[];
  /** Verified statements waiting for a parent. */
  pending: RoomStatement[];
  /** The certificate each statement was verified with, each once: a later member checks them again. */
  certificates: DeviceCertificate[];
  /** Room messages that name statements this device does not have yet. */
  waiting: RoomMessage[];
  /** Hashes of statements refused (their author had no right to them): not asked for again. */
  refused?: string[];
}

/**
 * A room as this device holds it: its verified history, folded into its membership, and what waits
 * for history. Statements go in only verified; the fold is recomputed from all of them each time.
 */
export class RoomRecord {
  private readonly known = new Map<string, KnownStatement>();
  private readonly pending = new Map<string, KnownStatement>();
  /** By signature: a device certified again keeps each certificate its statements were made under. */
  private readonly certificates = new Map<string, DeviceCertificate>();
  private readonly refused: Set<string>;
  private folded: Membership | undefined;
  waiting: RoomMessage[];

  constructor(stored: StoredRoom) {
    this.roomId = stored.roomId;
    for (const c of stored.certificates) this.certificates.set(c.signature, c);
    for (const statement of stored.statements)
      this.known.set(statementHash(statement), { hash: statementHash(statement), statement });
    for (const statement of stored.pending)
      this.pending.set(statementHash(statement), { hash: statementHash(statement), statement });
    this.waiting = stored.waiting;
    this.refused = new Set(stored.refused ?? []);
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

  /** Statements named (by waiting statements, waiting messages, or these heads) that this device lacks. */
  missing(heads: readonly string[] = []): string[] {
    const named = [
      ...heads,
      ...[...this.pending.values()].flatMap((s) => s.statement.parents),
      ...this.waiting.flatMap((m) => m.heads),
    ];
    return [...new Set(named)].filter((h) => !this.known.has(h) && !this.pending.has(h) && !this.refused.has(h));
  }

  /**
   * Whether a contact point was a member in the room as these heads leave it (the statements they
   * name and all before them): what a message naming them was written into.
   */
  memberAt(heads: readonly string[], contactPointId: string): boolean {
    const current = this.membership;
    if (!current) return false;
    if (heads.length === current.heads.length && heads.every((h) => current.heads.includes(h)))
      return current.members.has(contactPointId);
    const included = new Set<string>();
    const stack = [...heads];
    for (let hash = stack.pop(); hash !== undefined; hash = stack.pop()) {
      const known = this.known.get(hash);
      if (!known || included.has(hash)) continue;
      included.add(hash);
      stack.push(...known.statement.parents);
    }
    const subset = [...this.known.values()].filter((s) => included.has(s.hash));
    return subset.length > 0 && foldMembership(subset).members.has(contactPointId);
  }

  /** A certificate kept here under which `statement` could have been made. */
  certificate(statement: RoomStatement): DeviceCertificate | undefined {
    return coveringCertificate([...this.certificates.values()], statement);
  }

  /** The whole history, with its signers' certificates, as a new member gets it. */
  history(): { statements: RoomStatement[]; certificates: DeviceCertificate[] } {
    const statements = (this.membership?.applied ?? []).map((s) => s.statement);
    const all = [...this.certificates.values()];
    const used = new Map<string, DeviceCertificate>();
    for (const statement of statements) {
      const certificate = coveringCertificate(all, statement);
      if (certificate) used.set(certificate.signature, certificate);
    }
    return { statements, certificates: [...used.values()] };
  }

  /**
   * Takes verified statements (with their signers' certificates): those whose parents are all
   * known join the history, the others wait (QUOTA_EXCEEDED past 50 waiting). A statement whose
   * author had no right to it where it stands is refused, and so is a second `create`. Returns the
   * hashes that joined the history now.
   */
  add(statements: readonly (KnownStatement & { certificate: DeviceCertificate })[]): string[] {
    const certificateOf = new Map(statements.map((s) => [s.hash, s.certificate]));
    for (const s of statements) {
      if (this.known.has(s.hash) || this.pending.has(s.hash) || this.refused.has(s.hash)) continue;
      if (this.pending.size >= MAX_PENDING)
        throw new LiaisonError('QUOTA_EXCEEDED', `room ${this.roomId} holds ${MAX_PENDING} changes waiting for others`);
      this.pending.set(s.hash, s);
    }
    const joined: string[] = [];
    for (let progress = true; progress; ) {
      progress = false;
      for (const [hash, s] of this.pending) {
        const create = s.statement.change.op === 'create';
        const ready = create
          ? this.known.size === 0
          : this.known.size > 0 && s.statement.parents.every((p) => this.known.has(p));
        if (!ready) continue;
        this.pending.delete(hash);
        if (!create && this.known.size >= LIMITS.maxRoomStatements) {
          throw new LiaisonError('QUOTA_EXCEEDED', `room ${this.roomId} holds ${LIMITS.maxRoomStatements} changes`);
        }
        this.known.set(hash, s);
        this.folded = undefined;
        if (!this.applies(hash)) {
          this.known.delete(hash);
          this.folded = undefined;
          this.refused.add(hash);
          continue;
        }
        const certificate = certificateOf.get(hash);
        if (certificate) this.certificates.set(certificate.signature, certificate);
        joined.push(hash);
        progress = true;
      }
    }
    return joined;
  }

  /** Whether a statement just joined stands: a valid create, or a statement its author had the right to. */
  private applies(hash: string): boolean {
    try {
      return this.membership?.applied.find((s) => s.hash === hash)?.entitled ?? false;
    } catch {
      return false;
    }
  }

  toStored(): StoredRoom {
    return {
      roomId: this.roomId,
      statements: [...this.known.values()].map((s) => s.statement),
      pending: [...this.pending.values()].map((s) => s.statement),
      certificates: [...this.certificates.values()],
      waiting: this.waiting,
      refused: [...this.refused].slice(-LIMITS.maxRoomStatements),
    };
  }
}

/** The certificate of a statement's device whose validity (with the clock skew allowed) covers its time. */
export function coveringCertificate(
  certificates: readonly DeviceCertificate[],
  statement: RoomStatement,
): DeviceCertificate | undefined {
  return certificates.find(
    (c) =>
      c.deviceId === statement.authorDevice &&
      c.notBefore - LIMITS.maxClockSkewMs <= statement.createdAt &&
      statement.createdAt <= c.notAfter,
  );
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
