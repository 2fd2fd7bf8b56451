import sodiumModule from 'libsodium-wrappers-sumo';

/**
 * The only source of cryptographic primitives in the SDK. libsodium compiles to WebAssembly and
 * must be initialised once; every entry point of the SDK awaits `ready()` first.
 */
let initialised = false;

export async function ready(): Promise<void> {
  if (initialised) return;
  await sodiumModule.ready;
  initialised = true;
}

export type Sodium = typeof sodiumModule;

/** libsodium, after ready(). Throws if used before, instead of failing obscurely inside wasm. */
export function sodium(): Sodium {
  if (!initialised) throw new Error('libsodium is not initialised: await ready() first');
  return sodiumModule;
}

/**
 * `n` random bytes from the platform's generator (WebCrypto's getRandomValues, which every browser
 * context and Node have), in one call. libsodium.js reads the same generator a few bytes per call,
 * which made 32 random bytes cost more than an X25519 operation (docs/performance.md).
 */
export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/**
 * What the SDK calls in libsodium's WebAssembly module directly: functions libsodium.js does not
 * wrap (HKDF), or whose inputs and outputs should not pass through JavaScript one call at a time.
 * As exported from C: a 64-bit length is two 32-bit halves.
 */
export interface LibsodiumExports {
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
  _crypto_aead_xchacha20poly1305_ietf_encrypt(
    sealed: number,
    sealedLengthAddress: 0,
    message: number,
    messageLength: number,
    messageLengthHigh: 0,
    ad: number,
    adLength: number,
    adLengthHigh: 0,
    nsec: 0,
    nonce: number,
    key: number,
  ): number;
  _crypto_aead_xchacha20poly1305_ietf_decrypt(
    message: number,
    messageLengthAddress: 0,
    nsec: 0,
    sealed: number,
    sealedLength: number,
    sealedLengthHigh: 0,
    ad: number,
    adLength: number,
    adLengthHigh: 0,
    nonce: number,
    key: number,
  ): number;
}

/** A stretch of libsodium's memory, filled from its start. */
export interface Stretch {
  module: LibsodiumExports;
  /** Copies `bytes` in; returns where. */
  put(bytes: Uint8Array): number;
  /** Keeps `length` bytes for an output; returns where. */
  reserve(length: number): number;
  /** A copy of `length` bytes from `at`. */
  read(at: number, length: number): Uint8Array;
}

/** The largest stretch asked for: WebAssembly's 32-bit addresses, with room to spare. */
const MAX_STRETCH = 2 ** 31 - 1;

/**
 * Runs `work` on `size` bytes of libsodium's memory, wiped and freed after it: what passes through
 * it are keys. Memory that grew is a new buffer, so `HEAPU8` is read at each use.
 */
export function inLibsodiumMemory<T>(size: number, work: (stretch: Stretch) => T): T {
  // _malloc takes its size modulo 2^32: a larger one would be a smaller stretch than checked below.
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_STRETCH) {
    throw new RangeError(`no stretch of ${size} bytes of libsodium memory`);
  }
  const module = (sodium() as unknown as { libsodium: LibsodiumExports }).libsodium;
  const start = module._malloc(size);
  if (start === 0) throw new Error('libsodium could not allocate memory');
  let next = start;
  const reserve = (length: number) => {
    if (length < 0 || next + length > start + size) throw new RangeError('beyond the stretch of libsodium memory');
    next += length;
    return next - length;
  };
  try {
    return work({
      module,
      put: (bytes) => {
        const at = reserve(bytes.length);
        module.HEAPU8.set(bytes, at);
        return at;
      },
      reserve,
      read: (at, length) => {
        if (at < start || length < 0 || at + length > start + size)
          throw new RangeError('beyond the stretch of libsodium memory');
        return module.HEAPU8.slice(at, at + length);
      },
    });
  } finally {
    module.HEAPU8.fill(0, start, start + size);
    module._free(start);
  }
}
