// The practitioner's local record of conversations. The SDK keeps no history, so the app does:
// each message as the app showed it, in the key store's application records (sealed with the key
// store's key, docs/browser.md), by counterpart in buckets of BUCKET messages, with one index
// record that lists conversations and case references. Opening a conversation reads its newest
// bucket only; older ones are read as the reader scrolls back.
import type { Attachment, HandlingCode, UrgentState } from '@liaison/client';
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

export interface StoredMessage {
  messageId: string;
  /** The counterpart: the recipient of what this contact point sent, the sender of what it received. */
  peer: string;
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
  cases: Record<string, CaseSummary>;
  /** Recent sent messages and their counterpart: a receipt names the message, not the conversation. */
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
  readonly cases = signal<CaseSummary[]>([]);
  /** Bumped on every change, so that open views re-read what they show. */
  readonly revision = signal(0);
  private writes: Promise<unknown> = Promise.resolve();
  private readonly cache = new Map<string, StoredMessage[]>();

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

  /** Sent messages not stored by the relay when the page last ran. */
  async waiting(): Promise<StoredMessage[]> {
    const found: StoredMessage[] = [];
    for (const [messageId, peer] of Object.entries(this.index.waiting)) {
      const n = await this.locate(peer, messageId);
      const message = n === undefined ? undefined : (await this.bucket(peer, n)).find((m) => m.messageId === messageId);
      if (message?.state === 'waiting') found.push(message);
    }
    return found;
  }

  conversation(peer: string): Conversation | undefined {
    return this.index.conversations[peer];
  }

  /** Messages of bucket `n` of a conversation, oldest first. */
  async bucket(peer: string, n: number): Promise<StoredMessage[]> {
    const name = bucketName(peer, n);
    const cached = this.cache.get(name);
    if (cached) return cached;
    const bytes = await this.records.get(name);
    const messages: StoredMessage[] = bytes ? JSON.parse(decoder.decode(bytes)) : [];
    this.cache.set(name, messages);
    return messages;
  }

  /** Adds a message, or replaces the one with its id (a message redelivered after a reload is stored once). */
  add(message: StoredMessage, peer: PartyName, options: { unread?: boolean } = {}): Promise<void> {
    return this.write(async () => {
      // Bucket 0 is found too: the first BUCKET messages of a conversation are redelivered as well.
      if ((await this.locate(message.peer, message.messageId)) !== undefined) {
        // What this device did with it (an acknowledgement) is kept over the copy delivered again.
        await this.replace(message.peer, message.messageId, (old) => ({ ...old, ...message, ...keptLocally(old) }));
        return;
      }
      const conversation = this.index.conversations[message.peer] ?? {
        peer,
        lastAt: 0,
        unread: 0,
        urgentOpen: [],
        buckets: 1,
        count: 0,
      };
      conversation.peer = { ...conversation.peer, ...peer };
      let n = conversation.buckets - 1;
      let messages = await this.bucket(message.peer, n);
      if (messages.length >= BUCKET) {
        n = conversation.buckets++;
        messages = [];
      }
      messages = [...messages, message];
      await this.saveBucket(message.peer, n, messages);
      conversation.count++;
      conversation.lastAt = Math.max(conversation.lastAt, message.at);
      conversation.lastSubject = message.subject ?? message.text.slice(0, 80);
      if (options.unread) conversation.unread++;
      if (message.direction === 'out') {
        this.index.sent[message.messageId] = message.peer;
        const ids = Object.keys(this.index.sent);
        for (const old of ids.slice(0, Math.max(0, ids.length - SENT_KEPT))) delete this.index.sent[old];
        if (message.state === 'waiting') this.index.waiting[message.messageId] = message.peer;
      }
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
    return this.changeConversation(peer, (c) => ({ ...c, unread: 0 }));
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

  /** Every stored message whose reference, subject or text contains `query` (case-insensitive), newest first. */
  async search(query: string, filter: { reference?: string } = {}): Promise<StoredMessage[]> {
    const needle = query.trim().toLocaleLowerCase();
    const found: StoredMessage[] = [];
    for (const conversation of Object.values(this.index.conversations)) {
      if (filter.reference && !this.index.cases[filter.reference]?.peers.includes(conversation.peer.contactPointId))
        continue;
      for (let n = 0; n < conversation.buckets; n++) {
        for (const message of await this.bucket(conversation.peer.contactPointId, n)) {
          if (filter.reference && message.reference !== filter.reference) continue;
          const haystack = `${message.reference ?? ''}\n${message.subject ?? ''}\n${message.text}`.toLocaleLowerCase();
          if (!needle || haystack.includes(needle)) found.push(message);
        }
      }
    }
    return found.sort((a, b) => b.at - a.at);
  }

  private async changeConversation(peer: string, change: (c: Conversation) => Conversation): Promise<void> {
    await this.write(async () => {
      const conversation = this.index.conversations[peer];
      if (!conversation) return;
      this.index.conversations[peer] = change(conversation);
      await this.saveIndex();
    });
  }

  private async locate(peer: string, messageId: string): Promise<number | undefined> {
    const conversation = this.index.conversations[peer];
    if (!conversation) return undefined;
    // Newest first: receipts and escalation steps concern recent messages.
    for (let n = conversation.buckets - 1; n >= 0; n--) {
      if ((await this.bucket(peer, n)).some((m) => m.messageId === messageId)) return n;
    }
    return undefined;
  }

  private async replace(
    peer: string,
    messageId: string,
    change: (message: StoredMessage) => StoredMessage,
  ): Promise<StoredMessage | undefined> {
    const n = await this.locate(peer, messageId);
    if (n === undefined) return undefined;
    let changed: StoredMessage | undefined;
    const messages = (await this.bucket(peer, n)).map((m) => {
      if (m.messageId !== messageId) return m;
      changed = change(m);
      return changed;
    });
    await this.saveBucket(peer, n, messages);
    return changed;
  }

  private async saveBucket(peer: string, n: number, messages: StoredMessage[]): Promise<void> {
    const name = bucketName(peer, n);
    await this.records.put(name, encoder.encode(JSON.stringify(messages)));
    this.cache.set(name, messages);
    this.revision.value++;
  }

  private async saveIndex(): Promise<void> {
    await this.records.put(INDEX, encoder.encode(JSON.stringify(this.index)));
    this.publish();
  }

  private publish(): void {
    this.conversations.value = Object.values(this.index.conversations).sort((a, b) => b.lastAt - a.lastAt);
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
