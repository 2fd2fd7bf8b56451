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
