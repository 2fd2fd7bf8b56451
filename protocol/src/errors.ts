import { z } from 'zod';
import { PlainString } from './primitives.js';

/**
 * The closed list of error codes on the wire. A code never changes meaning once released;
 * clients switch on it, people read `message`.
 */
export const ERROR_CODES = [
  /** The input does not match its schema. Nothing was changed. */
  'INVALID_INPUT',
  /** The input is larger than a limit in LIMITS. Nothing was changed. */
  'PAYLOAD_TOO_LARGE',
  /** No valid proof of a device key accompanied the request. */
  'UNAUTHENTICATED',
  /** The authenticated device may not do this. */
  'FORBIDDEN',
  'NOT_FOUND',
  /** The request conflicts with stored state (for example an identity already bound to another key). */
  'CONFLICT',
  /** A send did not cover exactly the recipient's current devices; details list the difference. */
  'DEVICE_MISMATCH',
  /** Too many requests; details carry retryAfterMs. */
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  /** A certificate chain ends at a root key that is not configured as trusted. */
  'UNKNOWN_ROOT',
  'BAD_SIGNATURE',
  'EXPIRED',
  'NOT_YET_VALID',
  'REVOKED',
  /** The links of a certificate chain do not name each other, or an escalation chain leaves its authority. */
  'CHAIN_MISMATCH',
  /** An authentication challenge is unknown, expired or already used. */
  'BAD_CHALLENGE',
  'UNSUPPORTED_VERSION',
  /**
   * The client speaks another revision of the socket events than the relay (the handshake query's
   * `events`, SOCKET_EVENTS_REVISION): an older SDK, or a page loaded before the relay was upgraded.
   * Retrying cannot fix it: update the client, or reload the page.
   */
  'UPGRADE_REQUIRED',
  /** A dependency (database) is unavailable; the request can be retried unchanged. */
  'UNAVAILABLE',
  /**
   * The relay's storage is full: it refuses what would be stored until space is freed, and serves
   * the rest. Nothing was changed; the request can be retried unchanged, later.
   */
  'STORAGE_FULL',
  /** Something failed inside the relay; the message says nothing more on purpose. */
  'INTERNAL',
] as const;

export const ErrorCode = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCode>;

const DeviceIdList = z.array(PlainString.max(64)).max(64);

export const ErrorDetails = z.strictObject({
  missingDevices: DeviceIdList.optional(),
  extraDevices: DeviceIdList.optional(),
  retryAfterMs: z.int().min(0).optional(),
  /** For input errors: where in the input the first problem is. */
  path: PlainString.max(200).optional(),
});
export type ErrorDetails = z.infer<typeof ErrorDetails>;

/** What every failed HTTP response and socket acknowledgement carries. */
export const ErrorBody = z.strictObject({
  error: ErrorCode,
  message: PlainString.max(500),
  details: ErrorDetails.optional(),
  /** The relay's id for the request or event; its logs carry the same id. Quote it when reporting a problem. */
  requestId: PlainString.regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Codes a client may retry unchanged, because the request itself was fine. */
export const RETRYABLE_ERROR_CODES: ReadonlySet<ErrorCode> = new Set(['UNAVAILABLE', 'RATE_LIMITED', 'STORAGE_FULL']);

export function isErrorBody(value: unknown): value is ErrorBody {
  return ErrorBody.safeParse(value).success;
}
