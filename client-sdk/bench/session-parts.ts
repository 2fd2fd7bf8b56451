/**
 * What a Liaison session setup is made of, timed alone in the same run as sessions.ts: libsodium's
 * primitives as the SDK calls them (and, for randomness, as libsodium would draw it), in
 * microseconds each. The sum of a setup's parts against its
 * measured cost says what limits it (docs/performance.md, "Hybrid sessions").
 */
import { encodeBase64url, encodeKemPrekey, encodeSignedPrekey, KEM_KEY_TYPE } from '@liaison/protocol';
import { generateKeyPair } from '../src/crypto/keys.js';
import { randomBytes, sodium } from '../src/crypto/sodium.js';
import { X25519_PER } from './messages.js';

/** Microseconds per call of `step`, run for about `seconds` after a short warm-up. */
function micros(step: () => unknown, seconds: number): number {
  for (let i = 0; i < 50; i++) step();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < seconds * 1000) {
    step();
    n++;
  }
  return ((performance.now() - start) * 1000) / n;
}

/** The parts, µs each, and what a classical and a hybrid setup's primitives alone take (µs). */
export function benchSessionParts(quick: boolean): {
  parts: Record<string, number>;
  primitivesUs: { classical: number; hybrid: number };
} {
  const s = sodium();
  const seconds = quick ? 0.1 : 0.4;
  const identity = s.crypto_sign_keypair();
  const a = s.crypto_box_keypair();
  const b = s.crypto_box_keypair();
  const seed = s.randombytes_buf(s.crypto_kem_mlkem768_SEEDBYTES);
  const kem = s.crypto_kem_mlkem768_seed_keypair(seed);
  const { ciphertext } = s.crypto_kem_mlkem768_enc(kem.publicKey);
  const spkSigned = encodeSignedPrekey({ id: 1, publicKey: encodeBase64url(a.publicKey), createdAt: Date.now() });
  const spkSignature = s.crypto_sign_detached(spkSigned, identity.privateKey);
  const kemSigned = encodeKemPrekey({
    id: 1,
    keyType: KEM_KEY_TYPE,
    lastResort: false,
    publicKey: encodeBase64url(kem.publicKey),
    createdAt: Date.now(),
  });
  const kemSignature = s.crypto_sign_detached(kemSigned, identity.privateKey);

  const us = {
    dh: micros(() => s.crypto_scalarmult(a.privateKey, b.publicKey), seconds),
    keyPair: micros(() => generateKeyPair(), seconds),
    libsodiumKeyPair: micros(() => s.crypto_box_keypair(), seconds),
    random: micros(() => randomBytes(32), seconds),
    libsodiumRandom: micros(() => s.randombytes_buf(32), seconds),
    identityToX25519: micros(() => s.crypto_sign_ed25519_pk_to_curve25519(identity.publicKey), seconds),
    verifySignedPrekey: micros(
      () => s.crypto_sign_verify_detached(spkSignature, spkSigned, identity.publicKey),
      seconds,
    ),
    verifyKemPrekey: micros(() => s.crypto_sign_verify_detached(kemSignature, kemSigned, identity.publicKey), seconds),
    kemKeyPair: micros(() => s.crypto_kem_mlkem768_seed_keypair(seed), seconds),
    encapsulate: micros(() => s.crypto_kem_mlkem768_enc_deterministic(kem.publicKey, randomBytes(32)), seconds),
    libsodiumEncapsulate: micros(() => s.crypto_kem_mlkem768_enc(kem.publicKey), seconds),
    decapsulate: micros(() => s.crypto_kem_mlkem768_dec(ciphertext, kem.privateKey), seconds),
  };
  const parts: Record<string, number> = {
    'X25519 (crypto_scalarmult)': us.dh,
    'X25519 key pair, as the SDK makes it (one getRandomValues)': us.keyPair,
    'X25519 key pair, libsodium (crypto_box_keypair)': us.libsodiumKeyPair,
    '32 random bytes, as the SDK draws them (getRandomValues)': us.random,
    '32 random bytes, libsodium (randombytes_buf)': us.libsodiumRandom,
    'Ed25519 identity key to X25519': us.identityToX25519,
    [`Ed25519 verify, signed prekey (${spkSigned.length} B)`]: us.verifySignedPrekey,
    [`Ed25519 verify, KEM prekey (${kemSigned.length} B)`]: us.verifyKemPrekey,
    'ML-KEM-768 key pair from its seed': us.kemKeyPair,
    'ML-KEM-768 encapsulation, as the SDK does it (random seed, then deterministic)': us.encapsulate,
    'ML-KEM-768 encapsulation, libsodium (crypto_kem_mlkem768_enc)': us.libsodiumEncapsulate,
    'ML-KEM-768 decapsulation': us.decapsulate,
  };
  // A setup's primitives, counted from the code (x3dh.ts, ratchet.ts): the X25519 of X25519_PER, the
  // two peers' identity keys converted (each side converts the other's; its own private key is a
  // hash), the signed prekey's signature; hybrid, the KEM prekey's signature, its key pair made
  // from its seed by the responder, an encapsulation and a decapsulation.
  const classical =
    X25519_PER.setup.dh * us.dh +
    X25519_PER.setup.keyPairs * us.keyPair +
    2 * us.identityToX25519 +
    us.verifySignedPrekey;
  const hybrid = classical + us.verifyKemPrekey + us.kemKeyPair + us.encapsulate + us.decapsulate;
  console.error("A setup's parts, each alone (libsodium-wrappers-sumo, WebAssembly)");
  console.table(Object.entries(parts).map(([part, each]) => ({ part, 'µs each': each.toFixed(1) })));
  return { parts, primitivesUs: { classical, hybrid } };
}
