import { decodeBase64url } from '@liaison/protocol';
import sodium from 'libsodium-wrappers-sumo';

/**
 * The relay's only crypto, from libsodium: Ed25519 verification, and signing of its requests to
 * partner relays; SHA-256 digests of their bodies; HMAC-SHA-256 for webhook alerts; BLAKE2b keyed
 * hashes of bearer tokens; random bytes.
 */
export async function readySodium(): Promise<void> {
  await sodium.ready;
}

export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** Whether `signature` (base64url) over `message` is by `publicKey` (base64url); false for keys that do not decode. */
export function signedBy(publicKey: string, message: Uint8Array, signature: string): boolean {
  const key = decodeBase64url(publicKey);
  const bytes = decodeBase64url(signature);
  return key !== undefined && bytes !== undefined && verifySignature(key, message, bytes);
}

/** Constant-time equality of two secrets (different lengths are simply unequal). */
export function sameSecret(given: string, expected: string): boolean {
  const a = sodium.from_string(given);
  const b = sodium.from_string(expected);
  return a.length === b.length && sodium.memcmp(a, b);
}

export function randomBytes(length: number): Uint8Array {
  return sodium.randombytes_buf(length);
}

/** HMAC-SHA-256 of a UTF-8 message, hex: the signature of a webhook alert. */
export function hmacSha256Hex(key: Uint8Array, message: string): string {
  return sodium.to_hex(sodium.crypto_auth_hmacsha256(sodium.from_string(message), key));
}

/** BLAKE2b-256 of a UTF-8 message under a 32-byte key, base64url: what stands for a secret where it is stored. */
export function keyedHash(key: Uint8Array, message: string): string {
  return sodium.to_base64(
    sodium.crypto_generichash(32, sodium.from_string(message), key),
    sodium.base64_variants.URLSAFE_NO_PADDING,
  );
}

/** An Ed25519 key pair from its 32-byte seed: the relay's federation signing key. */
export function signingKeyPair(seed: Uint8Array): { publicKey: Uint8Array; privateKey: Uint8Array } {
  const { publicKey, privateKey } = sodium.crypto_sign_seed_keypair(seed);
  return { publicKey, privateKey };
}

export function signDetached(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
  return sodium.crypto_sign_detached(message, privateKey);
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return sodium.crypto_hash_sha256(bytes);
}
