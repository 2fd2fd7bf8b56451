import { type ErrorBody, type ErrorCode, type ErrorDetails, parseInput } from '@liaison/protocol';
import type { z } from 'zod';
import type { Logger } from './log.js';
import type { RelayMetrics } from './metrics.js';

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
  UPGRADE_REQUIRED: 426,
  UNAVAILABLE: 503,
  STORAGE_FULL: 507,
  INTERNAL: 500,
};

/**
 * What handlers throw; one place (http and socket alike) turns any failure into one (toRelayError),
 * and its body and status into the answer. `status` replaces the code's own HTTP status where the
 * HTTP layer needs a more exact one (431, 408).
 */
export class RelayError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
    status?: number,
  ) {
    super(message);
    this.status = status ?? STATUS[code];
  }

  body(): ErrorBody {
    return { error: this.code, message: this.message, ...(this.details && { details: this.details }) };
  }
}

/** Input as its schema makes it; refused (INVALID_INPUT or PAYLOAD_TOO_LARGE) if it does not match. */
export function checked<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = parseInput(schema, input);
  if (!parsed.ok) throw new RelayError(parsed.error.error, parsed.error.message, parsed.error.details);
  return parsed.value;
}

/** Any thrown value as a relay error. Unknown errors say nothing about the inside. */
export function toRelayError(error: unknown): RelayError {
  if (error instanceof RelayError) return error;
  if (isStorageFull(error)) return storageFull();
  if (isDependencyUnavailable(error)) return new RelayError('UNAVAILABLE', 'storage is unavailable; retry shortly');
  if (isUnstorableText(error)) return new RelayError('INVALID_INPUT', 'text the database cannot store');
  return frameworkRefusal(error) ?? new RelayError('INTERNAL', 'internal error');
}

/** Any thrown value as a wire error body. */
export function toErrorBody(error: unknown): ErrorBody {
  return toRelayError(error).body();
}

/**
 * What the log says of a failure: its kind, code and message, and for an INTERNAL one where it
 * happened (the stack's frames, code locations only, and likewise its cause's). Never request data:
 * the message is bounded as before, and the frames carry no values.
 */
export function failureForLog(error: unknown, depth = 0): Record<string, unknown> {
  const e = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown; cause?: unknown };
  const internal = toRelayError(error).code === 'INTERNAL';
  const frames =
    internal && typeof e.stack === 'string'
      ? e.stack
          .split('\n')
          .filter((line) => /^\s+at /.test(line))
          .slice(0, 30)
          .map((line) => line.trim())
      : [];
  return {
    name: e.name,
    code: e.code,
    message: typeof e.message === 'string' ? e.message.slice(0, 200) : undefined,
    ...(frames.length > 0 && { stack: frames.join('\n') }),
    ...(internal && e.cause !== undefined && depth < 3 && { cause: failureForLog(e.cause, depth + 1) }),
  };
}

/**
 * A request's or event's failure as its client will get it, counted by code; logged, with the id
 * the client is given, when it is the relay's (INTERNAL, UNAVAILABLE), not the client's.
 */
export function reportFailure(
  deps: { log: Logger; metrics: RelayMetrics },
  error: unknown,
  context: { event: string; requestId: string } & Record<string, unknown>,
): RelayError {
  const failure = toRelayError(error);
  deps.metrics.errors.inc({ code: failure.code });
  if (failure.code === 'INTERNAL' || failure.code === 'UNAVAILABLE') {
    deps.log.error({ ...context, err: failureForLog(error) }, 'request failed');
  }
  return failure;
}

/**
 * Failures raised by express itself (body parsing, a path that does not decode): they carry a 4xx
 * status, and are the client's.
 */
function frameworkRefusal(error: unknown): RelayError | undefined {
  const { type, status, limit } = (error ?? {}) as { type?: string; status?: number; limit?: number };
  if (type === 'entity.too.large') return new RelayError('PAYLOAD_TOO_LARGE', `body over ${limit} bytes`);
  if (type === 'entity.parse.failed') return new RelayError('INVALID_INPUT', 'body is not valid JSON');
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  return new RelayError('INVALID_INPUT', 'malformed request');
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
