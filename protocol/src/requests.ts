import { z } from 'zod';
import { MessageId, MultilineString, Timestamp, text } from './primitives.js';

/**
 * Requests between authorities (mutual legal assistance, preservation...) and their status, carried
 * inside the end-to-end encrypted content of ordinary messages: the relay sees envelopes only.
 * A request is opened by a message (its id is the request's id); each later message about it names
 * it, and may state a new status. Both SDKs fold the same messages into the same state.
 */

export const REQUEST_KINDS = [
  'mutual-legal-assistance',
  'extradition',
  'preservation',
  'spontaneous-information',
  'other',
] as const;
export const RequestKind = z.enum(REQUEST_KINDS);
export type RequestKind = z.infer<typeof RequestKind>;

export const REQUEST_STATUSES = [
  'received',
  'registered',
  'in-execution',
  'further-information-needed',
  'partially-executed',
  'executed',
  'refused',
  'withdrawn',
] as const;
export const RequestStatus = z.enum(REQUEST_STATUSES);
export type RequestStatus = z.infer<typeof RequestStatus>;

/** After one of these, a request takes no further status. */
export const FINAL_REQUEST_STATUSES: readonly RequestStatus[] = ['executed', 'refused', 'withdrawn'];

/**
 * Who may state a status: the requesting side only withdraws; every other status is the requested
 * side's (the contact point the request was sent to, or a member of its escalation chain).
 */
export function statusSide(status: RequestStatus): 'requesting' | 'requested' {
  return status === 'withdrawn' ? 'requesting' : 'requested';
}

export const RequestOpen = z.strictObject({
  op: z.literal('open'),
  kind: RequestKind,
  /** The legal basis cited (a treaty, a convention, reciprocity), in the sender's words. */
  legalBasis: text(2000).min(1),
  /** When the requesting side needs it executed. */
  deadline: Timestamp.optional(),
});
export type RequestOpen = z.infer<typeof RequestOpen>;

export const RequestUpdate = z.strictObject({
  op: z.literal('update'),
  /** The message id of the request's opening message. */
  requestId: MessageId,
  /** Absent: a message about the request that changes nothing (an answer to a question, a document). */
  status: RequestStatus.optional(),
  /** Why it is refused; required with `refused`. */
  grounds: MultilineString.max(4000).optional(),
});
export type RequestUpdate = z.infer<typeof RequestUpdate>;

export const RequestContent = z.discriminatedUnion('op', [RequestOpen, RequestUpdate]);
export type RequestContent = z.infer<typeof RequestContent>;

/** The rules of an update that the schema alone cannot say; undefined when it is well formed. */
export function requestUpdateProblem(update: RequestUpdate): string | undefined {
  if (update.status === 'refused' && !update.grounds?.trim()) return 'a refusal states its grounds';
  if (update.grounds !== undefined && update.status !== 'refused' && update.status !== 'further-information-needed')
    return 'grounds go with a refusal or a request for further information';
  return undefined;
}
