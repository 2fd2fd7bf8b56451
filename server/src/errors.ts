import type { ErrorBody, ErrorCode, ErrorDetails } from '@liaison/protocol';

const STATUS: Record<ErrorCode, number> = {
  INVALID_INPUT: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  DEVICE_MISMATCH: 409,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  UNKNOWN_ROOT: 403,
  BAD_SIGNATURE: 403,
  EXPIRED: 403,
  NOT_YET_VALID: 403,
  REVOKED: 403,
  CHAIN_MISMATCH: 403,
  BAD_CHALLENGE: 401,
  UNSUPPORTED_VERSION: 400,
  UNAVAILABLE: 503,
  STORAGE_FULL: 507,
  INTERNAL: 500,
};

/** What handlers throw; one place (http and socket alike) turns it into `{ error, message }`. */
export class RelayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
  }

  get status(): number {
    return STATUS[this.code];
  }

  body(): ErrorBody {
    return { error: this.code, message: this.message, ...(this.details && { details: this.details }) };
  }
}

/** Any thrown value as a wire error body. Unknown errors say nothing about the inside. */
export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof RelayError) return error.body();
  if (isStorageFull(error)) return storageFull().body();
  if (isDependencyUnavailable(error)) return { error: 'UNAVAILABLE', message: 'storage is unavailable; retry shortly' };
  if (isUnstorableText(error)) return { error: 'INVALID_INPUT', message: 'text the database cannot store' };
  return { error: 'INTERNAL', message: 'internal error' };
}

/**
 * PostgreSQL's refusal of U+0000 in text (22021) or jsonb (22P05). The schemas refuse control
 * characters before any query; this keeps a string that reaches the database some other way a
 * refusal of the input (its statement failed, so nothing changed), not a failure of the relay.
 */
function isUnstorableText(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '22021' || code === '22P05';
}

export function statusOf(body: ErrorBody): number {
  return STATUS[body.error];
}

export function storageFull(): RelayError {
  return new RelayError('STORAGE_FULL', "the relay's storage is full; retry once space is freed");
}

/**
 * PostgreSQL's disk_full (53100: a table could not grow), or a file write that found no space
 * (attachment chunks in a folder; EDQUOT: a quota).
 */
export function isStorageFull(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '53100' || code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Connection failures of PostgreSQL (pg, its pool) or Redis (ioredis), and PostgreSQL's
 * transaction rollbacks (class 40: deadlock or serialization failure between concurrent batches):
 * retryable, never a false success.
 */
function isDependencyUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return (
    (typeof code === 'string' &&
      (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)$/.test(code) || /^(08|57P0|40)/.test(code))) ||
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|is not queryable|Connection is closed|enableOfflineQueue|max retries per request|the database system is (starting up|shutting down|in recovery mode)/i.test(
      (error as Error)?.message ?? '',
    )
  );
}
