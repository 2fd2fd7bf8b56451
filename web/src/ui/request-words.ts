// A request's kind and status in the reader's language, and which statuses a side may state.
import { REQUEST_STATUSES, type RequestKind, type RequestStatus, type RequestView } from '@liaison/client';
import { t } from '../i18n/i18n.js';

export function kindName(kind: RequestKind): string {
  return t(`request.kind.${kind}`);
}

export function statusName(status: RequestStatus | 'open'): string {
  return t(`request.status.${status}`);
}

/**
 * The protocol's rules, which the SDK enforces (INVALID_INPUT) but does not export: after one of
 * these a request takes no status; the requesting side only withdraws, the requested side states
 * every other status. The page offers only what the SDK will accept.
 */
const FINAL: readonly RequestStatus[] = ['executed', 'refused', 'withdrawn'];

export function isClosed(view: RequestView): boolean {
  return view.status !== 'open' && FINAL.includes(view.status);
}

export function statusesFor(side: 'requesting' | 'requested'): RequestStatus[] {
  return REQUEST_STATUSES.filter((s) => (side === 'requesting') === (s === 'withdrawn'));
}

/** A badge's class for a status: done, stopped, or in progress. */
export function statusTone(status: RequestStatus | 'open'): string {
  if (status === 'executed') return 'ok';
  if (status === 'refused' || status === 'withdrawn') return 'stopped';
  if (status === 'further-information-needed') return 'warning';
  return 'progress';
}
