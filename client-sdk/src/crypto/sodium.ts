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
