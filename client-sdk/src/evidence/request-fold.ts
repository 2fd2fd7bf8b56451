import {
  decodeBase64url,
  type EvidenceReceipt,
  FINAL_REQUEST_STATUSES,
  MessageContent,
  type RelayReceipt,
  type RequestKind,
  type RequestStatus,
  statusSide,
} from '@liaison/protocol';

/** A signed receipt about one message of a request. */
export interface RequestReceipt {
  kind: 'delivered' | 'acknowledged';
  contactPointId: string;
  deviceId: string;
  at: number;
}

/** One message of a request's history: its opening, a status, or a message about it. */
export interface RequestEvent {
  messageId: string;
  by: string;
  byDevice: string;
  /** The sender's clock when it sent the message. */
  at: number;
  change: 'opened' | 'status' | 'message';
  status?: RequestStatus;
  grounds?: string;
  text: string;
  subject?: string;
  reference?: string;
  attachments: number;
  /** The signed receipts of its recipients' devices and people. */
  receipts: RequestReceipt[];
  /** When the sender's relay signed that it stored it. */
  storedAt?: number;
  /**
   * Why a status it states does not count: stated by the side that may not (only the requesting
   * side withdraws; the requested side states every other status), or after a final status.
   */
  statusIgnored?: string;
}

export interface RequestView {
  requestId: string;
  kind: RequestKind;
  legalBasis: string;
  deadline?: number;
  subject?: string;
  /** The contact point that opened the request. */
  requesting: string;
  /** The contact point it was sent to: the one that states its statuses (members of its escalation chain acknowledge). */
  requested: string;
  references: { requesting?: string; requested?: string };
  /** `open` until the first status. */
  status: RequestStatus | 'open';
  openedAt: number;
  updatedAt: number;
  history: RequestEvent[];
}

/** A signed message as a fold reads it. */
export interface FoldMessage {
  messageId: string;
  from: string;
  fromDevice: string;
  content: MessageContent;
}

export interface FoldReceipt {
  messageId: string;
  kind: 'delivered' | 'acknowledged';
  by: string;
  byDevice: string;
  at: number;
}

/**
 * A request's state from the messages and receipts about it, in the order their senders sent them
 * (then by message id): the same on both sides and in a verified case record. Undefined while its
 * opening message is unknown.
 */
export function foldRequest(
  requestId: string,
  messages: readonly FoldMessage[],
  receipts: readonly FoldReceipt[],
  storedAt: ReadonlyMap<string, number> = new Map(),
): RequestView | undefined {
  const open = messages.find((m) => m.messageId === requestId && m.content.request?.op === 'open');
  if (open?.content.request?.op !== 'open') return undefined;
  // The requested side is the contact point the request was sent to, as its sender sealed it: an
  // escalation chain is the sender's word too, so its members acknowledge, and do not state statuses.
  const requested = open.content.to as string;
  const view: RequestView = {
    requestId,
    kind: open.content.request.kind,
    legalBasis: open.content.request.legalBasis,
    ...(open.content.request.deadline !== undefined && { deadline: open.content.request.deadline }),
    ...(open.content.subject !== undefined && { subject: open.content.subject }),
    requesting: open.from,
    requested,
    references: { ...(open.content.reference !== undefined && { requesting: open.content.reference }) },
    status: 'open',
    openedAt: open.content.sentAt,
    updatedAt: open.content.sentAt,
    history: [],
  };
  const seen = new Set<string>();
  // In the senders' order, not the order this device recorded them: both sides fold the same history.
  const ordered = [...messages].sort(
    (a, b) => a.content.sentAt - b.content.sentAt || (a.messageId < b.messageId ? -1 : 1),
  );
  for (const m of ordered) {
    const request = m.content.request;
    const about = request?.op === 'open' ? m.messageId : request?.requestId;
    if (about !== requestId || seen.has(m.messageId)) continue;
    seen.add(m.messageId);
    const event: RequestEvent = {
      messageId: m.messageId,
      by: m.from,
      byDevice: m.fromDevice,
      at: m.content.sentAt,
      change: request?.op === 'open' ? 'opened' : request?.status ? 'status' : 'message',
      text: m.content.text,
      ...(m.content.subject !== undefined && { subject: m.content.subject }),
      ...(m.content.reference !== undefined && { reference: m.content.reference }),
      attachments: m.content.attachments?.length ?? 0,
      receipts: receipts
        .filter((r) => r.messageId === m.messageId)
        .map((r) => ({ kind: r.kind, contactPointId: r.by, deviceId: r.byDevice, at: r.at })),
      ...(storedAt.has(m.messageId) && { storedAt: storedAt.get(m.messageId) }),
    };
    if (request?.op === 'update') {
      if (request.grounds !== undefined) event.grounds = request.grounds;
      const fromRequested = m.from === requested;
      if (fromRequested && m.content.reference !== undefined) view.references.requested = m.content.reference;
      if (request.status) {
        event.status = request.status;
        const side = statusSide(request.status);
        if (view.status !== 'open' && FINAL_REQUEST_STATUSES.includes(view.status)) {
          event.statusIgnored = `the request was already ${view.status}`;
        } else if (side === 'requesting' ? m.from !== view.requesting : !fromRequested) {
          event.statusIgnored = `only the ${side} side states "${request.status}"`;
        } else {
          view.status = request.status;
        }
      }
    }
    view.updatedAt = Math.max(view.updatedAt, m.content.sentAt);
    view.history.push(event);
  }
  return view;
}

/** Entries of a log or a record, as far as a fold reads them. */
export type FoldEntry =
  | { type: 'message'; messageId: string; from: string; fromDevice: string; content: string }
  | { type: 'receipt'; receipt: EvidenceReceipt }
  | { type: 'relay-receipt'; receipt: RelayReceipt };

/** The messages (first copy of each), receipts and relay times in entries, for `foldRequest`. */
export function foldInputs(entries: readonly FoldEntry[]) {
  const messages: FoldMessage[] = [];
  const receipts: FoldReceipt[] = [];
  const storedAt = new Map<string, number>();
  for (const entry of entries) {
    if (entry.type === 'message') {
      const content = parseContent(entry.content);
      if (content)
        messages.push({ messageId: entry.messageId, from: entry.from, fromDevice: entry.fromDevice, content });
    } else if (entry.type === 'receipt') {
      const { messageId, kind, by, byDevice, at } = entry.receipt;
      receipts.push({ messageId, kind, by, byDevice, at });
    } else {
      storedAt.set(entry.receipt.messageId, entry.receipt.storedAt);
    }
  }
  return { messages, receipts, storedAt };
}

/** A message's content from its base64url bytes; undefined for receipts' content or anything unreadable. */
export function parseContent(base64url: string): MessageContent | undefined {
  try {
    const bytes = decodeBase64url(base64url);
    if (!bytes) return undefined;
    const parsed = MessageContent.safeParse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
