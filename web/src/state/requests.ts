// Requests between authorities as this device holds them (the SDK's `client.requests`, whose state
// is folded from signed messages and receipts; docs/evidence.md): the list the screens show, kept
// fresh from the SDK's `request` events; opening a request and answering one, each also kept in the
// local history as the message it is; and the names of the devices that signed receipts.
import {
  type HandlingCode,
  isRetryable,
  type LiaisonClient,
  type ReceivedMessage,
  type RequestKind,
  type RequestStatus,
  type RequestView,
  type TransferProgress,
} from '@liaison/client';
import { blobAttachment } from '@liaison/client/browser';
import { signal } from '@preact/signals';
import type { History, PartyName, StoredMessage, StoredRequestMark } from './history.js';

/** What the form for a new request gives. */
export interface NewRequest {
  kind: RequestKind;
  legalBasis: string;
  /** When the requesting side needs it executed (this device's clock, ms). */
  deadline?: number;
  text: string;
  subject?: string;
  reference?: string;
  language?: string;
  handling?: HandlingCode[];
}

/** A status stated (by the requested side), a withdrawal (by the requesting side), or a message about the request. */
export interface RequestAnswer {
  status?: RequestStatus;
  grounds?: string;
  text: string;
  /** The requested side's own reference for it. */
  reference?: string;
}

/** What the request book needs of the session: names of contact points. */
export interface PartyNames {
  party(contactPointId: string): PartyName | undefined;
  rememberParty(party: PartyName): void;
  learnParties(ids: readonly string[]): Promise<unknown>;
}

/** What a received message did to a request, as the history keeps it beside the text. */
export function requestMark(messageId: string, request: ReceivedMessage['request']): StoredRequestMark | undefined {
  if (!request) return undefined;
  if (request.op === 'open') {
    return {
      requestId: messageId,
      change: 'opened',
      kind: request.kind,
      legalBasis: request.legalBasis,
      ...(request.deadline !== undefined && { deadline: request.deadline }),
    };
  }
  return {
    requestId: request.requestId,
    change: request.status ? 'status' : 'message',
    ...(request.status && { status: request.status }),
    ...(request.grounds !== undefined && { grounds: request.grounds }),
  };
}

export class RequestBook {
  /** Every request this device holds, the latest change first. */
  readonly views = signal<RequestView[]>([]);
  /** Device names by device id, from the certificates the directory gives (and from received messages). */
  readonly deviceNames = signal<ReadonlyMap<string, string>>(new Map());
  /** Devices already looked up in the directory, found or not: a device revoked since is not asked for again and again. */
  private readonly askedDevices = new Set<string>();

  constructor(
    private readonly client: LiaisonClient,
    private readonly history: History,
    private readonly names: PartyNames,
  ) {}

  /** Reads every request again from the SDK (its evidence log, on this device: works offline). */
  async refresh(): Promise<void> {
    const views = await this.client.requests.list();
    this.views.value = views;
    void this.learn(views);
  }

  /** A request changed (the SDK's `request` event): opened, a status, a message, a receipt. */
  seen(view: RequestView): void {
    this.views.value = [view, ...this.views.value.filter((v) => v.requestId !== view.requestId)].sort(
      (a, b) => b.updatedAt - a.updatedAt,
    );
    void this.learn([view]);
  }

  /**
   * Reads one request again. A received message about a request is told (`request` event) before
   * this device's own signed "delivered" receipt for it is kept, and nothing tells of that receipt:
   * the page reads the request again once the message is delivered to it.
   */
  async reread(requestId: string): Promise<void> {
    const view = await this.client.requests.get(requestId);
    if (view) this.seen(view);
  }

  get(requestId: string): RequestView | undefined {
    return this.views.value.find((v) => v.requestId === requestId);
  }

  /** The requests between this contact point and `peer`, either way. */
  withPeer(peer: string): RequestView[] {
    return this.views.value.filter((v) => v.requesting === peer || v.requested === peer);
  }

  /**
   * This contact point's side of a request: the one that opened it, or the requested side (the
   * contact point it went to; a member of its escalation chain sees it too, and the SDK refuses
   * its statuses in words).
   */
  side(view: RequestView): 'requesting' | 'requested' {
    return view.requesting === this.client.contactPointId ? 'requesting' : 'requested';
  }

  /** The other side: whom this contact point's messages about the request go to. */
  other(view: RequestView): string {
    return this.side(view) === 'requesting' ? view.requested : view.requesting;
  }

  /** A device's name as its certificate gives it; undefined while unknown here. */
  deviceName(deviceId: string): string | undefined {
    if (deviceId === this.client.deviceId) return this.client.self.device.deviceName;
    return this.deviceNames.value.get(deviceId);
  }

  /** A device named by a verified message it sent. */
  nameDevice(deviceId: string, name: string): void {
    if (this.deviceNames.value.get(deviceId) === name) return;
    this.deviceNames.value = new Map(this.deviceNames.value).set(deviceId, name);
  }

  /**
   * Opens a request with `to`: resolves once the relay stored it, then keeps it in the history as
   * the message it is. The SDK chooses the request's id (it is the opening message's), so the page
   * cannot record it as waiting beforehand: the form stays busy until the relay has it.
   */
  async open(
    to: PartyName,
    request: NewRequest,
    files: readonly File[],
    onProgress?: (progress: TransferProgress) => void,
  ): Promise<string> {
    this.names.rememberParty(to);
    const { requestId, serverTime } = await this.client.requests.open(to.contactPointId, request, {
      ...(files.length > 0 && { attachments: files.map((f) => blobAttachment(f)) }),
      ...(onProgress && { onProgress }),
    });
    const { kind, legalBasis, deadline, ...content } = request;
    await this.history.add(
      sent(requestId, to.contactPointId, serverTime, content, files, {
        requestId,
        change: 'opened',
        kind,
        legalBasis,
        ...(deadline !== undefined && { deadline }),
      }),
      to,
    );
    await this.refresh();
    return requestId;
  }

  /**
   * States a status, withdraws, or writes about a request. The SDK refuses (INVALID_INPUT) a status
   * that is not this side's to state, or one after the request ended: the screen offers neither,
   * but the other side may have ended it a moment ago.
   */
  async answer(
    view: RequestView,
    answer: RequestAnswer,
    files: readonly File[],
    onProgress?: (progress: TransferProgress) => void,
  ): Promise<void> {
    const { status, grounds, ...content } = answer;
    const { messageId, serverTime } = await this.client.requests.update(
      view.requestId,
      {
        ...content,
        ...(status && { status }),
        ...(grounds !== undefined && { grounds }),
      },
      {
        ...(files.length > 0 && { attachments: files.map((f) => blobAttachment(f)) }),
        ...(onProgress && { onProgress }),
      },
    );
    const peer = this.other(view);
    const party = this.names.party(peer) ?? unnamed(peer);
    await this.history.add(
      sent(messageId, peer, serverTime, content, files, {
        requestId: view.requestId,
        change: status ? 'status' : 'message',
        ...(status && { status }),
        ...(grounds !== undefined && { grounds }),
      }),
      party,
    );
    await this.refresh();
  }

  /** Names the contact points and devices the requests mention (receipts' signers among them). */
  private async learn(views: readonly RequestView[]): Promise<void> {
    const devices = new Map<string, Set<string>>();
    const note = (contactPointId: string, deviceId: string) => {
      if (this.deviceName(deviceId) !== undefined || this.askedDevices.has(deviceId)) return;
      devices.set(contactPointId, (devices.get(contactPointId) ?? new Set()).add(deviceId));
    };
    const parties = new Set<string>();
    for (const view of views) {
      parties.add(view.requesting).add(view.requested);
      for (const event of view.history) {
        parties.add(event.by);
        note(event.by, event.byDevice);
        for (const receipt of event.receipts) {
          parties.add(receipt.contactPointId);
          note(receipt.contactPointId, receipt.deviceId);
        }
      }
    }
    await this.names.learnParties([...parties]).catch(() => undefined);
    for (const [contactPointId, ids] of devices) {
      for (const id of ids) this.askedDevices.add(id);
      try {
        const found = await this.client.sessions(contactPointId);
        for (const device of found) this.nameDevice(device.deviceId, device.deviceName);
      } catch (error) {
        // Offline: asked again at the next change. Refused (a chain that no longer verifies): not again.
        if (isRetryable(error)) for (const id of ids) this.askedDevices.delete(id);
      }
    }
  }
}

/** A message this device sent about a request, as the history keeps it once the relay stored it. */
function sent(
  messageId: string,
  peer: string,
  at: number,
  content: Omit<RequestAnswer, 'status' | 'grounds'> & Omit<NewRequest, 'kind' | 'legalBasis' | 'deadline'>,
  files: readonly File[],
  request: StoredRequestMark,
): StoredMessage {
  return {
    messageId,
    peer,
    direction: 'out',
    at,
    text: content.text,
    ...(content.subject && { subject: content.subject }),
    ...(content.reference && { reference: content.reference }),
    ...(content.language && { language: content.language }),
    ...(content.handling?.length && { handling: content.handling }),
    priority: 'normal',
    ...(files.length > 0 && { files: files.map((f) => ({ name: f.name, size: f.size, type: f.type })) }),
    state: 'stored',
    request,
  };
}

/** A counterpart not met yet, named by its id until the directory names it. */
function unnamed(contactPointId: string): PartyName {
  return { contactPointId, displayName: contactPointId, role: '', authorityName: '', country: '', networkName: '' };
}
