// One unlocked device: its key store, the SDK client, the local history, and what the screens show
// live (connection, waiting sends, transfers, changed keys). Locking closes all of it: the key
// store wipes what it held in memory and nothing arrives until the passphrase is given again.
import {
  type Attachment,
  type CertificateChain,
  type ConnectionEvent,
  isLiaisonError,
  isRetryable,
  LiaisonClient,
  type OutgoingMessage,
  type Receipt,
  type ReceivedMessage,
  type TransferProgress,
  type TrustedRoot,
  type UrgentState,
  type VerifiedContactPoint,
  type VerifiedEntry,
} from '@liaison/client';
import { downloadToBlob, IndexedDbKeyStore, PartialDownloads, UnsentFiles } from '@liaison/client/browser';
import { signal } from '@preact/signals';
import type { DeviceRecord } from './device-record.js';
import { History, type PartyName, type StoredMessage } from './history.js';
import { notifyUrgent } from './notifications.js';

/** What enrolment leaves in the key store's application records. */
export interface Enrolment {
  chain: CertificateChain;
  trustedRoots: TrustedRoot[];
  relayUrl: string;
}

const ENROLMENT = 'enrolment';

export async function saveEnrolment(keyStore: IndexedDbKeyStore, enrolment: Enrolment): Promise<void> {
  await keyStore.appData.put(ENROLMENT, new TextEncoder().encode(JSON.stringify(enrolment)));
}

export interface Transfer extends TransferProgress {
  direction: 'up' | 'down';
  messageId: string;
}

export interface SendRequest {
  to: PartyName;
  content: OutgoingMessage;
  /** Urgent: each level's time to acknowledge. */
  acknowledgeWithinMs?: number;
  files: File[];
}

export function partyOfEntry(entry: VerifiedEntry): PartyName {
  return partyOf(entry.contactPoint);
}

function partyOf({ contactPoint, authority, networkName }: VerifiedContactPoint): PartyName {
  return {
    contactPointId: contactPoint.contactPointId,
    displayName: contactPoint.displayName,
    role: contactPoint.role,
    authorityName: authority.name,
    country: authority.country,
    networkName,
    timeZone: contactPoint.timeZone,
  };
}

export class Session {
  readonly connection = signal<ConnectionEvent>({ state: 'connecting' });
  /** Sends the relay has not stored yet (offline, or uploading). */
  readonly waiting = signal(0);
  readonly transfers = signal<Record<string, Transfer>>({});
  /** Counterparts whose key changed: nothing is sent to them until a person compares safety numbers again. */
  readonly changedKeys = signal<string[]>([]);
  /** Something arrived that could not be shown, or a background step failed: the latest, for a notice. */
  readonly problem = signal<string | undefined>(undefined);
  /** Contact points met in the directory, in messages or in escalations, to name them (time zone included). */
  private readonly parties = signal<ReadonlyMap<string, PartyName>>(new Map());
  private readonly lookedUp = new Set<string>();
  /** Messages being sent now: a reconnection's resend must not start a second delivery of one. */
  private readonly sending = new Set<string>();
  private locked = false;

  private constructor(
    readonly keyStore: IndexedDbKeyStore,
    readonly client: LiaisonClient,
    readonly history: History,
    private readonly unsent: UnsentFiles,
    private readonly partial: PartialDownloads,
  ) {
    this.parties.value = new Map(history.conversations.value.map((c) => [c.peer.contactPointId, c.peer]));
    this.changedKeys.value = history.changedKeys();
  }

  /** Opens the device's key store with its passphrase (KEY_STORE_LOCKED when wrong) and connects. */
  static async unlock(record: DeviceRecord, passphrase: string): Promise<Session> {
    const keyStore = await IndexedDbKeyStore.open({ name: record.store, passphrase, whenInUse: 'fail' });
    try {
      const bytes = await keyStore.appData.get(ENROLMENT);
      if (!bytes) throw new Error('this device has no enrolment record');
      return await Session.start(keyStore, JSON.parse(new TextDecoder().decode(bytes)) as Enrolment);
    } catch (error) {
      await keyStore.close();
      throw error;
    }
  }

  /** Starts on an open key store: the client, the history, the connection (which may come later: offline is fine). */
  static async start(keyStore: IndexedDbKeyStore, enrolment: Enrolment): Promise<Session> {
    const client = await LiaisonClient.create({
      serverUrl: enrolment.relayUrl,
      keyStore,
      trustedRoots: enrolment.trustedRoots,
      chain: enrolment.chain,
    });
    const history = await History.open(keyStore.appData);
    const session = new Session(
      keyStore,
      client,
      history,
      await UnsentFiles.open(client.deviceId),
      await PartialDownloads.open(client.deviceId),
    );
    session.listen();
    return session;
  }

  get self(): PartyName {
    return partyOf(this.client.self);
  }

  /** Connects (registering the device the first time) and resends what a reload interrupted. */
  async connect(): Promise<void> {
    await this.client.connect();
    void this.resumeWaiting();
  }

  async lock(): Promise<void> {
    this.locked = true;
    await this.client.close();
    this.unsent.close();
    this.partial.close();
    this.history.close();
    await this.keyStore.close();
  }

  party(contactPointId: string): PartyName | undefined {
    return this.parties.value.get(contactPointId);
  }

  rememberParty(party: PartyName): void {
    this.parties.value = new Map(this.parties.value).set(party.contactPointId, party);
  }

  /** Names contact points this device has not met yet (an escalation's levels), from their verified directory entries. */
  private async learnParties(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if (this.party(id) || this.lookedUp.has(id)) continue;
      this.lookedUp.add(id);
      const verified = await this.client.directory.contactPoint(id).catch(() => undefined);
      if (verified) this.rememberParty(partyOf(verified));
    }
  }

  /** Puts the message in the history as waiting and sends it in the background; its files are kept for a reload. */
  async send(request: SendRequest): Promise<void> {
    const messageId = crypto.randomUUID();
    const peer = request.to.contactPointId;
    if (request.files.length > 0) await this.unsent.keep(messageId, request.files);
    this.rememberParty(request.to);
    const message: StoredMessage = {
      messageId,
      peer,
      direction: 'out',
      at: Date.now(),
      ...request.content,
      priority: request.acknowledgeWithinMs ? 'urgent' : 'normal',
      ...(request.acknowledgeWithinMs && { acknowledgeWithinMs: request.acknowledgeWithinMs }),
      ...(request.files.length > 0 && {
        files: request.files.map((f) => ({ name: f.name, size: f.size, type: f.type })),
      }),
      state: 'waiting',
    };
    await this.history.add(message, request.to);
    // Shown at once as waiting; the SDK retries until the relay has it, while the page goes on.
    void this.deliver(message);
  }

  /** Sends a stored message until the relay has it (the SDK retries); its files resume where the upload stopped. */
  private async deliver(message: StoredMessage): Promise<void> {
    if (this.sending.has(message.messageId)) return;
    this.sending.add(message.messageId);
    this.waiting.value++;
    try {
      const attachments = await this.unsent.attachments(message.messageId);
      const { serverTime } = await this.client.send(
        message.peer,
        {
          text: message.text,
          ...(message.subject && { subject: message.subject }),
          ...(message.reference && { reference: message.reference }),
          ...(message.language && { language: message.language }),
          ...(message.handling?.length && { handling: message.handling }),
        },
        {
          messageId: message.messageId,
          ...(message.acknowledgeWithinMs && { urgent: { acknowledgeWithin: message.acknowledgeWithinMs } }),
          ...(attachments.length > 0 && { attachments }),
          onProgress: (progress) => this.progress({ ...progress, direction: 'up', messageId: message.messageId }),
        },
      );
      await this.unsent.forget(message.messageId);
      await this.history.update(message.peer, message.messageId, (m) => ({ ...m, state: 'stored', at: serverTime }));
      if (message.acknowledgeWithinMs) {
        const state = await this.client.urgentState(message.messageId).catch(() => undefined);
        if (state) await this.urgentChanged(state);
      }
    } catch (error) {
      // Locked meanwhile: the message stays waiting, with its files, and goes after the next unlock.
      if (this.locked) return;
      const code = isLiaisonError(error) ? error.code : 'INTERNAL';
      // The files kept for a retry are in clear in the browser's storage: only a key change, which
      // the person can settle, or a failure that may pass keeps them; a refusal would come again.
      const filesKept = code === 'UNTRUSTED_IDENTITY' || isRetryable(error);
      if (code === 'UNTRUSTED_IDENTITY') await this.keyChanged(message.peer);
      if (!filesKept) await this.unsent.forget(message.messageId).catch(() => undefined);
      await this.history.update(message.peer, message.messageId, (m) => ({
        ...m,
        state: 'failed',
        failure: code,
        filesKept,
      }));
    } finally {
      this.sending.delete(message.messageId);
      this.waiting.value--;
    }
  }

  /** Whether sending a failed message again can work: its files (if any) are still kept for it. */
  retryable(message: StoredMessage): boolean {
    return message.state === 'failed' && (!message.files?.length || message.filesKept === true);
  }

  /** Gives up a failed message: its kept files are deleted, and it stays in the history as not sent. */
  async discard(message: StoredMessage): Promise<void> {
    await this.unsent.forget(message.messageId);
    await this.history.update(message.peer, message.messageId, (m) => ({
      ...m,
      state: 'failed',
      failure: 'DISCARDED',
      filesKept: false,
    }));
  }

  /** Sends again a message that failed (after a key change was accepted, say), with the same id. */
  async retry(message: StoredMessage): Promise<void> {
    await this.history.update(message.peer, message.messageId, (m) => ({ ...m, state: 'waiting' }));
    await this.deliver({ ...message, state: 'waiting' });
  }

  private async resumeWaiting(): Promise<void> {
    for (const message of await this.history.waiting()) void this.deliver(message);
  }

  /** Decrypts an attachment into a file the browser saves; resumes after a reload from the chunks kept. */
  async download(message: StoredMessage, attachment: Attachment): Promise<Blob> {
    const blob = await downloadToBlob(this.client, attachment, {
      partial: this.partial,
      onProgress: (progress) => this.progress({ ...progress, direction: 'down', messageId: message.messageId }),
    });
    return blob as unknown as Blob;
  }

  async acknowledge(message: StoredMessage): Promise<void> {
    const { at } = await this.client.acknowledge(message.messageId);
    await this.history.update(message.peer, message.messageId, (m) => ({
      ...m,
      acknowledged: { at, by: this.client.contactPointId },
    }));
  }

  async markVerified(peer: string): Promise<void> {
    await this.client.verify(peer);
    await this.history.setTrust(peer, { verified: true, keyChanged: false });
  }

  /** The person compared the new safety number (`compared`): that key, and no other, is accepted and verified. */
  async acceptNewKey(peer: string, compared: string): Promise<void> {
    await this.client.acceptIdentity(peer, compared);
    await this.client.verify(peer);
    await this.history.setTrust(peer, { verified: true, keyChanged: false });
    this.changedKeys.value = this.changedKeys.value.filter((id) => id !== peer);
  }

  private progress(transfer: Transfer): void {
    this.transfers.value = { ...this.transfers.value, [`${transfer.direction}:${transfer.blobId}`]: transfer };
  }

  private async keyChanged(peer: string): Promise<void> {
    if (!this.changedKeys.value.includes(peer)) this.changedKeys.value = [...this.changedKeys.value, peer];
    await this.history.setTrust(peer, { verified: false, keyChanged: true });
  }

  private listen(): void {
    this.client.on('connection', (event) => {
      this.connection.value = event;
    });
    this.client.on('message', (message) => this.received(message));
    this.client.on('receipt', (receipt) => this.receipt(receipt));
    this.client.on('urgent', (state) => this.urgentChanged(state));
    this.client.on('identityChanged', ({ contactPointId }) => this.keyChanged(contactPointId));
    this.client.on('error', (error) => {
      this.problem.value = error.code;
    });
  }

  /** Stored before the SDK acknowledges it to the relay: a message the page showed is never lost on reload. */
  private async received(message: ReceivedMessage): Promise<void> {
    const incoming = message.direction === 'incoming';
    const peer = incoming ? message.sender.contactPointId : message.to;
    const known = this.party(peer);
    const party: PartyName = incoming
      ? {
          contactPointId: peer,
          displayName: message.sender.displayName,
          role: message.sender.role,
          authorityName: message.sender.authorityName,
          country: message.sender.country,
          networkName: message.sender.networkName,
          ...(known?.timeZone && { timeZone: known.timeZone }),
        }
      : (known ?? {
          contactPointId: peer,
          displayName: peer,
          role: '',
          authorityName: '',
          country: '',
          networkName: '',
        });
    this.rememberParty(party);
    await this.history.add(
      {
        messageId: message.messageId,
        peer,
        direction: incoming ? 'in' : 'out',
        at: message.relay.serverTime,
        text: message.text,
        ...(message.subject && { subject: message.subject }),
        ...(message.reference && { reference: message.reference }),
        ...(message.language && { language: message.language }),
        ...(message.handling && { handling: message.handling }),
        ...(message.attachments && { attachments: message.attachments }),
        priority: message.priority,
        ...(incoming && { sender: { ...party, deviceName: message.sender.deviceName } }),
        ...(incoming && message.sender.identity === 'changed' && { senderKeyChanged: true }),
        ...(message.relay.deadline && { deadline: message.relay.deadline }),
        ...(message.urgent && { acknowledgeWithinMs: message.urgent.acknowledgeWithinMs }),
        state: 'stored',
      },
      party,
      { unread: incoming },
    );
    // The message is kept: whatever follows must not fail its delivery (the SDK would not acknowledge it).
    try {
      if (incoming && message.sender.identity === 'changed') await this.keyChanged(peer);
      if (incoming && message.priority === 'urgent') notifyUrgent(party, message, this.client.relayNow());
    } catch {
      // A notification the platform refuses (Chrome on Android has no Notification constructor) changes nothing here.
    }
  }

  private async receipt(receipt: Receipt): Promise<void> {
    const peer = this.history.peerOfSent(receipt.messageId);
    if (!peer) return;
    void this.learnParties([receipt.contactPointId]);
    await this.history.update(peer, receipt.messageId, (m) => {
      switch (receipt.status) {
        case 'relayed':
          return { ...m, state: 'stored' };
        case 'delivered':
          return {
            ...m,
            delivered: { ...m.delivered, [`${receipt.contactPointId}/${receipt.deviceId ?? ''}`]: receipt.at },
          };
        case 'acknowledged':
          return { ...m, acknowledged: { at: receipt.at, by: receipt.contactPointId } };
        default:
          return { ...m, expired: receipt.at };
      }
    });
  }

  private async urgentChanged(state: UrgentState): Promise<void> {
    void this.learnParties(state.levels.map((level) => level.contactPointId));
    const mine = state.senderContactPoint === this.client.contactPointId;
    const peer = mine ? state.levels[0]?.contactPointId : state.senderContactPoint;
    if (!peer) return;
    await this.history.update(peer, state.messageId, (m) => ({
      ...m,
      urgent: state,
      ...(state.acknowledged && {
        acknowledged: m.acknowledged ?? { at: state.acknowledged.at, by: state.acknowledged.contactPointId },
      }),
    }));
  }
}
