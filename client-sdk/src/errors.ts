import { type ERROR_CODES, type ErrorBody, RETRYABLE_ERROR_CODES } from '@liaison/protocol';

/** Failures the SDK itself detects, beside the relay's wire codes. */
export const CLIENT_ERROR_CODES = [
  /** A ciphertext failed authentication, or its session could not be found or rebuilt. */
  'DECRYPT_FAILED',
  /** A message was already decrypted once (a replay or a redelivery). */
  'DUPLICATE_MESSAGE',
  /** A peer's identity key is not the one recorded, or not the one its certificate names. */
  'UNTRUSTED_IDENTITY',
  /** A message claims more skipped messages than a session will hold keys for. */
  'TOO_MANY_SKIPPED',
  /** Bytes that are not a Liaison message of this version. */
  'INVALID_MESSAGE',
  /** The relay's envelope contradicts what the sender sealed in the message (id, priority, escalation level). */
  'ENVELOPE_MISMATCH',
  /** A prekey a message refers to is not (or no longer) in the key store. */
  'MISSING_PREKEY',
  /**
   * A device whose certificate says it speaks post-quantum hybrid sessions came without a KEM
   * prekey: the relay left it out. The SDK never falls back to a classical session with it.
   */
  'DOWNGRADE_REFUSED',
  /**
   * A room's message or change from a contact point that is not a member of it (as this device
   * holds the room's history), or an action on a room this contact point is no longer in.
   */
  'NOT_A_MEMBER',
  /** No session with that device, and nothing to start one with. */
  'NO_SESSION',
  /** The key store's passphrase or key is wrong, or its file was altered. */
  'KEY_STORE_LOCKED',
  /**
   * A key store could not save a change (storage full, a transaction aborted, the database deleted):
   * it refuses every call until opened again, so that nothing goes on from a state it did not save.
   */
  'KEY_STORE_FAILED',
  /**
   * A record in the key store cannot be read by this SDK: it is malformed, or it was written by a
   * newer one (a session record written by this SDK is not read by an older one). Nothing was
   * decided: a message it concerns stays unacknowledged, and the relay offers it again.
   */
  'KEY_STORE_UNREADABLE',
  /** The key store holds no identity yet. */
  'NO_IDENTITY',
  /** A browser API the SDK needs (WebCrypto's subtle, Web Locks) exists only in secure contexts: https or localhost. */
  'INSECURE_CONTEXT',
  /** The device's key store is open in another tab or window of this browser (docs/browser.md). */
  'DEVICE_IN_USE',
  /** The relay answers, but not to this page's origin: it is not in the relay's LIAISON_CORS_ORIGINS. */
  'CORS_REFUSED',
] as const;

export type LiaisonErrorCode = (typeof ERROR_CODES)[number] | (typeof CLIENT_ERROR_CODES)[number];

/** The one error type the SDK throws. Switch on `code`; show `message`. */
export class LiaisonError extends Error {
  override readonly name = 'LiaisonError';

  constructor(
    readonly code: LiaisonErrorCode,
    message: string,
    readonly details?: ErrorBody['details'],
  ) {
    super(message);
  }

  /** The relay's error body, as an SDK error. */
  static fromWire(body: ErrorBody): LiaisonError {
    return new LiaisonError(body.error, body.message, body.details);
  }
}

export function isLiaisonError(value: unknown, code?: LiaisonErrorCode): value is LiaisonError {
  return value instanceof LiaisonError && (code === undefined || value.code === code);
}

/** A refusal that may pass if the same request is made again later (relay away, busy or full). */
export function isRetryable(value: unknown): value is LiaisonError {
  return isLiaisonError(value) && (RETRYABLE_ERROR_CODES as ReadonlySet<string>).has(value.code);
}
