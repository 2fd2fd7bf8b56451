/**
 * What a Liaison session setup is made of, timed alone in the same run as sessions.ts: libsodium's
 * primitives as the SDK calls them (and, for randomness, as libsodium would draw it), in
 * microseconds each. The sum of a setup's parts against its
 * measured cost says what limits it (docs/performance.md, "Hybrid sessions").
 */
import { encodeBase64url, encodeKemPrekey, encodeSignedPrekey, KEM_KEY_TYPE } from '@liaison/protocol';
import { generateKeyPair } from '../src/crypto/keys.js';
import { randomBytes, sodium } from '../src/crypto/sodium.js';

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

export function benchSessionParts(quick: boolean): Record<string, number> {
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

  const parts: Record<string, number> = {
    'X25519 (crypto_scalarmult)': micros(() => s.crypto_scalarmult(a.privateKey, b.publicKey), seconds),
    'X25519 key pair, as the SDK makes it (one getRandomValues)': micros(() => generateKeyPair(), seconds),
    'X25519 key pair, libsodium (crypto_box_keypair)': micros(() => s.crypto_box_keypair(), seconds),
    '32 random bytes, as the SDK draws them (getRandomValues)': micros(() => randomBytes(32), seconds),
    '32 random bytes, libsodium (randombytes_buf)': micros(() => s.randombytes_buf(32), seconds),
    'Ed25519 identity key to X25519': micros(() => s.crypto_sign_ed25519_pk_to_curve25519(identity.publicKey), seconds),
    [`Ed25519 verify, signed prekey (${spkSigned.length} B)`]: micros(
      () => s.crypto_sign_verify_detached(spkSignature, spkSigned, identity.publicKey),
      seconds,
    ),
    [`Ed25519 verify, KEM prekey (${kemSigned.length} B)`]: micros(
      () => s.crypto_sign_verify_detached(kemSignature, kemSigned, identity.publicKey),
      seconds,
    ),
    'ML-KEM-768 key pair from its seed': micros(() => s.crypto_kem_mlkem768_seed_keypair(seed), seconds),
    'ML-KEM-768 encapsulation, as the SDK does it (random seed, then deterministic)': micros(
      () => s.crypto_kem_mlkem768_enc_deterministic(kem.publicKey, randomBytes(32)),
      seconds,
    ),
    'ML-KEM-768 encapsulation, libsodium (crypto_kem_mlkem768_enc)': micros(
      () => s.crypto_kem_mlkem768_enc(kem.publicKey),
      seconds,
    ),
    'ML-KEM-768 decapsulation': micros(() => s.crypto_kem_mlkem768_dec(ciphertext, kem.privateKey), seconds),
  };
  console.error("A setup's parts, each alone (libsodium-wrappers-sumo, WebAssembly)");
  console.table(Object.entries(parts).map(([part, us]) => ({ part, 'µs each': us.toFixed(1) })));
  return parts;
}
