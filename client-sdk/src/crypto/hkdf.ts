import { sodium } from './sodium.js';

const HASH_LENGTH = 32;

/**
 * What HKDF and the chain step need of libsodium's WebAssembly module: libsodium.js wraps
 * crypto_kdf_hkdf_sha256's constants but not its functions, which the module exports as they are
 * in C (a 64-bit length as two 32-bit halves).
 */
interface LibsodiumExports {
  HEAPU8: Uint8Array;
  _malloc(size: number): number;
  _free(address: number): void;
  _crypto_auth_hmacsha256(out: number, data: number, dataLength: number, dataLengthHigh: 0, key: number): number;
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
 * Runs `work` on `size` bytes of libsodium's memory, from `at`; wiped and freed after it, since
 * what it holds are keys. `work` reads `module.HEAPU8` itself: memory that grew is a new buffer.
 */
function inLibsodiumMemory<T>(size: number, work: (module: LibsodiumExports, at: number) => T): T {
  const module = (sodium() as unknown as { libsodium: LibsodiumExports }).libsodium;
  const at = module._malloc(size);
  if (at === 0) throw new Error('libsodium could not allocate memory');
  try {
    return work(module, at);
  } finally {
    module.HEAPU8.fill(0, at, at + size);
    module._free(at);
  }
}

const refused = () => new Error('libsodium refused a key derivation step');

/**
 * HMAC-SHA-256 of each of `messages` under one 32-byte key, in one stretch of libsodium's memory:
 * a ratchet's chain step, two HMACs of one chain key, copies the key in once.
 */
export function hmacSha256Each(key: Uint8Array, messages: readonly Uint8Array[]): Uint8Array[] {
  if (key.length !== HASH_LENGTH) throw new RangeError('hmacSha256Each takes a 32-byte key');
  const size = HASH_LENGTH * (1 + messages.length) + messages.reduce((sum, m) => sum + m.length, 0);
  return inLibsodiumMemory(size, (module, keyAt) => {
    module.HEAPU8.set(key, keyAt);
    let dataAt = keyAt + HASH_LENGTH * (1 + messages.length);
    return messages.map((data, i) => {
      const out = keyAt + HASH_LENGTH * (1 + i);
      module.HEAPU8.set(data, dataAt);
      if (module._crypto_auth_hmacsha256(out, dataAt, data.length, 0, keyAt) !== 0) throw refused();
      dataAt += data.length;
      return module.HEAPU8.slice(out, out + HASH_LENGTH);
    });
  });
}

/**
 * HKDF-SHA-256 (RFC 5869), extract then expand: libsodium's crypto_kdf_hkdf_sha256, called through
 * the module's own exports in one stretch of its memory: two calls, where the RFC's steps written
 * as HMAC calls through libsodium.js made one per block, each copying its inputs in and out. An
 * empty salt is the RFC's "not provided": HMAC pads an empty key and 32 zero bytes to the same block.
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (length < 1 || length > 255 * HASH_LENGTH) throw new RangeError('HKDF output length out of range');
  const size = HASH_LENGTH + salt.length + ikm.length + info.length + length;
  return inLibsodiumMemory(size, (module, prk) => {
    const saltAt = prk + HASH_LENGTH;
    const ikmAt = saltAt + salt.length;
    const infoAt = ikmAt + ikm.length;
    const out = infoAt + info.length;
    module.HEAPU8.set(salt, saltAt);
    module.HEAPU8.set(ikm, ikmAt);
    module.HEAPU8.set(info, infoAt);
    if (
      module._crypto_kdf_hkdf_sha256_extract(prk, saltAt, salt.length, ikmAt, ikm.length) !== 0 ||
      module._crypto_kdf_hkdf_sha256_expand(out, length, infoAt, info.length, prk) !== 0
    ) {
      throw refused();
    }
    return module.HEAPU8.slice(out, out + length);
  });
}
