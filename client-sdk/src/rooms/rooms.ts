import {
  type DeviceCertificate,
  type Envelope,
  LIMITS,
  type MessageContent,
  RoomChange,
  type RoomContent,
  type RoomRole,
  type RoomStatement,
} from '@liaison/protocol';
import { BoundedMap } from '../bounded-map.js';
import { type OutgoingMessage, sealContent } from '../client/content.js';
import type { SendOptions } from '../client/outbox.js';
import type { VerifiedSender } from '../client/receiver.js';
import { isLiaisonError, LiaisonError } from '../errors.js';
import type { KeyStore } from '../key-store/key-store.js';
import type { Membership } from './membership.js';
import type { RoomChangeEvent, RoomMessage, RoomView } from './room-message.js';
import {
  coveringCertificate,
  MAX_ROOMS_WAITING,
  MAX_WAITING_MESSAGES,
  MAX_WAITING_PER_SENDER,
  RoomRecord,
  RoomStore,
  type VerifiedStatement,
} from './room-record.js';
import { roomIdFor, signStatement, statementHash, verifyStatement } from './statements.js';

/**
 * Case rooms, as the application uses them. Everything a room is (who is in it, what was said)
 * lives in the members' SDKs; the relay sees sends to several contact points, never a room.
 * `PairwiseRooms` is the implementation over the existing pairwise sessions; a later move to MLS
 * (RFC 9420) replaces it behind this interface.
 */
export interface Rooms {
  /** Opens a room with these other contact points as members (1 to 49); this contact point is its first admin. */
  create(room: {
    title: string;
    caseReference?: string;
    members: readonly (string | { contactPointId: string; role: RoomRole })[];
  }): Promise<RoomView>;
  /** Admins only: adds a contact point; it gets the room's history, and every message from now on. */
  invite(roomId: string, contactPointId: string, role?: RoomRole): Promise<RoomView>;
  /** Admins only: nothing sent to the room afterwards reaches the removed contact point's devices. */
  remove(roomId: string, contactPointId: string): Promise<RoomView>;
  /** Admins only. */
  setRole(roomId: string, contactPointId: string, role: RoomRole): Promise<RoomView>;
  /** Admins only. */
  rename(roomId: string, title: string, caseReference?: string): Promise<RoomView>;
  /** Leaves the room: this contact point's devices get nothing sent to it afterwards. */
  leave(roomId: string): Promise<RoomView>;
  /** Encrypts the message for every device of every member, and sends it in one request. */
  send(
    roomId: string,
    message: OutgoingMessage,
    options?: Omit<SendOptions, 'urgent'>,
  ): Promise<{ messageId: string; serverTime: number }>;
  /** The rooms this device holds, those it left among them. */
  list(): Promise<RoomView[]>;
  get(roomId: string): Promise<RoomView | undefined>;
}

/** What a room needs of the client around it. */
export interface RoomDeps {
  self: { contactPointId: string; certificate: DeviceCertificate };
  store: KeyStore;
  /**
   * Verifies a device certificate of `contactPointId` under its designation as verified here, at
   * `at` (a statement's time), against this client's roots and revocations; throws a LiaisonError.
   */
  verifyDevice: (contactPointId: string, certificate: DeviceCertificate, at: number) => Promise<void>;
  /** The time certificates are read at (the relay's clock, bounded by this device's). */
  validAt: () => number;
  sendToSeveral: (
    contactPointIds: readonly string[],
    content: (sealed: { messageId: string; sentAt: number }, contactPointId: string) => unknown,
    options?: Omit<SendOptions, 'urgent'>,
  ) => Promise<{ messageId: string; serverTime: number }>;
  now: () => number;
  message: (message: RoomMessage) => Promise<unknown>;
  changed: (event: RoomChangeEvent) => Promise<unknown>;
  report: (error: unknown) => Promise<void>;
}

/** How soon this device asks the same contact point again for a room's history, or answers it again. */
const HISTORY_REQUEST_INTERVAL_MS = 60_000;

/**
 * Rooms over pairwise Double Ratchet sessions: every change is a statement signed by the acting
 * device and sent to every member's devices; every message is encrypted for each of them and sent
 * in one request. Incoming room content is checked here: statements against their signers'
 * certificates, messages against the membership they name. One operation at a time.
 */
export class PairwiseRooms implements Rooms {
  private readonly rooms: RoomStore;
  private serial: Promise<unknown> = Promise.resolve();
  /** When this device last asked a contact point for a room's history, or last answered one. */
  private readonly asked = new BoundedMap<string, number>(1_000);
  private readonly answered = new BoundedMap<string, number>(1_000);

  constructor(private readonly deps: RoomDeps) {
    this.rooms = new RoomStore(deps.store);
  }

  create(room: Parameters<Rooms['create']>[0]): Promise<RoomView> {
    return this.exclusive(async () => {
      const self = this.deps.self.contactPointId;
      const others = room.members.map((m) =>
        typeof m === 'string' ? { contactPointId: m, role: 'member' as const } : m,
      );
      if (others.some((m) => m.contactPointId === self))
        throw new LiaisonError('INVALID_INPUT', 'the creator is a member already; list the others');
      const members = [{ contactPointId: self, role: 'admin' as const }, ...others];
      const statement = await this.sign(undefined, [], {
        op: 'create',
        title: room.title,
        ...(room.caseReference !== undefined && { caseReference: room.caseReference }),
        members,
      });
      const record = new RoomRecord({
        roomId: statement.roomId,
        statements: [],
        pending: [],
        certificates: [],
        waiting: [],
      });
      return this.change(record, statement, []);
    });
  }

  invite(roomId: string, contactPointId: string, role: RoomRole = 'member'): Promise<RoomView> {
    return this.asAdmin(roomId, async (record, membership) => {
      if (membership.members.has(contactPointId))
        throw new LiaisonError('CONFLICT', `"${contactPointId}" is a member of this room already`);
      if (membership.members.size >= LIMITS.maxRoomMembers)
        throw new LiaisonError('QUOTA_EXCEEDED', `a room holds at most ${LIMITS.maxRoomMembers} contact points`);
      return this.change(record, await this.sign(roomId, membership.heads, { op: 'add', contactPointId, role }), []);
    });
  }

  remove(roomId: string, contactPointId: string): Promise<RoomView> {
    return this.asAdmin(roomId, async (record, membership) => {
      if (!membership.members.has(contactPointId))
        throw new LiaisonError('NOT_FOUND', `"${contactPointId}" is not a member of this room`);
      if (contactPointId === this.deps.self.contactPointId)
        throw new LiaisonError('INVALID_INPUT', 'to take yourself out of a room, leave it');
      // The removed contact point learns of its removal, and of nothing after it.
      const statement = await this.sign(roomId, membership.heads, { op: 'remove', contactPointId });
      return this.change(record, statement, [contactPointId]);
    });
  }

  setRole(roomId: string, contactPointId: string, role: RoomRole): Promise<RoomView> {
    return this.asAdmin(roomId, async (record, membership) => {
      if (!membership.members.has(contactPointId))
        throw new LiaisonError('NOT_FOUND', `"${contactPointId}" is not a member of this room`);
      if (contactPointId === this.deps.self.contactPointId && role !== 'admin' && adminCount(membership) === 1)
        throw new LiaisonError('FORBIDDEN', 'you are the only admin of this room: make another member an admin first');
      return this.change(
        record,
        await this.sign(roomId, membership.heads, { op: 'set-role', contactPointId, role }),
        [],
      );
    });
  }

  rename(roomId: string, title: string, caseReference?: string): Promise<RoomView> {
    return this.asAdmin(roomId, async (record, membership) =>
      this.change(
        record,
        await this.sign(roomId, membership.heads, {
          op: 'rename',
          title,
          ...(caseReference !== undefined && { caseReference }),
        }),
        [],
      ),
    );
  }

  leave(roomId: string): Promise<RoomView> {
    return this.exclusive(async () => {
      const { record, membership } = await this.asMember(roomId);
      const self = this.deps.self.contactPointId;
      if (membership.members.get(self) === 'admin' && adminCount(membership) === 1 && membership.members.size > 1)
        throw new LiaisonError('FORBIDDEN', 'you are the only admin of this room: make another member an admin first');
      // Those who stay learn that this contact point left; its own other devices too.
      return this.change(record, await this.sign(roomId, membership.heads, { op: 'leave' }), [self]);
    });
  }

  send(
    roomId: string,
    message: OutgoingMessage,
    options: Omit<SendOptions, 'urgent'> = {},
  ): Promise<{ messageId: string; serverTime: number }> {
    return this.exclusive(async () => {
      const { record, membership } = await this.asMember(roomId);
      refuseIfIncomplete(record);
      const others = [...membership.members.keys()].filter((m) => m !== this.deps.self.contactPointId);
      if (others.length === 0) throw new LiaisonError('INVALID_INPUT', 'nobody else is in this room');
      const room: RoomContent = { roomId, kind: 'message', heads: membership.heads };
      return this.deps.sendToSeveral(others, (sealed) => content(sealed, room, message), options);
    });
  }

  async list(): Promise<RoomView[]> {
    const views: RoomView[] = [];
    for (const id of await this.rooms.ids()) {
      const view = await this.get(id);
      if (view) views.push(view);
    }
    return views;
  }

  async get(roomId: string): Promise<RoomView | undefined> {
    const record = await this.rooms.get(roomId);
    return record?.membership && this.view(record, record.membership);
  }

  /**
   * Room content that arrived in a message from a verified device: statements merged once
   * verified, a history request answered for members, a message delivered once the membership it
   * names is known here and its sender is a member. Resolves once it is kept or handed over.
   */
  receive(room: RoomContent, sealed: MessageContent, sender: VerifiedSender, envelope: Envelope): Promise<void> {
    return this.exclusive(() => this.receiveNow(room, sealed, sender, envelope)).catch((error) => {
      // Whatever else goes wrong with a room's content is the content's fault: refused, never retried.
      if (error instanceof LiaisonError) throw error;
      throw new LiaisonError('INVALID_MESSAGE', `room content that cannot be applied: ${(error as Error).message}`);
    });
  }

  private async receiveNow(
    room: RoomContent,
    sealed: MessageContent,
    sender: VerifiedSender,
    envelope: Envelope,
  ): Promise<void> {
    const existing = await this.rooms.get(room.roomId);
    if (!existing && (await this.rooms.ids()).length >= 1_000)
      throw new LiaisonError('QUOTA_EXCEEDED', 'this device holds too many rooms');
    const record =
      existing ?? new RoomRecord({ roomId: room.roomId, statements: [], pending: [], certificates: [], waiting: [] });
    if (room.kind === 'history-request') return this.answer(record, sender);
    const before = record.membership;
    let joined: string[] = [];
    if (room.statements && room.certificates) {
      const verified = await this.verified(room.statements, room.certificates, record, room.kind, sender);
      const added = record.add(verified);
      joined = added.joined;
      for (const statement of added.refused) await this.deps.report(withoutRight(statement));
      if (added.dropped > 0)
        await this.deps.report(
          new LiaisonError(
            'QUOTA_EXCEEDED',
            `${added.dropped} change(s) of room ${room.roomId} waited for too many others`,
          ),
        );
    }
    const self = this.deps.self.contactPointId;
    if (room.kind === 'message') {
      const message = roomMessage(room, sealed, sender, envelope, self);
      if (!record.membership || record.missing(message.heads).length > 0) {
        const fromSender = record.waiting.filter((m) => m.sender.contactPointId === sender.contactPointId).length;
        // Never evicts another sender's message: whoever fills the room's share loses its own.
        if (record.waiting.length >= MAX_WAITING_MESSAGES || fromSender >= MAX_WAITING_PER_SENDER) {
          throw new LiaisonError('QUOTA_EXCEEDED', `too many messages of room ${room.roomId} wait for its history`);
        }
        record.waiting.push(message);
      } else if (writtenByMember(record, message, self)) {
        await this.deps.message(message);
      } else {
        await this.deps.report(notAMember(sender.contactPointId, room.roomId));
      }
    }
    const after = record.membership;
    // Changes and histories come from members (or from this contact point's devices), who vouch
    // for them: an outsider holding an old device key of a member cannot slip statements in.
    const vouched =
      sender.contactPointId === self ||
      before?.members.has(sender.contactPointId) ||
      after?.members.has(sender.contactPointId);
    if (room.statements && !vouched) throw notAMember(sender.contactPointId, room.roomId);
    // A room this contact point was never in is not kept: anyone could send a valid history of it.
    if (!before && after && !wasMember(after, self)) {
      if (existing) await this.rooms.remove(room.roomId);
      return;
    }
    if (!existing && !after && (await this.waitingRooms()) >= MAX_ROOMS_WAITING) return;
    await this.rooms.put(record);
    // Asked of a member, a newcomer this device has not seen added, or this contact point's own
    // devices; never of a contact point this device knows was removed.
    const askable =
      !after ||
      after.members.has(sender.contactPointId) ||
      sender.contactPointId === self ||
      !wasMember(after, sender.contactPointId);
    if ((record.missing(room.heads).length > 0 || !after) && askable)
      this.askForHistory(record.roomId, sender.contactPointId);
    if (after) await this.announce(record, after, new Set(joined));
    if (joined.length > 0) {
      await this.release(record);
      this.welcome(record, new Set(joined));
    }
  }

  /** Messages that waited for history: delivered once it is here (from members), dropped otherwise. */
  private async release(record: RoomRecord): Promise<void> {
    const membership = record.membership;
    if (!membership) return;
    const still: RoomMessage[] = [];
    for (const message of record.waiting) {
      if (record.missing(message.heads).length > 0) still.push(message);
      else if (writtenByMember(record, message, this.deps.self.contactPointId)) await this.deps.message(message);
      else await this.deps.report(notAMember(message.sender.contactPointId, record.roomId));
    }
    if (still.length !== record.waiting.length) {
      record.waiting = still;
      await this.rooms.put(record);
    }
  }

  /** Tells the application of each statement that joined the history here and took effect. */
  private async announce(record: RoomRecord, membership: Membership, joined: ReadonlySet<string>): Promise<void> {
    const view = this.view(record, membership);
    for (const { hash, statement, effective } of membership.applied) {
      if (!effective || !joined.has(hash)) continue;
      await this.deps.changed({ room: view, by: statement.author, change: statement.change, at: statement.createdAt });
    }
  }

  /** Signs, sends, and only once sent keeps a change (a failed send leaves the room as it was). */
  private async change(record: RoomRecord, statement: RoomStatement, alsoTo: readonly string[]): Promise<RoomView> {
    const hash = statementHash(statement);
    const before = record.membership;
    if (record.history().statements.length >= LIMITS.maxRoomStatements)
      throw new LiaisonError('QUOTA_EXCEEDED', "this room's history is full: open a new room for what follows");
    if (record.add([{ hash, statement, certificate: this.deps.self.certificate }]).joined.length === 0)
      throw new LiaisonError('FORBIDDEN', 'this change is not yours to make in this room as this device holds it');
    const after = record.membership as Membership;
    const self = this.deps.self.contactPointId;
    const recipients = [...new Set([...after.members.keys(), ...alsoTo])].filter((m) => m !== self);
    const newcomers = new Set([...after.members.keys()].filter((m) => !before?.members.has(m)));
    const change: RoomContent = {
      roomId: record.roomId,
      kind: 'change',
      heads: after.heads,
      statements: [statement],
      certificates: [this.deps.self.certificate],
    };
    const full: RoomContent = { ...change, kind: 'history', ...record.history() };
    // The whole history travels in one message to each newcomer and to whoever asks for it: a
    // change after which it would not fit is refused.
    try {
      sealContent(content({ messageId: NO_MESSAGE, sentAt: 0 }, full, { text: '' }));
    } catch (error) {
      if (!isLiaisonError(error, 'PAYLOAD_TOO_LARGE')) throw error;
      throw new LiaisonError('QUOTA_EXCEEDED', "this room's history is full: open a new room for what follows");
    }
    if (recipients.length > 0)
      await this.deps.sendToSeveral(recipients, (sealed, to) =>
        content(sealed, !before || newcomers.has(to) ? full : change, { text: '' }),
      );
    await this.rooms.put(record);
    await this.announce(record, after, new Set([hash]));
    return this.view(record, after);
  }

  /** A history request from a member (or this contact point's own device) is answered with the whole history. */
  private async answer(record: RoomRecord, requester: VerifiedSender): Promise<void> {
    const membership = record.membership;
    const self = this.deps.self.contactPointId;
    if (!membership?.members.has(self)) return;
    if (requester.contactPointId !== self && !membership.members.has(requester.contactPointId)) {
      return this.deps.report(notAMember(requester.contactPointId, record.roomId));
    }
    await this.sendHistory(record, requester.contactPointId);
  }

  /** The whole history to a contact point, at most once a minute; sent after the current operation. */
  private async sendHistory(record: RoomRecord, to: string): Promise<void> {
    const membership = record.membership;
    if (!membership) return;
    const key = `${record.roomId} ${to}`;
    const last = this.answered.get(key);
    if (last !== undefined && this.deps.now() - last < HISTORY_REQUEST_INTERVAL_MS) return;
    this.answered.set(key, this.deps.now());
    const history: RoomContent = {
      roomId: record.roomId,
      kind: 'history',
      heads: membership.heads,
      ...record.history(),
    };
    // Sent after this operation ends: the answer must not hold up what arrives next.
    void Promise.resolve().then(() =>
      this.deps
        .sendToSeveral([to], (sealed) => content(sealed, history, { text: '' }))
        .catch((error) => this.deps.report(error)),
    );
  }

  /**
   * Someone was added by a change made without seeing this contact point's own: the newcomer was
   * sent a history without them (a removal among them), so it gets the whole history from here.
   */
  private welcome(record: RoomRecord, joined: ReadonlySet<string>): void {
    const membership = record.membership;
    const self = this.deps.self.contactPointId;
    if (!membership?.members.has(self)) return;
    for (const { hash, statement, effective } of membership.applied) {
      const change = statement.change;
      if (!effective || !joined.has(hash) || change.op !== 'add' || !membership.members.has(change.contactPointId))
        continue;
      const unseen = membership.applied.some(
        (s) =>
          s.statement.author === self &&
          s.hash !== hash &&
          !record.descendsFrom(hash, s.hash) &&
          !record.descendsFrom(s.hash, hash),
      );
      if (unseen) void this.sendHistory(record, change.contactPointId);
    }
  }

  private askForHistory(roomId: string, from: string): void {
    const key = `${roomId} ${from}`;
    const last = this.asked.get(key);
    if (last !== undefined && this.deps.now() - last < HISTORY_REQUEST_INTERVAL_MS) return;
    this.asked.set(key, this.deps.now());
    void this.rooms
      .get(roomId)
      .then(async (record) => {
        const request: RoomContent = { roomId, kind: 'history-request', heads: record?.membership?.heads ?? [] };
        await this.deps.sendToSeveral([from], (sealed) => content(sealed, request, { text: '' }));
      })
      .catch((error) => this.deps.report(error));
  }

  private async verified(
    statements: readonly RoomStatement[],
    certificates: readonly DeviceCertificate[],
    record: RoomRecord,
    kind: RoomContent['kind'],
    sender: VerifiedSender,
  ): Promise<VerifiedStatement[]> {
    const chains = new Set<string>();
    const verified: VerifiedStatement[] = [];
    for (const statement of statements) {
      // A change comes from the device that made it, which the session authenticated; a history may be forwarded.
      if (kind === 'change' && statement.authorDevice !== sender.deviceId) {
        throw new LiaisonError(
          'UNTRUSTED_IDENTITY',
          `a change of room ${statement.roomId} arrived from another device than its author's`,
        );
      }
      if (statement.createdAt > this.deps.validAt() + LIMITS.maxClockSkewMs) {
        throw new LiaisonError('NOT_YET_VALID', `a change of room ${statement.roomId} is dated in the future`);
      }
      const certificate = coveringCertificate(certificates, statement) ?? record.certificate(statement);
      if (!certificate)
        throw new LiaisonError(
          'UNTRUSTED_IDENTITY',
          `a change of room ${statement.roomId} came without its device's certificate`,
        );
      // The signing device's chain, at the statement's time, with this client's revocations: a
      // revoked device's statements count for nothing, whenever they say they were made.
      verifyStatement(statement, certificate);
      const checked = `${statement.author} ${certificate.signature} ${statement.createdAt}`;
      if (!chains.has(checked)) {
        await this.deps.verifyDevice(statement.author, certificate, statement.createdAt);
        chains.add(checked);
      }
      verified.push({ hash: statementHash(statement), statement, certificate });
    }
    return verified;
  }

  /** Signs a change of `roomId`, or (without one) the create of a room whose id it makes. */
  private async sign(
    roomId: string | undefined,
    parents: readonly string[],
    change: RoomChange,
  ): Promise<RoomStatement> {
    // Checked before anything is signed: a title too long or a list too short is the caller's to fix.
    const parsed = RoomChange.safeParse(change);
    if (!parsed.success) throw new LiaisonError('INVALID_INPUT', parsed.error.issues[0]?.message ?? 'invalid change');
    const identity = await this.deps.store.getIdentity();
    if (!identity) throw new LiaisonError('NO_IDENTITY', 'the key store has no device identity key');
    const body = {
      parents: [...parents],
      author: this.deps.self.contactPointId,
      authorDevice: this.deps.self.certificate.deviceId,
      change,
      createdAt: this.deps.now(),
    };
    return signStatement(identity, { ...body, roomId: roomId ?? roomIdFor(body) });
  }

  private asAdmin(
    roomId: string,
    act: (record: RoomRecord, membership: Membership) => Promise<RoomView>,
  ): Promise<RoomView> {
    return this.exclusive(async () => {
      const { record, membership } = await this.asMember(roomId);
      refuseIfIncomplete(record);
      if (membership.members.get(this.deps.self.contactPointId) !== 'admin')
        throw new LiaisonError('FORBIDDEN', "only a room's admins change its members and title");
      return act(record, membership);
    });
  }

  private async asMember(roomId: string): Promise<{ record: RoomRecord; membership: Membership }> {
    const record = await this.rooms.get(roomId);
    const membership = record?.membership;
    if (!record || !membership) throw new LiaisonError('NOT_FOUND', `no room ${roomId} on this device`);
    if (!membership.members.has(this.deps.self.contactPointId)) throw notAMember(this.deps.self.contactPointId, roomId);
    return { record, membership };
  }

  private async waitingRooms(): Promise<number> {
    let count = 0;
    for (const id of await this.rooms.ids()) if (!(await this.rooms.get(id))?.membership) count++;
    return count;
  }

  private view(record: RoomRecord, membership: Membership): RoomView {
    const role = membership.members.get(this.deps.self.contactPointId);
    return {
      roomId: record.roomId,
      title: membership.title,
      ...(membership.caseReference !== undefined && { caseReference: membership.caseReference }),
      members: [...membership.members].map(([contactPointId, r]) => ({ contactPointId, role: r })),
      ...(role && { role }),
      createdBy: membership.createdBy,
      createdAt: membership.createdAt,
      complete: record.missing().length === 0,
    };
  }

  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.serial.then(operation, operation);
    this.serial = run.catch(() => undefined);
    return run;
  }
}

/** A message id for measuring a content's size, never sent. */
const NO_MESSAGE = '00000000-0000-4000-8000-000000000000';

function content(
  sealed: { messageId: string; sentAt: number; attachments?: unknown },
  room: RoomContent,
  message: OutgoingMessage,
): MessageContent {
  return { version: 2, priority: 'normal', ...sealed, ...message, room } as MessageContent;
}

function roomMessage(
  room: RoomContent,
  sealed: MessageContent,
  sender: VerifiedSender,
  envelope: Envelope,
  self: string,
): RoomMessage {
  const { version: _v, to: _t, room: _r, priority: _p, urgent: _u, ...fields } = sealed;
  return {
    ...fields,
    roomId: room.roomId,
    direction: sender.contactPointId === self ? 'outgoing' : 'incoming',
    sender,
    heads: room.heads,
    relay: { serverTime: envelope.serverTime },
  };
}

/**
 * The sender is a member now, and was one in the room as the message's heads leave it; and this
 * contact point is still in the room (a member who missed its removal may still write to it).
 */
function writtenByMember(record: RoomRecord, message: RoomMessage, self: string): boolean {
  const sender = message.sender.contactPointId;
  const members = record.membership?.members;
  return (members?.has(sender) ?? false) && (members?.has(self) ?? false) && record.memberAt(message.heads, sender);
}

/** An admin named part of the history that is missing here (and asked for): acting now could undo a change not yet seen. */
function refuseIfIncomplete(record: RoomRecord): void {
  if (record.missingFromAdmins().length > 0)
    throw new LiaisonError(
      'UNAVAILABLE',
      "part of this room's history has not reached this device yet; it was asked for: try again shortly",
    );
}

function adminCount(membership: Membership): number {
  return [...membership.members.values()].filter((r) => r === 'admin').length;
}

/** Whether the history ever made this contact point a member. */
function wasMember(membership: Membership, contactPointId: string): boolean {
  return (
    membership.members.has(contactPointId) ||
    membership.applied.some(
      ({ statement: { change, author }, effective }) =>
        effective &&
        ((change.op === 'create' && change.members.some((m) => m.contactPointId === contactPointId)) ||
          (change.op === 'add' && change.contactPointId === contactPointId) ||
          (change.op === 'leave' && author === contactPointId)),
    )
  );
}

function withoutRight(statement: RoomStatement): LiaisonError {
  return new LiaisonError(
    'FORBIDDEN',
    `a change of room ${statement.roomId} by "${statement.author}", who had no right to it, was refused`,
  );
}

function notAMember(contactPointId: string, roomId: string): LiaisonError {
  return new LiaisonError('NOT_A_MEMBER', `"${contactPointId}" is not a member of room ${roomId}`);
}
