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
 * What HKDF needs of libsodium's WebAssembly module: libsodium.js wraps crypto_kdf_hkdf_sha256's
 * constants but not its functions, which the module exports as they are in C.
 */
interface LibsodiumExports {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(address: number): void;
  _crypto_kdf_hkdf_sha256_extract(
    prk: number,
    salt: number,
    saltLength: number,
    ikm: number,
    ikmLength: number,
  ): number;
  _crypto_kdf_hkdf_sha256_expand(out: number, outLength: number, info: number, infoLength: number, prk: number): number;
}

/**
 * HKDF-SHA-256 (RFC 5869), extract then expand: libsodium's crypto_kdf_hkdf_sha256, called through
 * the module's own exports in one stretch of its memory: two calls, where the RFC's steps written
 * as HMAC calls through libsodium.js made one per block, each copying its inputs in and out. An empty salt is the RFC's
 * "not provided": HMAC pads an empty key and 32 zero bytes to the same block.
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length < 1 || length > 255 * HASH_LENGTH) throw new RangeError('HKDF output length out of range');
  const module = (sodium() as unknown as { libsodium: LibsodiumExports }).libsodium;
  const size = HASH_LENGTH + salt.length + ikm.length + info.length + length;
  const prk = module._malloc(size);
  if (prk === 0) throw new Error('libsodium could not allocate memory for HKDF');
  const saltAt = prk + HASH_LENGTH;
  const ikmAt = saltAt + salt.length;
  const infoAt = ikmAt + ikm.length;
  const out = infoAt + info.length;
  try {
    // Read after _malloc: memory that grew is a new buffer.
    const heap = module.HEAPU8;
    heap.set(salt, saltAt);
    heap.set(ikm, ikmAt);
    heap.set(info, infoAt);
    if (
      module._crypto_kdf_hkdf_sha256_extract(prk, saltAt, salt.length, ikmAt, ikm.length) !== 0 ||
      module._crypto_kdf_hkdf_sha256_expand(out, length, infoAt, info.length, prk) !== 0
    ) {
      throw new Error('libsodium refused an HKDF step');
    }
    return module.HEAPU8.slice(out, out + length);
  } finally {
    // The input key material, the PRK and the output are keys: none stays in libsodium's memory.
    module.HEAPU8.fill(0, prk, prk + size);
    module._free(prk);
  }
}
