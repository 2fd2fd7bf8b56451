import { concat } from './bytes.js';
import { sodium } from './sodium.js';

const HASH_LENGTH = 32;

/** HMAC-SHA-256 with a key of any length (libsodium's multi-part API takes any key size; its one-shot one, 32 bytes). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  const s = sodium();
  // Every key on the message path is 32 bytes: one call into libsodium instead of three (the same HMAC).
  if (key.length === s.crypto_auth_hmacsha256_KEYBYTES) return s.crypto_auth_hmacsha256(data, key);
  const state = s.crypto_auth_hmacsha256_init(key);
  s.crypto_auth_hmacsha256_update(state, data);
  return s.crypto_auth_hmacsha256_final(state);
}

/**
 * HKDF-SHA-256 (RFC 5869), extract then expand, on libsodium's HMAC-SHA-256. The
 * construction is the RFC's; the primitive underneath is libsodium's.
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length < 1 || length > 255 * HASH_LENGTH) throw new RangeError('HKDF output length out of range');
  const prk = hmacSha256(salt.length === 0 ? new Uint8Array(HASH_LENGTH) : salt, ikm);
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++) {
    previous = hmacSha256(prk, concat(previous, info, Uint8Array.of(i)));
    out.set(previous.subarray(0, Math.min(HASH_LENGTH, length - offset)), offset);
    offset += HASH_LENGTH;
  }
  return out;
}
