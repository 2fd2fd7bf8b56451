// A failure, in the practitioner's words: the SDK's stable code picks the message; the SDK's own
// message (English, for developers) is not shown to them.
import { isLiaisonError } from '@liaison/client';
import { type MessageKey, t } from '../i18n/i18n.js';

const KNOWN: Record<string, MessageKey> = {
  KEY_STORE_LOCKED: 'error.KEY_STORE_LOCKED',
  KEY_STORE_FAILED: 'error.KEY_STORE_FAILED',
  DEVICE_IN_USE: 'error.DEVICE_IN_USE',
  INSECURE_CONTEXT: 'error.INSECURE_CONTEXT',
  UNTRUSTED_IDENTITY: 'error.UNTRUSTED_IDENTITY',
  UNKNOWN_ROOT: 'error.UNKNOWN_ROOT',
  CHAIN_MISMATCH: 'error.CHAIN_MISMATCH',
  FORBIDDEN: 'error.FORBIDDEN',
  STORAGE_FULL: 'error.STORAGE_FULL',
  QUOTA_EXCEEDED: 'error.STORAGE_FULL',
  BAD_SIGNATURE: 'error.BAD_SIGNATURE',
  EXPIRED: 'error.EXPIRED',
  NOT_YET_VALID: 'error.NOT_YET_VALID',
  REVOKED: 'error.REVOKED',
  INVALID_INPUT: 'error.INVALID_INPUT',
  UNAVAILABLE: 'error.UNAVAILABLE',
  UPGRADE_REQUIRED: 'error.UPGRADE_REQUIRED',
  CORS_REFUSED: 'error.UNAVAILABLE',
  NOT_FOUND: 'error.NOT_FOUND',
  PAYLOAD_TOO_LARGE: 'error.PAYLOAD_TOO_LARGE',
  RATE_LIMITED: 'error.RATE_LIMITED',
  NOT_A_MEMBER: 'error.NOT_A_MEMBER',
};

export function errorCode(error: unknown): string {
  return isLiaisonError(error) ? error.code : 'INTERNAL';
}

export function describeError(error: unknown): string {
  return describeCode(errorCode(error));
}

export function describeCode(code: string): string {
  const key = KNOWN[code];
  return key ? t(key) : t('error.other', { code });
}

const ROOM: Record<string, MessageKey> = {
  FORBIDDEN: 'room.error.forbidden',
  NOT_A_MEMBER: 'room.error.notMember',
  CONFLICT: 'room.error.already',
  QUOTA_EXCEEDED: 'room.error.full',
  NOT_FOUND: 'room.error.notFound',
};

/** A room's refusals in a room's words: the relay has no part in them (the SDK checks the membership). */
export function describeRoomError(error: unknown): string {
  const key = ROOM[errorCode(error)];
  return key ? t(key) : describeError(error);
}
