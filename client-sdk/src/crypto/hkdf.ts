import { inLibsodiumMemory, type Stretch } from './sodium.js';

const HASH_LENGTH = 32;

const refused = () => new Error('libsodium refused a key derivation step');

/** RFC 5869: an output of 1 to 255 blocks. */
function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 1 || length > 255 * HASH_LENGTH) {
    throw new RangeError('HKDF output length out of range');
  }
}

/**
 * HMAC-SHA-256 of each of `messages` under one 32-byte key, in one stretch of libsodium's memory:
 * a ratchet's chain step, two HMACs of one chain key, copies the key in once.
 */
export function hmacSha256Each(key: Uint8Array, messages: readonly Uint8Array[]): Uint8Array[] {
  if (key.length !== HASH_LENGTH) throw new RangeError('hmacSha256Each takes a 32-byte key');
  const size = HASH_LENGTH * (1 + messages.length) + messages.reduce((sum, m) => sum + m.length, 0);
  return inLibsodiumMemory(size, (stretch) => {
    const keyAt = stretch.put(key);
    return messages.map((data) => {
      const out = stretch.reserve(HASH_LENGTH);
      const dataAt = stretch.put(data);
      if (stretch.module._crypto_auth_hmacsha256(out, dataAt, data.length, 0, keyAt) !== 0) throw refused();
      return stretch.read(out, HASH_LENGTH);
    });
  });
}

/** Bytes of libsodium's memory `hkdfInto` takes besides its output. */
export const hkdfSpace = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array) =>
  HASH_LENGTH + salt.length + ikm.length + info.length;

/**
 * HKDF-SHA-256 (RFC 5869) into `length` bytes at `out` in `stretch`, which has `hkdfSpace` bytes
 * more for the PRK and the inputs: libsodium's crypto_kdf_hkdf_sha256, extract then expand. An
 * empty salt is the RFC's "not provided": HMAC pads an empty key and 32 zero bytes to the same block.
 */
export function hkdfInto(
  stretch: Stretch,
  out: number,
  length: number,
  ikm: Uint8Array,
  salt: Uint8Array,
  info: Uint8Array,
): void {
  checkLength(length);
  const { module } = stretch;
  const prk = stretch.reserve(HASH_LENGTH);
  const saltAt = stretch.put(salt);
  const ikmAt = stretch.put(ikm);
  const infoAt = stretch.put(info);
  if (
    module._crypto_kdf_hkdf_sha256_extract(prk, saltAt, salt.length, ikmAt, ikm.length) !== 0 ||
    module._crypto_kdf_hkdf_sha256_expand(out, length, infoAt, info.length, prk) !== 0
  ) {
    throw refused();
  }
}

/**
 * HKDF-SHA-256 (RFC 5869) through libsodium's own functions (`hkdfInto`): two calls in one
 * stretch of its memory, where the RFC's steps written as HMAC calls through libsodium.js made one
 * per block, each copying its inputs in and out.
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  checkLength(length);
  return inLibsodiumMemory(length + hkdfSpace(ikm, salt, info), (stretch) => {
    const out = stretch.reserve(length);
    hkdfInto(stretch, out, length, ikm, salt, info);
    return stretch.read(out, length);
  });
}
