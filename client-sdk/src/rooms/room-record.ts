import { type DeviceCertificate, LIMITS, type RoomStatement } from '@liaison/protocol';
import type { KeyStore } from '../key-store/key-store.js';
import { foldMembership, type KnownStatement, type Membership } from './membership.js';
import type { RoomMessage } from './room-message.js';
import { statementHash } from './statements.js';

/** A statement verified here, with the device certificate it was verified with. */
export type VerifiedStatement = KnownStatement & { certificate: DeviceCertificate };

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

  /**
   * What an admin named that this device lacks (in a waiting statement or a waiting message): a
   * removal is an admin's, and the admin's next word names it. Acting before it arrives could
   * write to a removed member.
   */
  missingFromAdmins(): string[] {
    const admin = (contactPointId: string) => this.membership?.members.get(contactPointId) === 'admin';
    const named = [
      ...[...this.pending.values()].filter((s) => admin(s.statement.author)).flatMap((s) => s.statement.parents),
      ...this.waiting.filter((m) => admin(m.sender.contactPointId)).flatMap((m) => m.heads),
    ];
    return [...new Set(named)].filter((h) => !this.known.has(h) && !this.pending.has(h) && !this.refused.has(h));
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

  /** Whether statement `later` names `earlier`, directly or through others. */
  descendsFrom(later: string, earlier: string): boolean {
    const stack = [...(this.known.get(later)?.statement.parents ?? [])];
    const seen = new Set<string>();
    for (let hash = stack.pop(); hash !== undefined; hash = stack.pop()) {
      if (hash === earlier) return true;
      if (seen.has(hash)) continue;
      seen.add(hash);
      stack.push(...(this.known.get(hash)?.statement.parents ?? []));
    }
    return false;
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
   * Takes verified statements: those whose parents are all known join the history, the others
   * wait (at most 50: the newest beyond are dropped). A statement whose author had no right to it
   * in the room as it saw it is refused, never kept, and so is a second `create`. Returns what
   * joined now, what was refused, and how many were dropped.
   */
  add(statements: readonly VerifiedStatement[]): { joined: string[]; refused: RoomStatement[]; dropped: number } {
    const certificateOf = new Map(statements.map((s) => [s.hash, s.certificate]));
    const arrived: string[] = [];
    for (const s of statements) {
      if (this.known.has(s.hash) || this.pending.has(s.hash) || this.refused.has(s.hash)) continue;
      this.pending.set(s.hash, s);
      arrived.push(s.hash);
    }
    const joined: string[] = [];
    const refused: RoomStatement[] = [];
    for (;;) {
      const batch = this.joinReady();
      if (batch.length === 0) break;
      // Judged together, in one fold: a statement refused takes back to waiting those that name it.
      const entitled = this.entitlement();
      const bad = batch.filter((hash) => !entitled.get(hash));
      if (bad.length === 0) {
        joined.push(...batch);
        continue;
      }
      for (const hash of batch) {
        const s = this.known.get(hash) as KnownStatement;
        this.known.delete(hash);
        if (bad.includes(hash)) {
          this.refused.add(hash);
          refused.push(s.statement);
        } else {
          this.pending.set(hash, s);
        }
      }
      this.folded = undefined;
    }
    for (const hash of joined) {
      const certificate = certificateOf.get(hash);
      if (certificate) this.certificates.set(certificate.signature, certificate);
    }
    let dropped = 0;
    for (const hash of arrived.reverse()) {
      if (this.pending.size <= MAX_PENDING) break;
      if (this.pending.delete(hash)) dropped++;
    }
    return { joined, refused, dropped };
  }

  /** Moves every waiting statement whose parents are known into the history, while there is room. */
  private joinReady(): string[] {
    const batch: string[] = [];
    for (let progress = true; progress; ) {
      progress = false;
      for (const [hash, s] of this.pending) {
        if (this.known.size >= LIMITS.maxRoomStatements) return batch;
        const create = s.statement.change.op === 'create';
        const ready = create
          ? this.known.size === 0
          : this.known.size > 0 && s.statement.parents.every((p) => this.known.has(p));
        if (!ready) continue;
        this.pending.delete(hash);
        this.known.set(hash, s);
        batch.push(hash);
        progress = true;
      }
    }
    this.folded = undefined;
    return batch;
  }

  /** Whether each statement held had the right it used; none when the history is not a room's. */
  private entitlement(): Map<string, boolean> {
    try {
      return new Map((this.membership?.applied ?? []).map((s) => [s.hash, s.entitled]));
    } catch {
      this.folded = undefined;
      return new Map();
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
      statement.createdAt < c.notAfter,
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

  async remove(roomId: string): Promise<void> {
    await this.store.setState(roomKey(roomId), undefined);
    const ids = await this.ids();
    if (ids.includes(roomId)) await this.store.setState(INDEX_KEY, JSON.stringify(ids.filter((id) => id !== roomId)));
  }

  async put(room: RoomRecord): Promise<void> {
    await this.store.setState(roomKey(room.roomId), JSON.stringify(room.toStored()));
    const ids = await this.ids();
    if (!ids.includes(room.roomId)) await this.store.setState(INDEX_KEY, JSON.stringify([...ids, room.roomId]));
  }
}
