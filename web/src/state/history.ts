// The practitioner's local record of conversations and case rooms. The SDK keeps no history, so the
// app does: each message as the app showed it, in the key store's application records (sealed with
// the key store's key, docs/browser.md), by counterpart or by room in buckets of BUCKET entries,
// with one index record that lists conversations, rooms and case references. Opening a
// conversation or a room reads its newest bucket only; older ones are read as the reader scrolls back.
import type {
  Attachment,
  HandlingCode,
  RequestKind,
  RequestStatus,
  RoomChange,
  RoomView,
  UrgentState,
} from '@liaison/client';
import { signal } from '@preact/signals';

export const BUCKET = 200;

export interface PartyName {
  contactPointId: string;
  displayName: string;
  role: string;
  authorityName: string;
  country: string;
  networkName: string;
  timeZone?: string;
}

/**
 * What a message did to a request between authorities (docs/evidence.md): opened it (kind, legal
 * basis, deadline), stated a status (with grounds), or said something about it. The request's
 * whole state is the SDK's (`client.requests`); this is what the conversation shows beside the text.
 */
export interface StoredRequestMark {
  requestId: string;
  change: 'opened' | 'status' | 'message';
  kind?: RequestKind;
  legalBasis?: string;
  /** When the requesting side needs it executed (its clock). */
  deadline?: number;
  status?: RequestStatus;
  grounds?: string;
}

export interface StoredMessage {
  messageId: string;
  /**
   * The counterpart: the recipient of what this contact point sent, the sender of what it received;
   * for a room's message, the room's key (`roomKey`), which no contact point id can be.
   */
  peer: string;
  /** Written to this room (its id). */
  room?: string;
  direction: 'in' | 'out';
  /** The relay's time when it stored the message (sent) or the sender's time (received); this device's clock while waiting. */
  at: number;
  subject?: string;
  reference?: string;
  language?: string;
  handling?: HandlingCode[];
  text: string;
  attachments?: Attachment[];
  priority: 'normal' | 'urgent';
  /** Received: the sender as the SDK verified it. */
  sender?: PartyName & { deviceName: string };
  /** Received under an account key other than the one recorded here, before anyone compared it. */
  senderKeyChanged?: boolean;
  /** Received urgent: when a person here must acknowledge it (relay time). */
  deadline?: number;
  /** Sent: waiting (not yet stored by the relay) or stored; then what the receipts said. */
  state: 'waiting' | 'stored' | 'failed';
  failure?: string;
  /** Failed with files: whether they are still kept for Try again (only after a failure that may pass). */
  filesKept?: boolean;
  /** Sent: when each device got it, by "contactPointId/deviceId" (the recipient's, and its escalation chain's). */
  delivered?: Record<string, number>;
  /** Sent: a person of the recipient (or of its escalation chain) confirmed it. Received urgent: someone here did. */
  acknowledged?: { at: number; by: string };
  /** Sent: the relay dropped it undelivered when its retention ran out. */
  expired?: number;
  /** Urgent: each level's time to acknowledge, as the sender chose it. */
  acknowledgeWithinMs?: number;
  /** Sent: what the escalation looks like, as the relay last told it. */
  urgent?: UrgentState;
  /** Sent with files: their names and sizes (the keys are in the SDK's pending uploads until stored). */
  files?: { name: string; size: number; type: string }[];
  /** It opened a request, or is about one. */
  request?: StoredRequestMark;
}

export interface Conversation {
  peer: PartyName;
  lastAt: number;
  lastSubject?: string;
  unread: number;
  /** Urgent messages received here and not yet acknowledged. */
  urgentOpen: string[];
  buckets: number;
  count: number;
}

/** A change of a room's members or title, kept as a line of the room's timeline. */
export interface StoredRoomChange {
  kind: 'change';
  /** Made from the change itself (the SDK names none): the same change told twice is kept once. */
  messageId: string;
  /** The author's clock when it signed the change. */
  at: number;
  /** The administrator who made it (or, for a `leave`, the member who left). */
  by: string;
  change: RoomChange;
}

/** What a room's timeline holds: its messages and the changes of its membership, in the order they came. */
export type RoomEntry = StoredMessage | StoredRoomChange;

export function isRoomChange(entry: RoomEntry): entry is StoredRoomChange {
  return (entry as StoredRoomChange).kind === 'change';
}

export interface RoomSummary {
  /** The room as the SDK last showed it (members, roles, title, whether its history is complete). */
  room: RoomView;
  lastAt: number;
  lastSubject?: string;
  unread: number;
  buckets: number;
  count: number;
  /** How this contact point's membership ended, when an admin removed it or it left (read-only from then on). */
  ended?: { by: string; at: number; left: boolean };
  /** Everyone met in this room, past members included, to name them in its timeline while offline. */
  names: Record<string, PartyName>;
}

/** A room's timeline is kept under this key, beside conversations (a contact point id has no ':'). */
export function roomKey(roomId: string): string {
  return `room:${roomId}`;
}

/** What a person established about a counterpart's key: compared (verified), or changed since. */
export interface Trust {
  verified?: boolean;
  keyChanged?: boolean;
}

export interface CaseSummary {
  reference: string;
  lastAt: number;
  peers: string[];
}

interface Index {
  version: 1;
  conversations: Record<string, Conversation>;
  /** By room id. */
  rooms: Record<string, RoomSummary>;
  cases: Record<string, CaseSummary>;
  /** Recent sent messages and their counterpart (or room key): a receipt names the message, not the conversation. */
  sent: Record<string, string>;
  /** Sent messages the relay has not stored yet, to send again after a reload. */
  waiting: Record<string, string>;
  /** Kept apart from conversations: a key is often compared before the first message. */
  trust: Record<string, Trust>;
}

/** Receipts come for recent messages; older ones are looked up by nobody. */
const SENT_KEPT = 2000;

export interface AppRecords {
  get(name: string): Promise<Uint8Array | undefined>;
  put(name: string, value: Uint8Array): Promise<void>;
  delete(name: string): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The index's maps are keyed by what senders choose (a case reference, a contact point id): as
 * objects without a prototype, a key such as "constructor" or "__proto__" is a key like any other.
 */
function dictionary<T>(entries: Record<string, T> = {}): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, entries);
}

function readIndex(bytes: Uint8Array | undefined): Index {
  const stored = bytes ? (JSON.parse(decoder.decode(bytes)) as Partial<Index>) : {};
  return {
    version: 1,
    conversations: dictionary(stored.conversations),
    rooms: dictionary(
      Object.fromEntries(
        Object.entries(stored.rooms ?? {}).map(([id, room]) => [id, { ...room, names: dictionary(room.names) }]),
      ),
    ),
    cases: dictionary(stored.cases),
    sent: dictionary(stored.sent),
    waiting: dictionary(stored.waiting),
    trust: dictionary(stored.trust),
  };
}
const INDEX = 'history/index';
const bucketName = (peer: string, n: number) => `history/${peer}/${n}`;

function keptLocally(message: StoredMessage): Partial<StoredMessage> {
  return message.acknowledged ? { acknowledged: message.acknowledged } : {};
}

export class History {
  /** Conversations, newest first. */
  readonly conversations = signal<Conversation[]>([]);
  /** Case rooms this device holds, those it left among them, newest first. */
  readonly rooms = signal<RoomSummary[]>([]);
  readonly cases = signal<CaseSummary[]>([]);
  /** Bumped on every change, so that open views re-read what they show. */
  readonly revision = signal(0);
  private writes: Promise<unknown> = Promise.resolve();
  private readonly cache = new Map<string, RoomEntry[]>();

  private constructor(
    private readonly records: AppRecords,
    private index: Index,
  ) {
    this.publish();
  }

  static async open(records: AppRecords): Promise<History> {
    return new History(records, readIndex(await records.get(INDEX)));
  }

  /** Forgets what was read into memory (the page is being locked); the records stay sealed where they are. */
  close(): void {
    this.cache.clear();
    this.index = readIndex(undefined);
    this.publish();
  }

  peerOfSent(messageId: string): string | undefined {
    return this.index.sent[messageId];
  }

  /** Sent messages not stored by the relay when the page last ran (to counterparts and to rooms). */
  async waiting(): Promise<StoredMessage[]> {
    const found: StoredMessage[] = [];
    for (const [messageId, peer] of Object.entries(this.index.waiting)) {
      const n = await this.locate(peer, messageId);
      const entry = n === undefined ? undefined : (await this.entries(peer, n)).find((m) => m.messageId === messageId);
      if (entry && !isRoomChange(entry) && entry.state === 'waiting') found.push(entry);
    }
    return found;
  }

  conversation(peer: string): Conversation | undefined {
    return this.index.conversations[peer];
  }

  room(roomId: string): RoomSummary | undefined {
    return this.index.rooms[roomId];
  }

  /** Messages of bucket `n` of a conversation, oldest first. */
  async bucket(peer: string, n: number): Promise<StoredMessage[]> {
    // A conversation's buckets hold messages only: changes are a room's.
    return (await this.entries(peer, n)) as StoredMessage[];
  }

  /** Messages and changes of bucket `n` of a room, in the order they came. */
  roomBucket(roomId: string, n: number): Promise<RoomEntry[]> {
    return this.entries(roomKey(roomId), n);
  }

  /** Adds a message, or replaces the one with its id (a message redelivered after a reload is stored once). */
  add(message: StoredMessage, peer: PartyName, options: { unread?: boolean } = {}): Promise<void> {
    return this.write(async () => {
      if (await this.redelivered(message)) return;
      const conversation = this.index.conversations[message.peer] ?? {
        peer,
        lastAt: 0,
        unread: 0,
        urgentOpen: [],
        buckets: 1,
        count: 0,
      };
      conversation.peer = { ...conversation.peer, ...peer };
      await this.append(message.peer, conversation, message);
      conversation.lastAt = Math.max(conversation.lastAt, message.at);
      conversation.lastSubject = message.subject ?? message.text.slice(0, 80);
      if (options.unread) conversation.unread++;
      this.noteSent(message);
      if (message.direction === 'in' && message.priority === 'urgent' && !message.acknowledged) {
        conversation.urgentOpen = [...conversation.urgentOpen, message.messageId];
      }
      this.index.conversations[message.peer] = conversation;
      if (message.reference) {
        const summary = this.index.cases[message.reference] ?? { reference: message.reference, lastAt: 0, peers: [] };
        summary.lastAt = Math.max(summary.lastAt, message.at);
        if (!summary.peers.includes(message.peer)) summary.peers.push(message.peer);
        this.index.cases[message.reference] = summary;
      }
      await this.saveIndex();
    });
  }

  /**
   * Records a room as the SDK shows it now (its members, title, whether its history is complete),
   * with names of contact points met in it. Nothing is added to its timeline.
   */
  roomSeen(view: RoomView, names: readonly PartyName[] = []): Promise<void> {
    return this.write(async () => {
      const summary = this.summary(view.roomId, view);
      const before = JSON.stringify(summary);
      summary.room = view;
      if (view.role) delete summary.ended;
      for (const party of names) summary.names[party.contactPointId] = party;
      if (JSON.stringify(summary) === before && this.index.rooms[view.roomId]) return;
      this.index.rooms[view.roomId] = summary;
      await this.saveIndex();
    });
  }

  /** Names contact points met in a room (its members, past ones too), for its timeline while offline. */
  nameInRoom(roomId: string, names: readonly PartyName[]): Promise<void> {
    return this.write(async () => {
      const summary = this.summary(roomId);
      if (!summary) return;
      const before = JSON.stringify(summary.names);
      for (const party of names) summary.names[party.contactPointId] = party;
      if (JSON.stringify(summary.names) === before) return;
      this.index.rooms[roomId] = summary;
      await this.saveIndex();
    });
  }

  /**
   * A change of a room that took effect: a line in its timeline (once, however often it is told),
   * and the room as it is after it. `ended`: the change took this contact point out of the room.
   */
  addRoomChange(
    change: StoredRoomChange,
    view: RoomView,
    ended?: { by: string; at: number; left: boolean },
  ): Promise<void> {
    return this.write(async () => {
      const key = roomKey(view.roomId);
      const summary = this.summary(view.roomId, view);
      summary.room = view;
      if (view.role) delete summary.ended;
      else if (ended) summary.ended = ended;
      this.index.rooms[view.roomId] = summary;
      if ((await this.locate(key, change.messageId)) === undefined) {
        await this.append(key, summary, change);
        summary.lastAt = Math.max(summary.lastAt, change.at);
      }
      await this.saveIndex();
    });
  }

  /** Adds a message written to a room already recorded (`roomSeen`), or replaces the one with its id. */
  addRoomMessage(message: StoredMessage, options: { unread?: boolean } = {}): Promise<void> {
    return this.write(async () => {
      const summary = message.room ? this.summary(message.room) : undefined;
      if (!summary || message.peer !== roomKey(summary.room.roomId))
        throw new Error('a room message is added to a room recorded here');
      if (await this.redelivered(message)) return;
      this.index.rooms[summary.room.roomId] = summary;
      if (message.sender) summary.names[message.sender.contactPointId] = withoutDevice(message.sender);
      await this.append(message.peer, summary, message);
      summary.lastAt = Math.max(summary.lastAt, message.at);
      summary.lastSubject = message.subject ?? message.text.slice(0, 80);
      if (options.unread) summary.unread++;
      this.noteSent(message);
      await this.saveIndex();
    });
  }

  /** Changes a stored message (a receipt, an escalation step, an acknowledgement); false when it is not here. */
  update(peer: string, messageId: string, change: (message: StoredMessage) => StoredMessage): Promise<boolean> {
    return this.write(async () => {
      const changed = await this.replace(peer, messageId, change);
      if (!changed) return false;
      const conversation = this.index.conversations[peer];
      const settled =
        changed.direction === 'in' && changed.acknowledged && conversation?.urgentOpen.includes(messageId);
      const sentOff = changed.direction === 'out' && changed.state !== 'waiting' && messageId in this.index.waiting;
      if (conversation && settled) conversation.urgentOpen = conversation.urgentOpen.filter((id) => id !== messageId);
      if (sentOff) delete this.index.waiting[messageId];
      if (changed.direction === 'out' && changed.state === 'waiting') this.index.waiting[messageId] = peer;
      if (settled || sentOff || changed.state === 'waiting') await this.saveIndex();
      return true;
    });
  }

  /** Marks what a conversation holds as read. */
  markRead(peer: string): Promise<void> {
    return this.write(async () => {
      const conversation = this.index.conversations[peer];
      if (!conversation) return;
      this.index.conversations[peer] = { ...conversation, unread: 0 };
      await this.saveIndex();
    });
  }

  /** Marks what a room holds as read. */
  markRoomRead(roomId: string): Promise<void> {
    return this.write(async () => {
      const summary = this.index.rooms[roomId];
      if (!summary) return;
      this.index.rooms[roomId] = { ...summary, unread: 0 };
      await this.saveIndex();
    });
  }

  trust(peer: string): Trust {
    return this.index.trust[peer] ?? {};
  }

  /** Counterparts whose key changed since it was last accepted here. */
  changedKeys(): string[] {
    return Object.entries(this.index.trust)
      .filter(([, trust]) => trust.keyChanged)
      .map(([peer]) => peer);
  }

  setTrust(peer: string, trust: Trust): Promise<void> {
    return this.write(async () => {
      this.index.trust[peer] = { ...this.index.trust[peer], ...trust };
      await this.saveIndex();
    });
  }

  /**
   * Every stored message whose reference, subject or text contains `query` (case-insensitive),
   * newest first: in conversations and rooms, or with `reference`, in conversations under that case.
   */
  async search(query: string, filter: { reference?: string } = {}): Promise<StoredMessage[]> {
    const needle = query.trim().toLocaleLowerCase();
    const found: StoredMessage[] = [];
    const threads: [string, number][] = [];
    for (const conversation of Object.values(this.index.conversations)) {
      if (filter.reference && !this.index.cases[filter.reference]?.peers.includes(conversation.peer.contactPointId))
        continue;
      threads.push([conversation.peer.contactPointId, conversation.buckets]);
    }
    if (!filter.reference)
      for (const summary of Object.values(this.index.rooms))
        threads.push([roomKey(summary.room.roomId), summary.buckets]);
    for (const [key, buckets] of threads) {
      for (let n = 0; n < buckets; n++) {
        for (const message of await this.entries(key, n)) {
          if (isRoomChange(message)) continue;
          if (filter.reference && message.reference !== filter.reference) continue;
          const haystack = `${message.reference ?? ''}\n${message.subject ?? ''}\n${message.text}`.toLocaleLowerCase();
          if (!needle || haystack.includes(needle)) found.push(message);
        }
      }
    }
    return found.sort((a, b) => b.at - a.at);
  }

  /**
   * A copy of the room's summary to change and put back (new if this is the first news of it, with
   * `view`): the screens are told of a change by a new object, never by the old one changed.
   */
  private summary(roomId: string, view: RoomView): RoomSummary;
  private summary(roomId: string): RoomSummary | undefined;
  private summary(roomId: string, view?: RoomView): RoomSummary | undefined {
    const known = this.index.rooms[roomId];
    if (known) return { ...known, names: dictionary(known.names) };
    return view && { room: view, lastAt: 0, unread: 0, buckets: 1, count: 0, names: dictionary() };
  }

  /** A message already stored (delivered again after a reload) is replaced in place; true when it was. */
  private async redelivered(message: StoredMessage): Promise<boolean> {
    // Bucket 0 is found too: the first BUCKET messages of a conversation are redelivered as well.
    if ((await this.locate(message.peer, message.messageId)) === undefined) return false;
    // What this device did with it (an acknowledgement) is kept over the copy delivered again.
    await this.replace(message.peer, message.messageId, (old) => ({ ...old, ...message, ...keptLocally(old) }));
    return true;
  }

  /** Puts an entry at the end of a conversation's or room's newest bucket, opening a new one when it is full. */
  private async append(key: string, thread: { buckets: number; count: number }, entry: RoomEntry): Promise<void> {
    let n = thread.buckets - 1;
    let entries = await this.entries(key, n);
    if (entries.length >= BUCKET) {
      n = thread.buckets++;
      entries = [];
    }
    await this.saveBucket(key, n, [...entries, entry]);
    thread.count++;
  }

  /** A sent message: remembered for its receipts, and for a resend while the relay does not have it. */
  private noteSent(message: StoredMessage): void {
    if (message.direction !== 'out') return;
    this.index.sent[message.messageId] = message.peer;
    const ids = Object.keys(this.index.sent);
    for (const old of ids.slice(0, Math.max(0, ids.length - SENT_KEPT))) delete this.index.sent[old];
    if (message.state === 'waiting') this.index.waiting[message.messageId] = message.peer;
  }

  /** A conversation (by counterpart) or a room (by its key). */
  private thread(key: string): { buckets: number } | undefined {
    return key.startsWith('room:') ? this.index.rooms[key.slice('room:'.length)] : this.index.conversations[key];
  }

  private async entries(key: string, n: number): Promise<RoomEntry[]> {
    const name = bucketName(key, n);
    const cached = this.cache.get(name);
    if (cached) return cached;
    const bytes = await this.records.get(name);
    const entries: RoomEntry[] = bytes ? JSON.parse(decoder.decode(bytes)) : [];
    this.cache.set(name, entries);
    return entries;
  }

  private async locate(key: string, messageId: string): Promise<number | undefined> {
    const thread = this.thread(key);
    if (!thread) return undefined;
    // Newest first: receipts and escalation steps concern recent messages.
    for (let n = thread.buckets - 1; n >= 0; n--) {
      if ((await this.entries(key, n)).some((m) => m.messageId === messageId)) return n;
    }
    return undefined;
  }

  private async replace(
    key: string,
    messageId: string,
    change: (message: StoredMessage) => StoredMessage,
  ): Promise<StoredMessage | undefined> {
    const n = await this.locate(key, messageId);
    if (n === undefined) return undefined;
    let changed: StoredMessage | undefined;
    const entries = (await this.entries(key, n)).map((m) => {
      if (m.messageId !== messageId || isRoomChange(m)) return m;
      changed = change(m);
      return changed;
    });
    await this.saveBucket(key, n, entries);
    return changed;
  }

  private async saveBucket(key: string, n: number, entries: RoomEntry[]): Promise<void> {
    const name = bucketName(key, n);
    await this.records.put(name, encoder.encode(JSON.stringify(entries)));
    this.cache.set(name, entries);
    this.revision.value++;
  }

  private async saveIndex(): Promise<void> {
    await this.records.put(INDEX, encoder.encode(JSON.stringify(this.index)));
    this.publish();
  }

  private publish(): void {
    this.conversations.value = Object.values(this.index.conversations).sort((a, b) => b.lastAt - a.lastAt);
    this.rooms.value = Object.values(this.index.rooms).sort((a, b) => b.lastAt - a.lastAt);
    this.cases.value = Object.values(this.index.cases).sort((a, b) => b.lastAt - a.lastAt);
    this.revision.value++;
  }

  /** One change at a time, in order: each reads what the previous one wrote. */
  private write<T>(change: () => Promise<T>): Promise<T> {
    const next = this.writes.then(change);
    this.writes = next.catch(() => undefined);
    return next;
  }
}

function withoutDevice({ deviceName: _, ...party }: PartyName & { deviceName?: string }): PartyName {
  return party;
}
