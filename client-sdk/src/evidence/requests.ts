import {
  FINAL_REQUEST_STATUSES,
  type RequestContent,
  type RequestKind,
  type RequestStatus,
  type RequestUpdate,
  requestUpdateProblem,
  statusSide,
} from '@liaison/protocol';
import type { OutgoingMessage } from '../client/content.js';
import type { SendOptions } from '../client/outbox.js';
import { LiaisonError } from '../errors.js';
import type { EvidenceLog } from './evidence-log.js';
import { foldInputs, foldRequest, type RequestView } from './request-fold.js';

export interface OpenRequest extends OutgoingMessage {
  kind: RequestKind;
  legalBasis: string;
  /** When the requesting side needs it executed (this device's clock, ms). */
  deadline?: number;
}

export interface UpdateRequest extends Partial<OutgoingMessage> {
  /** Absent: a message about the request that changes no status. */
  status?: RequestStatus;
  /** Required with `refused`; allowed with `further-information-needed`. */
  grounds?: string;
}

type Send = (
  contactPointId: string,
  message: OutgoingMessage & { request: RequestContent },
  options?: SendOptions,
) => Promise<{ messageId: string; serverTime: number }>;

/**
 * Requests between authorities (docs/evidence.md): opened by a message, followed by status updates,
 * each an end-to-end encrypted message signed by its sender, linked to the request. Their state is
 * folded from the evidence log on each call, the same way on both sides.
 */
export class Requests {
  constructor(
    private readonly self: string,
    private readonly log: EvidenceLog,
    private readonly send: Send,
  ) {}

  /**
   * Opens a request with a contact point; resolves with its id (the opening message's) once the
   * relay stored it. Like `send`, it can be repeated with the same `messageId` after a failure.
   */
  async open(
    contactPointId: string,
    request: OpenRequest,
    options: SendOptions = {},
  ): Promise<{ requestId: string; serverTime: number }> {
    const { kind, legalBasis, deadline, ...message } = request;
    const sent = await this.send(
      contactPointId,
      { ...message, request: { op: 'open', kind, legalBasis, ...(deadline !== undefined && { deadline }) } },
      options,
    );
    return { requestId: sent.messageId, serverTime: sent.serverTime };
  }

  /**
   * Sends a message about a request, stating a new status or not. Refused here (INVALID_INPUT) when
   * the status is not this side's to state, or the request already ended.
   */
  async update(
    requestId: string,
    update: UpdateRequest,
    options: Omit<SendOptions, 'urgent'> = {},
  ): Promise<{ messageId: string; serverTime: number }> {
    const view = await this.get(requestId);
    if (!view) throw new LiaisonError('NOT_FOUND', `this device holds no request ${requestId}`);
    const { status, grounds, ...message } = update;
    const body: RequestUpdate = {
      op: 'update',
      requestId,
      ...(status && { status }),
      ...(grounds !== undefined && { grounds }),
    };
    const problem = requestUpdateProblem(body) ?? (status && this.statusProblem(view, status));
    if (problem) throw new LiaisonError('INVALID_INPUT', problem);
    const peer = view.requesting === this.self ? view.requested : view.requesting;
    return this.send(peer, { text: '', ...message, request: body }, options);
  }

  /** Every request this device holds, the latest change first. */
  async list(): Promise<RequestView[]> {
    const views = await Promise.all((await this.log.requests()).map((r) => this.fold(r.requestId, r.peer)));
    return views.filter((v): v is RequestView => v !== undefined).sort((a, b) => b.updatedAt - a.updatedAt);
  }

  async get(requestId: string): Promise<RequestView | undefined> {
    const peer = (await this.log.requests()).find((r) => r.requestId === requestId)?.peer;
    return peer === undefined ? undefined : this.fold(requestId, peer);
  }

  private async fold(requestId: string, peer: string): Promise<RequestView | undefined> {
    const { messages, receipts, storedAt } = foldInputs(await this.log.entries(peer));
    return foldRequest(requestId, messages, receipts, storedAt);
  }

  private statusProblem(view: RequestView, status: RequestStatus): string | undefined {
    if (view.status !== 'open' && FINAL_REQUEST_STATUSES.includes(view.status))
      return `request ${view.requestId} is already ${view.status}`;
    const side = view.requesting === this.self ? 'requesting' : view.requested === this.self ? 'requested' : undefined;
    if (!side) return `only "${view.requested}" states the status of request ${view.requestId}`;
    if (statusSide(status) !== side) return `"${status}" is for the ${statusSide(status)} side to state`;
    return undefined;
  }
}
