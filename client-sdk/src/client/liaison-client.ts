import {
  type Attachment,
  type Availability,
  type CertificateChain,
  type ClientToServerEvents,
  type DeviceCertificate,
  type DirectoryEntry,
  type DirectoryQuery,
  decodeBase64url,
  type Envelope,
  encodeBase64url,
  type HandlingCode,
  LIMITS,
  MessageContent,
  type Receipt,
  type Revocation,
  type SendRequest,
  type TrustedRoot,
  type UrgentIntent,
  UrgentState,
  type VerifiedContactPoint,
} from '@liaison/protocol';
import {
  type AttachmentSink,
  type AttachmentSource,
  type DownloadOptions,
  downloadAttachment,
  type PendingUpload,
  type TransferOptions,
  uploadAttachment,
} from '../attachments/transfer.js';
import { bundleFromWire } from '../crypto/bundle.js';
import {
  currentSignedPrekey,
  DEFAULT_PREKEY_POLICY,
  type PrekeyPolicy,
  refillOneTimePrekeys,
  rotateSignedPrekey,
} from '../crypto/prekeys.js';
import { formatSafetyNumber, safetyNumber } from '../crypto/safety-number.js';
import { SessionCipher, type SessionPeer } from '../crypto/session-cipher.js';
import { ready } from '../crypto/sodium.js';
import { isLiaisonError, isRetryable, LiaisonError } from '../errors.js';
import type { KeyStore } from '../key-store/key-store.js';
import {
  acceptPeerIdentity,
  checkDeviceOwner,
  checkPeerIdentity,
  markPeerVerified,
  type PeerIdentityStatus,
} from '../trust/identities.js';
import { type TrustAnchors, verifiedContactPoint, verifiedDevice, verifiedEscalationChain } from '../trust/verify.js';
import { AckQueue } from './ack-queue.js';
import { Emitter } from './emitter.js';
import { Inbox } from './inbox.js';
import { RelayApi } from './relay-api.js';
import { RelayClock } from './relay-clock.js';
import { type ConnectionEvent, RelayConnection } from './relay-connection.js';

export interface LiaisonClientOptions {
  serverUrl: string;
  /** Where the device's keys, sessions and small state live (FileKeyStore in Node, or the host's own). */
  keyStore: KeyStore;
  /** The network roots this client trusts; every chain must end at one of them. */
  trustedRoots: TrustedRoot[];
  /** Revocations the host application knows of, beyond what the relay enforces. */
  revocations?: Revocation[];
  /** This device's certificate chain: authority, designation, device (signed by the account key). */
  chain: CertificateChain;
  /** The relay's public origin, which authentication challenges must name; by default the origin of serverUrl. */
  relayOrigin?: string;
  prekeyPolicy?: PrekeyPolicy;
  now?: () => number;
}

/** What a person is shown about who sent a message: all of it from verified certificates. */
export interface VerifiedSender {
  contactPointId: string;
  displayName: string;
  role: string;
  authorityId: string;
  authorityName: string;
  country: string;
  networkId: string;
  networkName: string;
  deviceId: string;
  deviceName: string;
  /** `changed`: the account key differs from the one recorded; compare safety numbers. */
  identity: PeerIdentityStatus | 'changed';
}

export interface OutgoingMessage {
  text: string;
  subject?: string;
  reference?: string;
  language?: string;
  handling?: HandlingCode[];
}

/**
 * A received message. Everything at the top level is the sender's, from inside the end-to-end
 * encryption (or from certificates, for `sender`); the relay could not have changed it. What only
 * the relay says is under `relay`.
 */
export interface ReceivedMessage extends OutgoingMessage {
  messageId: string;
  /** `outgoing`: a copy of what another device of this contact point sent. */
  direction: 'incoming' | 'outgoing';
  to: string;
  sender: VerifiedSender;
  priority: 'normal' | 'urgent';
  /** The sender's clock when it sent the message. */
  sentAt: number;
  /** Urgent only: 0 when addressed to this contact point, k when it reached it by escalation to level k. */
  escalationLevel: number;
  /** Urgent only: what the sender chose: the time each level has to acknowledge, and the escalation chain. */
  urgent?: { acknowledgeWithinMs: number; escalation: string[] };
  /**
   * Files sent with the message; fetch each with `download`. Each carries the key that opens it:
   * keep it as carefully as the message text.
   */
  attachments?: Attachment[];
  /**
   * The relay's word, which the sender did not seal: when the relay stored the message and, for
   * an urgent message, when a person at this device's level must acknowledge it (see `acknowledge`).
   */
  relay: { serverTime: number; deadline?: number };
}

export interface SendOptions extends TransferOptions {
  /**
   * Made here when not given. A send that failed (even in a process since restarted, with the same
   * key store) can be repeated with the same id and attachments: uploads resume where they stopped.
   */
  messageId?: string;
  urgent?: UrgentOptions;
  /** Files to encrypt and upload before the message is sent (any size: memory stays flat). */
  attachments?: AttachmentSource[];
}

/**
 * An urgent message: each level (the recipient, then its escalation chain) has this long for a
 * person to acknowledge before the relay releases the next; or give the recipient's deadline.
 */
export type UrgentOptions = { acknowledgeWithin?: number } | { deadline: number };

/** Time to acknowledge each level when the sender gives none: shorter for a 24/7 point of contact. */
export const DEFAULT_ACKNOWLEDGE_WITHIN_MS = { urgent: 30 * 60_000, roundTheClock: 10 * 60_000 } as const;

export type { ConnectionEvent, ConnectionState } from './relay-connection.js';

export interface VerifiedEntry {
  contactPoint: VerifiedContactPoint;
  devices: DeviceCertificate[];
  availability: Availability;
}

type Events = {
  message: (message: ReceivedMessage) => unknown;
  receipt: (receipt: Receipt) => unknown;
  /** An urgent message this contact point sent or holds changed: escalated, acknowledged or unacknowledged. */
  urgent: (state: UrgentState) => unknown;
  identityChanged: (change: { contactPointId: string }) => unknown;
  connection: (state: ConnectionEvent) => unknown;
  /** Something arrived that could not be shown (bad signature, undecryptable, malformed). */
  error: (error: LiaisonError) => unknown;
};

interface Target {
  peer: SessionPeer;
  bundle?: Parameters<typeof bundleFromWire>[0];
}

const SEND_ATTEMPTS = 5;
const ACK_TIMEOUT_MS = 10_000;

/**
 * The SDK an agency tool embeds: it never hands out a key. It registers the device, keeps its
 * prekeys topped up, verifies every certificate chain itself, encrypts per device, and delivers
 * each received message to the application once, acknowledging it to the relay only after the
 * application has it and the session state is saved.
 */
export class LiaisonClient extends Emitter<Events> {
  private readonly cipher: SessionCipher;
  private readonly inbox: Inbox;
  private readonly anchors: TrustAnchors;
  private readonly now: () => number;
  private connection: RelayConnection | undefined;
  private readonly clock: RelayClock;
  private readonly acks: AckQueue;
  private incoming: Promise<void> = Promise.resolve();
  /** Verified device lists, per contact point, as last fetched. */
  private readonly deviceLists = new Map<string, string[]>();
  /** Verified designations, per contact point, as last fetched with its bundles. */
  private readonly designations = new Map<string, VerifiedContactPoint>();
  /** The latest state of each urgent message seen since connecting. */
  private readonly urgentStates = new Map<string, UrgentState>();
  private readonly peers = new Map<
    string,
    { verified: VerifiedContactPoint; devices: Map<string, DeviceCertificate> }
  >();
  private readonly seenReceipts = new Set<string>();

  private constructor(
    private readonly options: LiaisonClientOptions,
    readonly self: VerifiedContactPoint & { device: DeviceCertificate },
    private readonly api: RelayApi,
    clock: RelayClock,
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.clock = clock;
    this.acks = new AckQueue(
      (messageIds) => this.call('envelopes:ack', { messageIds }),
      (error) => this.report(error),
    );
    this.anchors = { trustedRoots: options.trustedRoots, revocations: options.revocations ?? [] };
    this.cipher = new SessionCipher(options.keyStore, {
      contactPointId: self.contactPoint.contactPointId,
      accountKey: decodeBase64url(self.contactPoint.accountKey) as Uint8Array,
    });
    this.inbox = new Inbox(options.keyStore, this.now);
  }

  /** Checks this device's own chain and key before anything is sent anywhere. */
  static async create(options: LiaisonClientOptions): Promise<LiaisonClient> {
    await ready();
    const identity = await options.keyStore.getIdentity();
    if (!identity) throw new LiaisonError('NO_IDENTITY', 'the key store has no device identity key');
    if (encodeBase64url(identity.publicKey) !== options.chain.device.deviceId) {
      throw new LiaisonError('UNTRUSTED_IDENTITY', "the device certificate is not for this key store's identity key");
    }
    const now = options.now ?? Date.now;
    const self = verifiedDevice(
      options.chain,
      { trustedRoots: options.trustedRoots, revocations: options.revocations ?? [] },
      now(),
    );
    const origin = options.relayOrigin ?? new URL(options.serverUrl).origin;
    const clock = new RelayClock(now);
    return new LiaisonClient(
      options,
      self,
      new RelayApi(options.serverUrl, identity, self.device.deviceId, origin, clock, now),
      clock,
    );
  }

  get contactPointId(): string {
    return this.self.contactPoint.contactPointId;
  }

  get deviceId(): string {
    return this.self.device.deviceId;
  }

  /**
   * The relay's clock, as this device estimates it from the relay's answers. Read relay times
   * against it: the time left until `message.relay.deadline` is `deadline - client.relayNow()`,
   * right even when this device's own clock is minutes off.
   */
  relayNow(): number {
    return this.clock.now();
  }

  /**
   * Registers the device on first use, tops up prekeys, connects, and catches up on receipts.
   * Resolves on the first connection; rejects on a refusal that retrying cannot fix (revoked,
   * expired...). Afterwards the client reconnects by itself, with backoff and jitter, until `close`.
   */
  async connect(): Promise<void> {
    await this.ensureRegistered();
    await this.prekeyUpkeep();
    await this.inbox.prune();
    const connection = new RelayConnection(
      this.options.serverUrl,
      () => this.api.proof('socket'),
      (event) => void this.emit('connection', event),
    );
    this.connection = connection;
    const socket = connection.socket;
    socket.on('envelope', (envelope) => {
      this.incoming = this.incoming.then(() => this.receive(envelope)).catch((error) => this.report(error));
    });
    socket.on('receipt', (receipt) => void this.receipt(receipt));
    socket.on('urgent', (state) => void this.urgentUpdate(state));
    socket.on('prekeys:low', () => void this.prekeyUpkeep().catch((error) => this.report(error)));
    socket.on('connect', () => {
      void this.catchUpReceipts().catch((error) => this.report(error));
      void this.refreshUrgent().catch((error) => this.report(error));
    });
    // Acknowledgements not yet accepted are for this connection only: after a reconnection the
    // relay offers those envelopes again, and the inbox recognises them.
    socket.on('disconnect', () => this.acks.clear());
    await connection.open();
  }

  /** Disconnects, after the message being handled (if any) is finished. */
  async close(): Promise<void> {
    this.connection?.close();
    this.acks.clear();
    await this.incoming;
    void this.emit('connection', { state: 'closed' });
  }

  /**
   * Sends an end-to-end encrypted message to a contact point: verifies its chain and identity,
   * encrypts for each of its devices and this contact point's other devices, and retries with the
   * same message id until the relay has stored it. Resolves once it is stored.
   *
   * Urgent: also encrypts, up front, for every device of each member of the recipient's escalation
   * chain (verified as the recipient's authority signed it); the relay holds those copies and
   * releases one level each time the previous level's time to acknowledge runs out.
   */
  async send(
    contactPointId: string,
    message: OutgoingMessage,
    options: SendOptions = {},
  ): Promise<{ messageId: string; serverTime: number }> {
    const messageId = options.messageId ?? crypto.randomUUID();
    const sentAt = this.now();
    const sources = options.attachments ?? [];
    if (sources.length > LIMITS.maxAttachmentsPerMessage)
      throw new LiaisonError('INVALID_INPUT', `at most ${LIMITS.maxAttachmentsPerMessage} attachments per message`);
    let levels = await this.levels(contactPointId, options.urgent !== undefined);
    // What the sender chose for an urgent message is sealed in every copy, with the copy's level.
    const urgent: Omit<UrgentIntent, 'level'> | undefined = options.urgent && {
      acknowledgeWithinMs: this.acknowledgeWithin(options.urgent, levels.head),
      escalation: levels.head.contactPoint.escalationChain,
    };
    const content = (attachments: Attachment[], level: number) => {
      const parsed = MessageContent.safeParse({
        version: 2,
        messageId,
        to: contactPointId,
        priority: urgent ? 'urgent' : 'normal',
        ...(urgent && { urgent: { ...urgent, level } }),
        sentAt,
        ...message,
        ...(attachments.length > 0 && { attachments }),
      });
      if (!parsed.success)
        throw new LiaisonError('INVALID_INPUT', parsed.error.issues[0]?.message ?? 'invalid message');
      const bytes = new TextEncoder().encode(JSON.stringify(parsed.data));
      if (bytes.length > LIMITS.maxCiphertextBytes - 1024)
        throw new LiaisonError('PAYLOAD_TOO_LARGE', 'the message is too long; send documents as attachments');
      return bytes;
    };
    content([], 0);
    // The blobs are readable by exactly the devices the message is encrypted for.
    const attachments: Attachment[] = [];
    const store = this.options.keyStore;
    const pendingKeys = sources.map((_, i) => `upload:${messageId}:${i}`);
    for (const [i, source] of sources.entries()) {
      const saved = await store.getState(pendingKeys[i] as string);
      attachments.push(
        await uploadAttachment(
          this.api,
          source,
          { messageId, readers: this.readers(levels) },
          {
            ...options,
            ...(saved && { pending: JSON.parse(saved) as PendingUpload }),
            onStart: (pending) => store.setState(pendingKeys[i] as string, JSON.stringify(pending)),
          },
        ),
      );
    }
    for (let attempt = 1; ; attempt++) {
      const request: SendRequest = {
        messageId,
        recipient: contactPointId,
        priority: urgent ? 'urgent' : 'normal',
        createdAt: sentAt,
        ...(urgent && { acknowledgeWithinMs: urgent.acknowledgeWithinMs }),
        envelopes: await this.encryptForLevels(levels.targets, (level) => content(attachments, level)),
      };
      try {
        const result = await this.emitUntilStored(request);
        for (const key of pendingKeys) await store.setState(key, undefined);
        return { messageId, serverTime: result.serverTime };
      } catch (error) {
        if (!isLiaisonError(error, 'DEVICE_MISMATCH') || attempt >= 3) throw error;
        // The device lists changed: forget them and encrypt again for the current devices.
        for (const id of [contactPointId, this.contactPointId, ...levels.head.contactPoint.escalationChain]) {
          this.deviceLists.delete(id);
        }
        levels = await this.levels(contactPointId, options.urgent !== undefined);
        for (const { blobId } of attachments) await this.api.setBlobReaders(blobId, this.readers(levels));
      }
    }
  }

  /**
   * Fetches, decrypts and checks an attachment of a received message, handing the plaintext to
   * `sink` chunk by chunk (memory stays flat). Resolves once the whole file decrypted and its
   * SHA-256 matched; if it rejects, discard what `sink` got, or keep its whole chunks and pass
   * them as `kept` to resume. Node: `downloadToFile` from `@liaison/client/node` does both, and
   * puts the file in place only once verified.
   */
  download(attachment: Attachment, sink: AttachmentSink, options: DownloadOptions = {}): Promise<void> {
    return downloadAttachment(this.api, attachment, sink, options);
  }

  /** The relay's view of an urgent message this contact point sent or received: levels, deadlines, who acknowledged. */
  async urgentState(messageId: string): Promise<UrgentState> {
    const state = await this.api.urgent(messageId);
    if (state.messageId !== messageId)
      throw new LiaisonError('INVALID_MESSAGE', 'the relay answered for another message');
    this.urgentStates.set(messageId, state);
    return state;
  }

  /** A person confirmed they have the message (stops an escalation; tells the sender). */
  async acknowledge(messageId: string): Promise<{ at: number }> {
    const result = await this.call('acknowledge', { messageId });
    return result;
  }

  readonly directory = {
    /** Directory entries whose chains verify here; the others are dropped and listed in `rejected`. */
    search: async (query: DirectoryQuery = {}) => {
      const page = await this.api.directory(query);
      const entries: VerifiedEntry[] = [];
      const rejected: { contactPointId: string; code: string; message: string }[] = [];
      for (const entry of page.entries) {
        try {
          entries.push(this.verifyEntry(entry));
        } catch (error) {
          if (!isLiaisonError(error)) throw error;
          rejected.push({
            contactPointId: entry.contactPoint.contactPointId,
            code: error.code,
            message: error.message,
          });
        }
      }
      return { entries, rejected, ...(page.nextCursor && { nextCursor: page.nextCursor }) };
    },
    setAvailability: (availability: Availability) => this.api.setAvailability(availability),
  };

  /** The 60-digit safety number with a contact point, in groups of five, to compare in person or by phone. */
  async safetyNumber(contactPointId: string): Promise<string> {
    const peer = await this.peerAccountKey(contactPointId);
    return formatSafetyNumber(
      safetyNumber(
        {
          contactPointId: this.contactPointId,
          accountKey: decodeBase64url(this.self.contactPoint.accountKey) as Uint8Array,
        },
        { contactPointId, accountKey: peer },
      ),
    );
  }

  /** The user compared safety numbers and confirms this contact point's key. */
  async verify(contactPointId: string): Promise<void> {
    await markPeerVerified(
      this.options.keyStore,
      contactPointId,
      await this.peerAccountKey(contactPointId),
      this.now(),
    );
  }

  /** The user accepts a changed key of a contact point (after comparing safety numbers): sending is allowed again. */
  async acceptIdentity(contactPointId: string): Promise<void> {
    const entry = await this.api.contactPoint(contactPointId);
    const verified = this.verifyEntry(entry);
    await acceptPeerIdentity(
      this.options.keyStore,
      contactPointId,
      decodeBase64url(verified.contactPoint.contactPoint.accountKey) as Uint8Array,
      this.now(),
    );
    this.deviceLists.delete(contactPointId);
  }

  // ---- sending -------------------------------------------------------------------------------

  /**
   * Who gets a copy, by level: level 0 is the recipient and this contact point's other devices;
   * for an urgent message, level k is the k-th member of the recipient's escalation chain
   * (nobody when the member is this contact point or unknown to the directory).
   */
  private async levels(
    contactPointId: string,
    urgent: boolean,
  ): Promise<{ head: VerifiedContactPoint; targets: Target[][] }> {
    const level0 = [...(await this.targets(contactPointId))];
    if (contactPointId !== this.contactPointId) level0.push(...(await this.targets(this.contactPointId)));
    const head = this.designations.get(contactPointId) as VerifiedContactPoint;
    if (!urgent) return { head, targets: [level0] };
    const members: (Target[] | undefined)[] = [];
    for (const member of head.contactPoint.escalationChain) {
      if (member === this.contactPointId) members.push(undefined);
      else members.push(await this.targets(member).catch(unknownAs(undefined)));
    }
    verifiedEscalationChain(
      head,
      members.map((m, i) => (m ? this.designations.get(head.contactPoint.escalationChain[i] as string) : undefined)),
      this.anchors,
      this.clock.now(),
    );
    return { head, targets: [level0, ...members.map((m) => m ?? [])] };
  }

  /** Every device a message to these levels is encrypted for. */
  private readers(levels: { targets: Target[][] }): string[] {
    return [...new Set(levels.targets.flat().map((t) => t.peer.deviceId))].filter((d) => d !== this.deviceId);
  }

  private acknowledgeWithin(urgent: UrgentOptions, head: VerifiedContactPoint): number {
    // A deadline the application gives is a time on the relay's clock, which runs the escalation.
    if ('deadline' in urgent) return urgent.deadline - this.clock.now();
    if (urgent.acknowledgeWithin !== undefined) return urgent.acknowledgeWithin;
    return head.contactPoint.competences.includes('cybercrime-24-7')
      ? DEFAULT_ACKNOWLEDGE_WITHIN_MS.roundTheClock
      : DEFAULT_ACKNOWLEDGE_WITHIN_MS.urgent;
  }

  private async encryptForLevels(
    levels: Target[][],
    plaintext: (level: number) => Uint8Array,
  ): Promise<SendRequest['envelopes']> {
    const envelopes: SendRequest['envelopes'] = [];
    for (const [level, targets] of levels.entries()) {
      const sealed = plaintext(level);
      for (const target of targets) {
        if (target.peer.deviceId === this.deviceId) continue;
        const encrypted = await this.cipher.encrypt(
          target.peer,
          sealed,
          target.bundle && bundleFromWire(target.bundle),
        );
        envelopes.push({
          recipientDevice: target.peer.deviceId,
          kind: encrypted.kind,
          ciphertext: encodeBase64url(encrypted.body),
          escalationLevel: level,
        });
      }
    }
    return envelopes;
  }

  /** The devices of a contact point, verified; with prekey bundles for those without a session. */
  private async targets(contactPointId: string): Promise<Target[]> {
    const known = this.deviceLists.get(contactPointId);
    const designation = this.designations.get(contactPointId);
    if (known && designation) {
      const peers = known.map((deviceId) => sessionPeer(designation, deviceId));
      const sessions = await Promise.all(
        peers.map((peer) => (peer.deviceId === this.deviceId ? true : this.cipher.hasSession(peer))),
      );
      if (sessions.every(Boolean)) return peers.map((peer) => ({ peer }));
    }
    const response = await this.api.bundles(contactPointId);
    if (response.contactPoint.contactPointId !== contactPointId) {
      throw new LiaisonError(
        'CHAIN_MISMATCH',
        `the relay answered for "${response.contactPoint.contactPointId}" instead of "${contactPointId}"`,
      );
    }
    const verified = this.verifyEntry({
      ...response,
      devices: response.bundles.map((b) => b.device),
      availability: { status: 'available' },
    });
    await this.checkIdentity(verified.contactPoint);
    const ids = response.bundles.map((b) => b.device.deviceId);
    for (const id of ids) await checkDeviceOwner(this.options.keyStore, id, contactPointId);
    this.deviceLists.set(contactPointId, ids);
    this.designations.set(contactPointId, verified.contactPoint);
    return response.bundles.map((bundle) => ({
      peer: sessionPeer(verified.contactPoint, bundle.device.deviceId),
      bundle,
    }));
  }

  /** Emits a send until the relay has stored it: the same request (same message id) each time. */
  private async emitUntilStored(request: SendRequest): Promise<{ serverTime: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const sentAt = this.now();
        const stored = await this.call('send', request);
        this.clock.sample(stored.serverTime, sentAt, this.now());
        return stored;
      } catch (error) {
        if (!isRetryable(error) || attempt >= SEND_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
      }
    }
  }

  private async call<E extends 'send' | 'acknowledge' | 'envelopes:ack'>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<Extract<Parameters<Parameters<ClientToServerEvents[E]>[1]>[0], { ok: true }>['value']> {
    const socket = this.connection?.socket;
    if (!socket) throw new LiaisonError('UNAVAILABLE', 'not connected: call connect() first');
    // Not buffered while disconnected: the caller retries, and close() does not wait for timeouts.
    if (!socket.connected) throw new LiaisonError('UNAVAILABLE', 'not connected to the relay at the moment');
    let result: { ok: boolean; value?: unknown; error?: string; message?: string; details?: unknown };
    try {
      result = await (
        socket.timeout(ACK_TIMEOUT_MS).emitWithAck as unknown as (e: string, p: unknown) => Promise<typeof result>
      )(event, payload);
    } catch {
      throw new LiaisonError('UNAVAILABLE', 'the relay did not answer in time');
    }
    if (!result?.ok) {
      throw new LiaisonError(
        (result?.error ?? 'INTERNAL') as LiaisonError['code'],
        result?.message ?? 'refused',
        result?.details as never,
      );
    }
    return result.value as never;
  }

  // ---- receiving -----------------------------------------------------------------------------

  private async receive(envelope: Envelope): Promise<void> {
    if (await this.inbox.delivered(envelope)) return this.ackEnvelope(envelope.messageId);
    let sender: { shown: VerifiedSender; peer: SessionPeer };
    try {
      sender = await this.sender(envelope);
    } catch (error) {
      // A chain not valid yet by the relay's clock may become valid (the issuer's clock ran ahead):
      // keep the envelope unacknowledged, and the relay offers it again later.
      if (isLiaisonError(error, 'NOT_YET_VALID')) return this.report(error);
      // A chain that does not verify never will: report it and let the relay drop the envelope.
      if (isLiaisonError(error) && error.code !== 'UNAVAILABLE') {
        await this.report(error);
        return this.ackEnvelope(envelope.messageId);
      }
      throw error;
    }
    const kept = await this.inbox.pending(envelope);
    let plaintext: Uint8Array;
    if (kept && kept.senderContactPoint === sender.peer.contactPointId) {
      plaintext = kept.plaintext;
    } else {
      try {
        plaintext = await this.cipher.decrypt(sender.peer, decodeBase64url(envelope.ciphertext) as Uint8Array, (p) =>
          this.inbox.keepPending(envelope, { plaintext: p, senderContactPoint: sender.peer.contactPointId }),
        );
      } catch (error) {
        if (!isLiaisonError(error)) throw error;
        if (error.code !== 'DUPLICATE_MESSAGE') await this.report(error);
        return this.ackEnvelope(envelope.messageId);
      }
    }
    const content = parseContent(plaintext);
    const refusal = content
      ? contradiction(envelope, content)
      : new LiaisonError('INVALID_MESSAGE', `message ${envelope.messageId} has no readable content`);
    if (refusal || !content) {
      await this.report(refusal);
      await this.inbox.markDelivered(envelope);
      return this.ackEnvelope(envelope.messageId);
    }
    const { version: _, to, sentAt, urgent, ...fields } = content;
    await this.emit('message', {
      ...fields,
      direction: sender.shown.contactPointId === this.contactPointId ? 'outgoing' : 'incoming',
      to,
      sender: sender.shown,
      sentAt,
      escalationLevel: urgent?.level ?? 0,
      ...(urgent && { urgent: { acknowledgeWithinMs: urgent.acknowledgeWithinMs, escalation: urgent.escalation } }),
      relay: {
        serverTime: envelope.serverTime,
        ...(envelope.deadline !== undefined && { deadline: envelope.deadline }),
      },
    });
    await this.inbox.markDelivered(envelope);
    await this.ackEnvelope(envelope.messageId);
  }

  /** Queued, batched and retried until the relay accepts it or the connection ends. */
  private ackEnvelope(messageId: string): void {
    this.acks.add(messageId);
  }

  /** Who sent an envelope, from certificates this client verified itself; the relay's claim alone counts for nothing. */
  private async sender(envelope: Envelope): Promise<{ shown: VerifiedSender; peer: SessionPeer }> {
    let peer = this.peers.get(envelope.senderContactPoint);
    if (!peer?.devices.has(envelope.senderDevice)) {
      const entry = await this.api.contactPoint(envelope.senderContactPoint);
      if (entry.contactPoint.contactPointId !== envelope.senderContactPoint) {
        throw new LiaisonError('CHAIN_MISMATCH', 'the relay answered for another contact point');
      }
      const verified = this.verifyEntry(entry);
      peer = { verified: verified.contactPoint, devices: new Map(verified.devices.map((d) => [d.deviceId, d])) };
      this.peers.set(envelope.senderContactPoint, peer);
    }
    const device = peer.devices.get(envelope.senderDevice);
    if (!device)
      throw new LiaisonError(
        'UNTRUSTED_IDENTITY',
        `device ${envelope.senderDevice} is not certified for ${envelope.senderContactPoint}`,
      );
    await checkDeviceOwner(this.options.keyStore, device.deviceId, envelope.senderContactPoint);
    const { verified } = peer;
    let identity: VerifiedSender['identity'];
    try {
      identity =
        verified.contactPoint.contactPointId === this.contactPointId ? 'verified' : await this.checkIdentity(verified);
    } catch (error) {
      if (!isLiaisonError(error, 'UNTRUSTED_IDENTITY')) throw error;
      identity = 'changed';
    }
    return {
      shown: {
        contactPointId: verified.contactPoint.contactPointId,
        displayName: verified.contactPoint.displayName,
        role: verified.contactPoint.role,
        authorityId: verified.authority.authorityId,
        authorityName: verified.authority.name,
        country: verified.authority.country,
        networkId: verified.networkId,
        networkName: verified.networkName,
        deviceId: device.deviceId,
        deviceName: device.deviceName,
        identity,
      },
      peer: sessionPeer(verified, device.deviceId),
    };
  }

  private async receipt(receipt: Receipt): Promise<void> {
    const key = `${receipt.messageId}:${receipt.status}:${receipt.deviceId ?? ''}:${receipt.at}`;
    if (this.seenReceipts.has(key)) return;
    this.seenReceipts.add(key);
    await this.emit('receipt', receipt);
  }

  /** A state the relay pushed; malformed ones are reported, not shown. It is the relay's word, as metadata always is. */
  private async urgentUpdate(state: unknown): Promise<void> {
    const parsed = UrgentState.safeParse(state);
    if (!parsed.success)
      return this.report(new LiaisonError('INVALID_MESSAGE', 'the relay sent a malformed urgent state'));
    const known = this.urgentStates.get(parsed.data.messageId);
    // Older than what is known (pushes and fetches can cross), or nothing new: not shown again.
    if (known && (known.updatedAt > parsed.data.updatedAt || JSON.stringify(known) === JSON.stringify(parsed.data)))
      return;
    this.urgentStates.set(parsed.data.messageId, parsed.data);
    await this.emit('urgent', parsed.data);
  }

  /** After a reconnection: the urgent messages still escalating may have moved while this device was away. */
  private async refreshUrgent(): Promise<void> {
    for (const [messageId, known] of this.urgentStates) {
      if (known.status !== 'escalating') continue;
      const state = await this.api.urgent(messageId);
      if (state.messageId === messageId) await this.urgentUpdate(state);
    }
  }

  private async catchUpReceipts(): Promise<void> {
    let cursor = Number((await this.options.keyStore.getState('receipts:cursor')) ?? 0);
    for (;;) {
      const page = await this.api.receipts(cursor);
      for (const receipt of page.receipts) await this.receipt(receipt);
      if (page.cursor === cursor || page.receipts.length === 0) break;
      cursor = page.cursor;
      await this.options.keyStore.setState('receipts:cursor', String(cursor));
    }
  }

  // ---- trust ---------------------------------------------------------------------------------

  /** A directory entry whose designation and every device verify here, or a LiaisonError. */
  private verifyEntry(entry: DirectoryEntry): VerifiedEntry {
    // Validity windows are read against the relay's clock: this device's own may be minutes off.
    const now = this.clock.now();
    const contactPoint = verifiedContactPoint(entry, this.anchors, now);
    for (const device of entry.devices) verifiedDevice({ ...entry, device }, this.anchors, now);
    return { contactPoint, devices: entry.devices, availability: entry.availability };
  }

  /** Refuses a changed account key (and tells the application) until the user accepts it. */
  private async checkIdentity(verified: VerifiedContactPoint): Promise<PeerIdentityStatus> {
    const contactPointId = verified.contactPoint.contactPointId;
    if (contactPointId === this.contactPointId) return 'verified';
    try {
      return await checkPeerIdentity(
        this.options.keyStore,
        contactPointId,
        decodeBase64url(verified.contactPoint.accountKey) as Uint8Array,
        this.now(),
      );
    } catch (error) {
      if (isLiaisonError(error, 'UNTRUSTED_IDENTITY')) await this.emit('identityChanged', { contactPointId });
      throw error;
    }
  }

  private async peerAccountKey(contactPointId: string): Promise<Uint8Array> {
    const known = await this.options.keyStore.getPeerIdentity(contactPointId);
    if (known) return known.accountKey;
    const verified = this.verifyEntry(await this.api.contactPoint(contactPointId));
    await this.checkIdentity(verified.contactPoint);
    return decodeBase64url(verified.contactPoint.contactPoint.accountKey) as Uint8Array;
  }

  // ---- device upkeep -------------------------------------------------------------------------

  private async ensureRegistered(): Promise<void> {
    if ((await this.options.keyStore.getState('registered')) === this.deviceId) return;
    await rotateSignedPrekey(this.options.keyStore, this.now(), this.prekeyPolicy);
    const oneTime = await refillOneTimePrekeys(this.options.keyStore, 0, this.prekeyPolicy);
    await this.api.register(this.options.chain, await currentSignedPrekey(this.options.keyStore), oneTime);
    await this.options.keyStore.setState('registered', this.deviceId);
  }

  private async prekeyUpkeep(): Promise<void> {
    const signedPrekey = await rotateSignedPrekey(this.options.keyStore, this.now(), this.prekeyPolicy);
    const count = await this.api.prekeyCount();
    const oneTimePrekeys = await refillOneTimePrekeys(this.options.keyStore, count.oneTimePrekeys, this.prekeyPolicy);
    if (signedPrekey || oneTimePrekeys.length > 0) {
      await this.api.uploadPrekeys({ ...(signedPrekey && { signedPrekey }), oneTimePrekeys });
    }
  }

  private get prekeyPolicy(): PrekeyPolicy {
    return this.options.prekeyPolicy ?? DEFAULT_PREKEY_POLICY;
  }

  private async report(error: unknown): Promise<void> {
    const liaisonError = isLiaisonError(error)
      ? error
      : new LiaisonError('INTERNAL', (error as Error)?.message ?? 'unexpected error');
    if (this.hasListeners('error')) await this.emit('error', liaisonError);
  }
}

/** Turns a NOT_FOUND refusal into `fallback`; any other error stands. */
function unknownAs<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    if (isLiaisonError(error, 'NOT_FOUND')) return fallback;
    throw error;
  };
}

/** A device of a verified contact point, as a session is bound to it. */
function sessionPeer(verified: VerifiedContactPoint, deviceId: string): SessionPeer {
  return {
    deviceId,
    contactPointId: verified.contactPoint.contactPointId,
    accountKey: decodeBase64url(verified.contactPoint.accountKey) as Uint8Array,
  };
}

/**
 * Where the relay's envelope says something else than the sender sealed inside it: the message
 * id, the priority, the escalation level. Such an envelope is refused, not shown.
 */
function contradiction(envelope: Envelope, content: MessageContent): LiaisonError | undefined {
  const sealedLevel = content.urgent?.level ?? 0;
  const differs =
    envelope.messageId !== content.messageId
      ? 'message id'
      : envelope.priority !== content.priority
        ? 'priority'
        : envelope.escalationLevel !== sealedLevel
          ? 'escalation level'
          : envelope.deadline !== undefined && content.priority !== 'urgent'
            ? 'deadline of a message that is not urgent'
            : undefined;
  return differs
    ? new LiaisonError(
        'ENVELOPE_MISMATCH',
        `the relay's envelope ${envelope.messageId} contradicts the sender's ${differs}`,
      )
    : undefined;
}

function parseContent(plaintext: Uint8Array): MessageContent | undefined {
  try {
    const parsed = MessageContent.safeParse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
