import {
  type Attachment,
  type Availability,
  type CertificateChain,
  type ClientToServerEvents,
  type DeviceCertificate,
  type DirectoryQuery,
  type EvidenceReceipt,
  encodeBase64url,
  encodeRecordHead,
  type Receipt,
  type Revocation,
  type TrustedRoot,
  type UrgentState,
  type VerifiedContactPoint,
} from '@liaison/protocol';
import { type AttachmentSink, type DownloadOptions, downloadAttachment } from '../attachments/transfer.js';
import type { TransferHashFactory } from '../attachments/transfer-hash.js';
import { BoundedMap } from '../bounded-map.js';
import { hybridDevices } from '../crypto/bundle.js';
import { type IdentityKeyPair, sign } from '../crypto/keys.js';
import type { PrekeyPolicy } from '../crypto/prekeys.js';
import { formatSafetyNumber, safetyNumber } from '../crypto/safety-number.js';
import { SessionCipher } from '../crypto/session-cipher.js';
import { ready } from '../crypto/sodium.js';
import { HYBRID_VERSION } from '../crypto/x3dh.js';
import { isLiaisonError, LiaisonError } from '../errors.js';
import { Evidence } from '../evidence/evidence.js';
import { EvidenceLog } from '../evidence/evidence-log.js';
import type { RecordSource } from '../evidence/record.js';
import type { RequestView } from '../evidence/request-fold.js';
import { Requests } from '../evidence/requests.js';
import type { KeyStore } from '../key-store/key-store.js';
import type { RoomChangeEvent, RoomMessage } from '../rooms/room-message.js';
import { PairwiseRooms, type Rooms } from '../rooms/rooms.js';
import { accountKeyOf, PeerIdentities } from '../trust/identities.js';
import { PeerDirectory, sessionPeer, type VerifiedEntry } from '../trust/peer-directory.js';
import { type TrustAnchors, verifiedDevice } from '../trust/verify.js';
import type { OutgoingMessage } from './content.js';
import { DeviceUpkeep } from './device-upkeep.js';
import { Emitter } from './emitter.js';
import { Inbox } from './inbox.js';
import { Outbox, type SendOptions } from './outbox.js';
import { Receipts, SEEN_RECEIPTS_LIMIT } from './receipts.js';
import { type ReceivedMessage, Receiver } from './receiver.js';
import { Recipients } from './recipients.js';
import { RelayApi } from './relay-api.js';
import { RelayClock } from './relay-clock.js';
import { type ConnectionEvent, type EventValue, RelayConnection } from './relay-connection.js';
import { UrgentStates } from './urgent-states.js';

/** One device of a contact point, and how this device's session with it is protected. */
export interface DeviceSession {
  deviceId: string;
  deviceName: string;
  protection: 'hybrid' | 'classical' | 'none';
  /**
   * It speaks hybrid sessions (a certificate of it said so, or it made or took a hybrid session
   * with this device): it is never reached classically again, and a classical session with it is
   * replaced by a hybrid one at the next message. Kept by this device, whatever the relay shows later.
   */
  speaksHybrid: boolean;
}

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
  /**
   * How the SDK makes its HTTP requests to the relay; by default the platform's `fetch`. Node
   * applications pass `nodeFetch` (`@liaison/client/node`), which uploads attachment chunks
   * without `fetch`'s copies and the garbage collections they caused (docs/client.md).
   */
  fetch?: typeof fetch;
  /**
   * How attachments' SHA-256 is computed; by default on this thread. Node applications pass
   * `workerHash` (`@liaison/client/node`): a transfer of more than one chunk then hashes on a
   * worker thread while this one decrypts or seals the next chunk (docs/client.md).
   */
  attachmentHash?: TransferHashFactory;
}

export type { ConnectionEvent, ConnectionState } from './relay-connection.js';

type Events = {
  message: (message: ReceivedMessage) => unknown;
  receipt: (receipt: Receipt) => unknown;
  /** A receipt signed by a recipient's device (delivered) or person (acknowledged), verified and kept as evidence. */
  evidence: (receipt: EvidenceReceipt) => unknown;
  /** A request this contact point is a side of changed: opened, a status, a message, a receipt. */
  request: (request: RequestView) => unknown;
  /** An urgent message this contact point sent or holds changed: escalated, acknowledged or unacknowledged. */
  urgent: (state: UrgentState) => unknown;
  identityChanged: (change: { contactPointId: string }) => unknown;
  /** A message written to a room this contact point is in. */
  roomMessage: (message: RoomMessage) => unknown;
  /** A change of a room took effect on this device (this device's own included): members, roles, title. */
  roomChanged: (change: RoomChangeEvent) => unknown;
  connection: (state: ConnectionEvent) => unknown;
  /** Something arrived that could not be shown (bad signature, undecryptable, malformed). */
  error: (error: LiaisonError) => unknown;
};

/**
 * The SDK an agency tool embeds: it never hands out a key. It registers the device, keeps its
 * prekeys topped up, verifies every certificate chain itself, encrypts per device, and delivers
 * each received message to the application once, acknowledging it to the relay only after the
 * application has it and the session state is saved.
 *
 * A façade: each concern is a part of its own, wired here (docs/client.md, "Where the parts live").
 */
export class LiaisonClient extends Emitter<Events> {
  private readonly clock: RelayClock;
  private readonly peers: PeerDirectory;
  private readonly identities: PeerIdentities;
  private readonly upkeep: DeviceUpkeep;
  private readonly inbox: Inbox;
  private readonly outbox: Outbox;
  private readonly receiver: Receiver;
  private readonly receipts: Receipts;
  private readonly urgentStates: UrgentStates;
  private readonly cipher: SessionCipher;
  private readonly pairwiseRooms: PairwiseRooms;
  private readonly evidence: Evidence;
  private readonly evidenceLog: EvidenceLog;
  private readonly anchors: TrustAnchors;
  /** Message ids of the envelopes that carried this device's signed receipts, lately. */
  private readonly receiptEnvelopes = new BoundedMap<string, true>(SEEN_RECEIPTS_LIMIT);
  private connection: RelayConnection | undefined;
  /**
   * Requests between authorities (docs/evidence.md): `open`, `update` with a status, `list`, `get`;
   * each change also arrives as a `request` event.
   */
  readonly requests: Requests;
  /**
   * Case rooms: conversations among several contact points, with end-to-end authenticated
   * membership (docs/rooms.md). Their messages arrive as `roomMessage`, their changes as `roomChanged`.
   */
  readonly rooms: Rooms;

  private constructor(
    private readonly options: LiaisonClientOptions,
    readonly self: VerifiedContactPoint & { device: DeviceCertificate },
    private readonly api: RelayApi,
    clock: RelayClock,
    private readonly identity: IdentityKeyPair,
  ) {
    super();
    const now = options.now ?? Date.now;
    const store = options.keyStore;
    const ids = { contactPointId: self.contactPoint.contactPointId, deviceId: self.device.deviceId };
    const anchors: TrustAnchors = { trustedRoots: options.trustedRoots, revocations: options.revocations ?? [] };
    this.anchors = anchors;
    const report = (error: unknown) => this.report(error);
    this.evidenceLog = new EvidenceLog(store);
    this.evidence = new Evidence({
      self: {
        ...ids,
        networkId: self.networkId,
        chain: { authority: self.authority, contactPoint: self.contactPoint, device: self.device },
      },
      identity,
      store,
      log: this.evidenceLog,
      trustedRoots: options.trustedRoots,
      revocations: options.revocations ?? [],
      now,
      fetchManifest: () =>
        api.networkManifest().catch((error) => {
          if (isLiaisonError(error, 'NOT_FOUND')) return undefined;
          throw error;
        }),
      sendReceipts: async (to, receipts) => {
        const sent = await this.outbox.sendToSeveral([to], (sealed) => ({
          version: 2,
          messageId: sealed.messageId,
          receipts,
        }));
        this.receiptEnvelopes.set(sent.messageId, true);
      },
      requestChanged: async (requestId) => {
        const view = await this.requests.get(requestId);
        if (view) await this.emit('request', view);
      },
      receiptKept: (receipt) => this.emit('evidence', receipt),
      report,
    });
    this.clock = clock;
    const cipher = new SessionCipher(store, { contactPointId: ids.contactPointId, accountKey: accountKeyOf(self) });
    this.cipher = cipher;
    this.peers = new PeerDirectory(
      (id) => api.contactPoint(id),
      anchors,
      () => clock.now(),
      now,
    );
    this.identities = new PeerIdentities(store, ids.contactPointId, now, (contactPointId) =>
      this.emit('identityChanged', { contactPointId }),
    );
    this.upkeep = new DeviceUpkeep(store, api, options.chain, now, options.prekeyPolicy);
    this.inbox = new Inbox(store, now);
    const recipients = new Recipients(ids, api, cipher, this.peers, this.identities, anchors);
    this.outbox = new Outbox(
      ids,
      store,
      api,
      cipher,
      recipients,
      clock,
      now,
      this.evidence,
      (request) => this.call('send', request),
      options.attachmentHash,
    );
    this.requests = new Requests(ids.contactPointId, this.evidenceLog, (to, message, sendOptions) =>
      this.outbox.send(to, message, sendOptions),
    );
    this.receiver = new Receiver(
      ids.contactPointId,
      cipher,
      this.inbox,
      this.peers,
      this.identities,
      this.evidence,
      (messageIds) => this.call('envelopes:ack', { messageIds }),
      (message) => this.emit('message', message),
      (room, content, sender, envelope) => this.pairwiseRooms.receive(room, content, sender, envelope),
      report,
    );
    this.pairwiseRooms = new PairwiseRooms({
      self: { contactPointId: ids.contactPointId, certificate: self.device },
      store,
      verifyDevice: async (contactPointId, device, at) => {
        const { contactPoint } = await this.peers.lookup(contactPointId);
        // A change signed under an account key other than the one recorded waits until the person accepts it.
        await this.identities.check(contactPoint);
        verifiedDevice(
          { authority: contactPoint.authority, contactPoint: contactPoint.contactPoint, device },
          anchors,
          at,
        );
      },
      validAt: () => this.peers.validAt(),
      sendToSeveral: (contactPointIds, content, sendOptions) =>
        this.outbox.sendToSeveral(contactPointIds, content, sendOptions),
      now,
      message: (message) => this.emit('roomMessage', message),
      changed: (event) => this.emit('roomChanged', event),
      report,
    });
    this.rooms = this.pairwiseRooms;
    // The relay's receipts about the envelopes carrying this device's signed receipts are not the application's.
    this.receipts = new Receipts(
      api,
      store,
      async (receipt) => {
        if (!this.receiptEnvelopes.has(receipt.messageId)) await this.emit('receipt', receipt);
      },
      report,
    );
    this.urgentStates = new UrgentStates(api, (state) => this.emit('urgent', state), report);
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
      new RelayApi(options.serverUrl, identity, self.device.deviceId, origin, clock, now, options.fetch),
      clock,
      identity,
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
    await this.upkeep.ensureRegistered();
    await this.upkeep.topUp();
    await this.inbox.prune();
    const connection = new RelayConnection(
      this.options.serverUrl,
      () => this.api.proof('socket'),
      (event) => void this.emit('connection', event),
    );
    this.connection = connection;
    const socket = connection.socket;
    socket.on('envelopes', (envelopes) => this.receiver.push(envelopes));
    socket.on('receipts', (receipts) => void this.receipts.pushedAll(receipts).catch((error) => this.report(error)));
    // A relay node not yet upgraded (revision 1) pushes one envelope or receipt per event.
    socket.on('envelope', (envelope) => this.receiver.push([envelope]));
    socket.on('receipt', (receipt) => void this.receipts.pushedAll([receipt]).catch((error) => this.report(error)));
    socket.on('urgent', (state) => void this.urgentStates.pushed(state));
    socket.on('prekeys:low', () => void this.upkeep.topUp().catch((error) => this.report(error)));
    socket.on('connect', () => {
      void this.receipts.catchUp().catch((error) => this.report(error));
      void this.evidence.flush().catch((error) => this.report(error));
      void this.urgentStates.refresh().catch((error) => this.report(error));
    });
    socket.on('disconnect', () => this.receiver.disconnected());
    await connection.open();
  }

  /**
   * Disconnects, after the message being handled (if any) is finished, and wipes the session
   * records the client kept decoded. Close the client before closing its key store (a lock screen).
   */
  async close(): Promise<void> {
    this.connection?.close();
    this.receiver.disconnected();
    await this.receiver.idle();
    this.cipher.forget();
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
  send(
    contactPointId: string,
    message: OutgoingMessage,
    options: SendOptions = {},
  ): Promise<{ messageId: string; serverTime: number }> {
    return this.outbox.send(contactPointId, message, options);
  }

  /**
   * Fetches, decrypts and checks an attachment of a received message, handing the plaintext to
   * `sink` chunk by chunk (memory stays flat). Resolves once the whole file decrypted and its
   * SHA-256 matched; if it rejects, discard what `sink` got, or keep its whole chunks and pass
   * them as `kept` to resume. Node: `downloadToFile` from `@liaison/client/node` does both, and
   * puts the file in place only once verified.
   */
  download(attachment: Attachment, sink: AttachmentSink, options: DownloadOptions = {}): Promise<void> {
    return downloadAttachment(this.api, attachment, sink, {
      ...options,
      hash: options.hash ?? this.options.attachmentHash,
    });
  }

  /** The relay's view of an urgent message this contact point sent or received: levels, deadlines, who acknowledged. */
  urgentState(messageId: string): Promise<UrgentState> {
    return this.urgentStates.read(messageId);
  }

  /**
   * A person confirmed they have the message (stops an escalation; tells the sender): the relay is
   * told, and a receipt signed by this device and naming this contact point goes to the sender.
   */
  async acknowledge(messageId: string): Promise<{ at: number }> {
    // Signed first: the person's acknowledgement does not depend on what the relay answers.
    await this.evidence.acknowledged(messageId);
    return this.call('acknowledge', { messageId });
  }

  /**
   * What `exportRecord(client, subject)` reads of this device to make a case record
   * (docs/evidence.md): its evidence log, its chain and trust anchors, and a signer that signs
   * record heads and nothing else. Kept apart from the client, so that an application that never
   * exports a record does not ship the verifier and the renderer.
   */
  evidenceSource(): RecordSource {
    return {
      log: this.evidenceLog,
      self: { contactPointId: this.contactPointId, deviceId: this.deviceId, chain: this.options.chain },
      signHead: (head) => encodeBase64url(sign(this.identity, encodeRecordHead(head))),
      trustedRoots: this.options.trustedRoots,
      revocations: this.anchors.revocations ?? [],
      now: this.options.now ?? Date.now,
    };
  }

  readonly directory = {
    /** Directory entries whose chains verify here; the others are dropped and listed in `rejected`. */
    search: async (query: DirectoryQuery = {}) => {
      const page = await this.api.directory(query);
      const entries: VerifiedEntry[] = [];
      const rejected: { contactPointId: string; code: string; message: string }[] = [];
      for (const entry of page.entries) {
        try {
          entries.push(this.peers.verify(entry));
        } catch (error) {
          if (!isLiaisonError(error)) throw error;
          rejected.push({
            contactPointId: entry.contactPoint.contactPointId,
            code: error.code,
            message: error.message,
          });
        }
      }
      await this.cipher.rememberHybrid(hybridDevices(entries.flatMap((e) => e.devices)));
      return { entries, rejected, ...(page.nextCursor && { nextCursor: page.nextCursor }) };
    },
    setAvailability: (availability: Availability) => this.api.setAvailability(availability),
    /**
     * One contact point as verified here from its directory entry (a name to show for an
     * escalation level or a delegate); a LiaisonError when its chain does not verify.
     */
    contactPoint: async (contactPointId: string): Promise<VerifiedContactPoint> =>
      (await this.peers.lookup(contactPointId)).contactPoint,
  };

  /** The 60-digit safety number with a contact point, in groups of five, to compare in person or by phone. */
  async safetyNumber(contactPointId: string): Promise<string> {
    return this.safetyNumberWith(contactPointId, await this.peerAccountKey(contactPointId));
  }

  /**
   * After a key change (`identityChanged`): the safety number with the key the relay's directory
   * names now, verified afresh here. `safetyNumber` goes on showing the recorded key's until the
   * person accepts the new one; this is the number to compare before `acceptIdentity`.
   */
  async safetyNumberForNewKey(contactPointId: string): Promise<string> {
    this.peers.forget([contactPointId]);
    const { contactPoint } = await this.peers.lookup(contactPointId);
    return this.safetyNumberWith(contactPointId, accountKeyOf(contactPoint));
  }

  /** The user compared safety numbers and confirms this contact point's key. */
  async verify(contactPointId: string): Promise<void> {
    await this.identities.markVerified(contactPointId, await this.peerAccountKey(contactPointId));
  }

  /**
   * The user accepts a changed key of a contact point (after comparing safety numbers): sending is
   * allowed again. With `comparedSafetyNumber` (what `safetyNumberForNewKey` showed), the key is
   * accepted only if it is still the one compared: UNTRUSTED_IDENTITY if the directory changed it since.
   */
  async acceptIdentity(contactPointId: string, comparedSafetyNumber?: string): Promise<void> {
    // The key accepted is the one the relay's directory names now, verified afresh.
    this.peers.forget([contactPointId]);
    const { contactPoint } = await this.peers.lookup(contactPointId);
    if (
      comparedSafetyNumber !== undefined &&
      comparedSafetyNumber !== this.safetyNumberWith(contactPointId, accountKeyOf(contactPoint))
    ) {
      throw new LiaisonError(
        'UNTRUSTED_IDENTITY',
        `the key of "${contactPointId}" changed again since its safety number was compared; compare the new one`,
      );
    }
    await this.identities.accept(contactPoint);
  }

  /**
   * How this device's sessions with each device of a contact point are protected, for an
   * application to show: `hybrid` (the initial key agreement is post-quantum), `classical` (a
   * device that predates hybrid sessions, or a session made before them), or `none` yet (the next
   * message starts one: hybrid whenever the device publishes KEM prekeys, and always for a device
   * that `speaksHybrid`).
   */
  async sessions(contactPointId: string): Promise<DeviceSession[]> {
    const { contactPoint, devices } = await this.peers.lookup(contactPointId);
    await this.cipher.rememberHybrid(hybridDevices(devices.values()));
    return Promise.all(
      [...devices.values()].map(async (device): Promise<DeviceSession> => {
        const version = await this.cipher.sessionVersion(sessionPeer(contactPoint, device.deviceId));
        return {
          deviceId: device.deviceId,
          deviceName: device.deviceName,
          protection: version === undefined ? 'none' : version === HYBRID_VERSION ? 'hybrid' : 'classical',
          speaksHybrid: await this.cipher.speaksHybrid(device.deviceId),
        };
      }),
    );
  }

  private safetyNumberWith(contactPointId: string, accountKey: Uint8Array): string {
    return formatSafetyNumber(
      safetyNumber(
        { contactPointId: this.contactPointId, accountKey: accountKeyOf(this.self) },
        { contactPointId, accountKey },
      ),
    );
  }

  /** The account key recorded for a peer; at first contact, its verified designation's, recorded then. */
  private async peerAccountKey(contactPointId: string): Promise<Uint8Array> {
    const recorded = await this.identities.recorded(contactPointId);
    if (recorded) return recorded;
    const { contactPoint } = await this.peers.lookup(contactPointId);
    await this.identities.check(contactPoint);
    return accountKeyOf(contactPoint);
  }

  private async call<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<EventValue<E>> {
    if (!this.connection) throw new LiaisonError('UNAVAILABLE', 'not connected: call connect() first');
    return this.connection.call(event, payload);
  }

  /**
   * Tells the application's `error` listeners. Never rejects: it is called from the paths that
   * handle what the relay pushes, and a listener that throws must not stop them (review 25b,
   * finding 1); what it threw has nowhere else to go.
   */
  private async report(error: unknown): Promise<void> {
    const liaisonError = isLiaisonError(error)
      ? error
      : new LiaisonError('INTERNAL', (error as Error)?.message ?? 'unexpected error');
    if (!this.hasListeners('error')) return;
    try {
      await this.emit('error', liaisonError);
    } catch {
      // The listener's own failure: reporting it would call the same listener again.
    }
  }
}
