// One unlocked device: its key store, the SDK client, the local history (conversations and case
// rooms), and what the screens show live (connection, waiting sends, transfers, changed keys). Locking closes all of it: the key
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
  type RoomChangeEvent,
  type RoomMessage,
  type RoomView,
  type TransferProgress,
  type TrustedRoot,
  type UrgentState,
  type VerifiedContactPoint,
  type VerifiedEntry,
  type VerifiedSender,
} from '@liaison/client';
import { downloadToBlob, IndexedDbKeyStore, PartialDownloads, UnsentFiles } from '@liaison/client/browser';
import { signal } from '@preact/signals';
import type { DeviceRecord } from './device-record.js';
import { History, type PartyName, roomKey, type StoredMessage } from './history.js';
import { notifyUrgent } from './notifications.js';
import { RequestBook, requestMark } from './requests.js';

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

/** A message for a room: its text and files (a room's messages are never urgent). */
export interface RoomSendRequest {
  roomId: string;
  content: OutgoingMessage;
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
  /** Requests between authorities this device holds (opened here or received), kept fresh from the SDK's events. */
  readonly requests: RequestBook;

  private constructor(
    readonly keyStore: IndexedDbKeyStore,
    readonly client: LiaisonClient,
    readonly history: History,
    private readonly unsent: UnsentFiles,
    private readonly partial: PartialDownloads,
  ) {
    this.parties.value = new Map([
      ...history.rooms.value.flatMap((r) => Object.entries(r.names)),
      ...history.conversations.value.map((c) => [c.peer.contactPointId, c.peer] as const),
    ]);
    this.changedKeys.value = history.changedKeys();
    this.requests = new RequestBook(client, history, this);
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
    // Rooms as the SDK holds them now: a change whose news this page missed (it was locked) shows.
    void session.syncRooms();
    void session.syncRequests();
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

  /**
   * Names contact points this device has not met yet (an escalation's levels, a room's members,
   * the sides of a request), from their verified directory entries; gives back those it named.
   */
  async learnParties(ids: readonly string[]): Promise<PartyName[]> {
    const learnt: PartyName[] = [];
    for (const id of ids) {
      if (this.party(id) || this.lookedUp.has(id)) continue;
      this.lookedUp.add(id);
      const verified = await this.client.directory.contactPoint(id).catch(() => {
        // Offline, say: asked again next time.
        this.lookedUp.delete(id);
        return undefined;
      });
      if (!verified) continue;
      this.rememberParty(partyOf(verified));
      learnt.push(partyOf(verified));
    }
    return learnt;
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

  /** Puts a room message in the room's history as waiting and sends it in the background, as `send` does. */
  async sendToRoom(request: RoomSendRequest): Promise<void> {
    const messageId = crypto.randomUUID();
    if (request.files.length > 0) await this.unsent.keep(messageId, request.files);
    const message: StoredMessage = {
      messageId,
      peer: roomKey(request.roomId),
      room: request.roomId,
      direction: 'out',
      at: Date.now(),
      ...request.content,
      priority: 'normal',
      ...(request.files.length > 0 && {
        files: request.files.map((f) => ({ name: f.name, size: f.size, type: f.type })),
      }),
      state: 'waiting',
    };
    await this.history.addRoomMessage(message);
    void this.deliver(message);
  }

  /** Sends a stored message until the relay has it (the SDK retries); its files resume where the upload stopped. */
  private async deliver(message: StoredMessage): Promise<void> {
    if (this.sending.has(message.messageId)) return;
    this.sending.add(message.messageId);
    this.waiting.value++;
    try {
      const attachments = await this.unsent.attachments(message.messageId);
      const content: OutgoingMessage = {
        text: message.text,
        ...(message.subject && { subject: message.subject }),
        ...(message.reference && { reference: message.reference }),
        ...(message.language && { language: message.language }),
        ...(message.handling?.length && { handling: message.handling }),
      };
      const options = {
        messageId: message.messageId,
        ...(attachments.length > 0 && { attachments }),
        onProgress: (progress: TransferProgress) =>
          this.progress({ ...progress, direction: 'up', messageId: message.messageId }),
      };
      const { serverTime } = message.room
        ? await this.client.rooms.send(message.room, content, options)
        : await this.client.send(message.peer, content, {
            ...options,
            ...(message.acknowledgeWithinMs && { urgent: { acknowledgeWithin: message.acknowledgeWithinMs } }),
          });
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
      // In a room, the SDK names the member whose key changed (identityChanged).
      if (code === 'UNTRUSTED_IDENTITY' && !message.room) await this.keyChanged(message.peer);
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
    await this.acknowledgeMessage(message.messageId, message.peer);
  }

  /**
   * A person here confirms a received message (from its conversation, or from a request's
   * timeline): the relay is told, and the SDK signs an acknowledgement and sends it to the sender.
   */
  async acknowledgeMessage(messageId: string, peer: string): Promise<void> {
    const { at } = await this.client.acknowledge(messageId);
    await this.history.update(peer, messageId, (m) => ({
      ...m,
      acknowledged: { at, by: this.client.contactPointId },
    }));
  }

  /** Opens a room with these counterparts; this contact point is its first administrator. */
  async createRoom(room: { title: string; caseReference?: string; members: PartyName[] }): Promise<RoomView> {
    for (const party of room.members) this.rememberParty(party);
    const view = await this.client.rooms.create({
      title: room.title,
      ...(room.caseReference && { caseReference: room.caseReference }),
      members: room.members.map((m) => m.contactPointId),
    });
    // The change itself is in the history already (the SDK tells its own changes as roomChanged).
    await this.history.roomSeen(view, [this.self, ...room.members]);
    return view;
  }

  async addToRoom(roomId: string, party: PartyName): Promise<void> {
    this.rememberParty(party);
    await this.client.rooms.invite(roomId, party.contactPointId);
    await this.history.nameInRoom(roomId, [party]);
  }

  async removeFromRoom(roomId: string, contactPointId: string): Promise<void> {
    await this.client.rooms.remove(roomId, contactPointId);
  }

  async makeRoomAdmin(roomId: string, contactPointId: string): Promise<void> {
    await this.client.rooms.setRole(roomId, contactPointId, 'admin');
  }

  async renameRoom(roomId: string, title: string, caseReference?: string): Promise<void> {
    await this.client.rooms.rename(roomId, title, caseReference);
  }

  async leaveRoom(roomId: string): Promise<void> {
    await this.client.rooms.leave(roomId);
  }

  /**
   * Reads the room again from the SDK. Whether its history is complete changes without a
   * `roomChanged` (a message waiting for a change this device lacks; its release once the change
   * arrived): the room screen asks while it is shown.
   */
  async refreshRoom(roomId: string): Promise<void> {
    const view = await this.client.rooms.get(roomId);
    if (view) await this.history.roomSeen(view);
  }

  private async syncRequests(): Promise<void> {
    try {
      await this.requests.refresh();
    } catch (error) {
      if (!this.locked) this.problem.value = isLiaisonError(error) ? error.code : 'INTERNAL';
    }
  }

  private async syncRooms(): Promise<void> {
    try {
      for (const view of await this.client.rooms.list()) {
        await this.history.roomSeen(view);
        void this.nameRoom(
          view.roomId,
          view.members.map((m) => m.contactPointId),
        );
      }
    } catch (error) {
      if (!this.locked) this.problem.value = isLiaisonError(error) ? error.code : 'INTERNAL';
    }
  }

  /** Names a room's members (and whoever its timeline names) from the directory, and keeps the names with the room. */
  private async nameRoom(roomId: string, ids: readonly string[]): Promise<void> {
    const known = ids.flatMap((id) => this.party(id) ?? []);
    const learnt = await this.learnParties(ids);
    if (!this.locked) await this.history.nameInRoom(roomId, [...known, ...learnt]);
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

  /** A file going up or down: the screens show its progress bar. */
  progress(transfer: Transfer): void {
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
    this.client.on('roomMessage', (message) => this.roomMessage(message));
    this.client.on('roomChanged', (event) => this.roomChanged(event));
    this.client.on('receipt', (receipt) => this.receipt(receipt));
    this.client.on('urgent', (state) => this.urgentChanged(state));
    this.client.on('request', (view) => this.requests.seen(view));
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
      ? this.partyOfSender(message.sender)
      : (known ?? {
          contactPointId: peer,
          displayName: peer,
          role: '',
          authorityName: '',
          country: '',
          networkName: '',
        });
    this.rememberParty(party);
    const mark = requestMark(message.messageId, message.request);
    await this.history.add(
      {
        messageId: message.messageId,
        peer,
        direction: incoming ? 'in' : 'out',
        at: message.relay.serverTime,
        ...writtenFields(message),
        priority: message.priority,
        ...(incoming && { sender: { ...party, deviceName: message.sender.deviceName } }),
        ...(incoming && message.sender.identity === 'changed' && { senderKeyChanged: true }),
        ...(message.relay.deadline && { deadline: message.relay.deadline }),
        ...(message.urgent && { acknowledgeWithinMs: message.urgent.acknowledgeWithinMs }),
        ...(mark && { request: mark }),
        state: 'stored',
      },
      party,
      { unread: incoming },
    );
    this.requests.nameDevice(message.sender.deviceId, message.sender.deviceName);
    if (mark) void this.requests.reread(mark.requestId).catch(() => undefined);
    // The message is kept: whatever follows must not fail its delivery (the SDK would not acknowledge it).
    try {
      if (incoming && message.sender.identity === 'changed') await this.keyChanged(peer);
      if (incoming && message.priority === 'urgent') notifyUrgent(party, message, this.client.relayNow());
    } catch {
      // A notification the platform refuses (Chrome on Android has no Notification constructor) changes nothing here.
    }
  }

  /** A message written to a room: stored before the SDK acknowledges it, as in a conversation. */
  private async roomMessage(message: RoomMessage): Promise<void> {
    if (!this.history.room(message.roomId)) {
      const view = await this.client.rooms.get(message.roomId);
      if (view) await this.history.roomSeen(view);
    }
    const incoming = message.direction === 'incoming';
    const party = this.partyOfSender(message.sender);
    this.rememberParty(party);
    await this.history.addRoomMessage(
      {
        messageId: message.messageId,
        peer: roomKey(message.roomId),
        room: message.roomId,
        direction: incoming ? 'in' : 'out',
        at: message.relay.serverTime,
        ...writtenFields(message),
        priority: 'normal',
        ...(incoming && { sender: { ...party, deviceName: message.sender.deviceName } }),
        ...(incoming && message.sender.identity === 'changed' && { senderKeyChanged: true }),
        state: 'stored',
      },
      { unread: incoming },
    );
    if (incoming && message.sender.identity === 'changed') await this.keyChanged(party.contactPointId);
  }

  /** A change of a room took effect here (this device's own included): a line in its timeline. */
  private async roomChanged(event: RoomChangeEvent): Promise<void> {
    const { room, by, change, at } = event;
    const self = this.client.contactPointId;
    const out = (change.op === 'remove' && change.contactPointId === self) || (change.op === 'leave' && by === self);
    await this.history.addRoomChange(
      { kind: 'change', messageId: await changeId(event), at, by, change },
      room,
      out && !room.role ? { by, at, left: change.op === 'leave' } : undefined,
    );
    const named = [
      by,
      ...room.members.map((m) => m.contactPointId),
      ...(change.op === 'create' ? change.members.map((m) => m.contactPointId) : []),
      ...('contactPointId' in change ? [change.contactPointId] : []),
    ];
    void this.nameRoom(room.roomId, [...new Set(named)]);
  }

  private partyOfSender(sender: VerifiedSender): PartyName {
    const known = this.party(sender.contactPointId);
    return {
      contactPointId: sender.contactPointId,
      displayName: sender.displayName,
      role: sender.role,
      authorityName: sender.authorityName,
      country: sender.country,
      networkName: sender.networkName,
      ...(known?.timeZone && { timeZone: known.timeZone }),
    };
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

/**
 * An id for a room change, from the change itself: the SDK gives none, and the same change told
 * twice (a history a member forwards) must be one line. SHA-256 of what identifies it.
 */
async function changeId({ room, by, at, change }: RoomChangeEvent): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify([room.roomId, by, at, change]));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return `change:${Array.from(digest.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** What the writer of a received message wrote, as the local history keeps it. */
function writtenFields(message: OutgoingMessage & { attachments?: Attachment[] }) {
  return {
    text: message.text,
    ...(message.subject && { subject: message.subject }),
    ...(message.reference && { reference: message.reference }),
    ...(message.language && { language: message.language }),
    ...(message.handling && { handling: message.handling }),
    ...(message.attachments && { attachments: message.attachments }),
  };
}
