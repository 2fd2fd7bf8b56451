import { concat } from './bytes.js';
import { identityDhPublicKey } from './keys.js';
import { sodium } from './sodium.js';

/**
 * Safety numbers, computed as Signal's numeric fingerprint (displayable part, version 0):
 *
 *   hash = 0x0000 | key | stableId; repeat 5200 times: hash = SHA-512(hash | key)
 *   digits = first 30 bytes as six 5-byte big-endian integers, each mod 100000, 5 digits
 *
 * For Liaison, `key` is 0x05 followed by the X25519 form of the contact point's Ed25519
 * account key (Signal's serialisation of a Curve25519 key), and `stableId` is the contact-point
 * id in UTF-8. The two parties' 30 digits are sorted and joined into 60.
 */

export const FINGERPRINT_ITERATIONS = 5200;
const FINGERPRINT_VERSION = Uint8Array.of(0x00, 0x00);
const DJB_KEY_TYPE = Uint8Array.of(0x05);

export interface SafetyNumberParty {
  contactPointId: string;
  /** Ed25519 account key. */
  accountKey: Uint8Array;
}

/** Signal's 30-digit displayable fingerprint of one party, over its serialised key and stable id. */
export function fingerprintDigits(stableId: string, serializedKey: Uint8Array, iterations = FINGERPRINT_ITERATIONS) {
  const s = sodium();
  let hash = concat(FINGERPRINT_VERSION, serializedKey, new TextEncoder().encode(stableId));
  for (let i = 0; i < iterations; i++) hash = s.crypto_hash_sha512(concat(hash, serializedKey));
  let digits = '';
  for (let offset = 0; offset < 30; offset += 5) {
    const chunk = (hash[offset] as number) * 2 ** 32 + new DataView(hash.buffer, hash.byteOffset).getUint32(offset + 1);
    digits += String(chunk % 100000).padStart(5, '0');
  }
  return digits;
}

/** Two 30-digit halves, the lower first, so both parties see the same 60 digits. */
export function combineFingerprints(local: string, remote: string): string {
  return local <= remote ? local + remote : remote + local;
}

export function safetyNumber(local: SafetyNumberParty, remote: SafetyNumberParty): string {
  const half = (p: SafetyNumberParty) =>
    fingerprintDigits(p.contactPointId, concat(DJB_KEY_TYPE, identityDhPublicKey(p.accountKey)));
  return combineFingerprints(half(local), half(remote));
}

/** "12345 67890 …": twelve groups of five, as people read them aloud. */
export function formatSafetyNumber(digits: string): string {
  return digits.match(/.{1,5}/g)?.join(' ') ?? '';
}

/** True when what a person typed or scanned is this safety number (spaces and dashes ignored). */
export function safetyNumbersMatch(expected: string, presented: string): boolean {
  const normalise = (s: string) => s.replace(/[\s-]/g, '');
  const a = new TextEncoder().encode(normalise(expected));
  const b = new TextEncoder().encode(normalise(presented));
  return a.length === b.length && sodium().memcmp(a, b);
}
