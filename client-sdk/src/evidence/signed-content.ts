import {
  encodeBase64url,
  encodeSignedContent,
  frameSignedContent,
  type SealedContent,
  unframeSignedContent,
} from '@liaison/protocol';
import { parseSealed } from '../client/content.js';
import { type IdentityKeyPair, sign, verifySignature } from '../crypto/keys.js';
import { sodium } from '../crypto/sodium.js';

/** Content as its sender signed it: the exact bytes, their hash, and the signature over the hash. */
export interface SignedContent {
  bytes: Uint8Array;
  /** SHA-256 of `bytes`, base64url: what receipts and records name. */
  hash: string;
  signature: Uint8Array;
}

export function contentHash(bytes: Uint8Array): Uint8Array {
  return sodium().crypto_hash_sha256(bytes);
}

/** Signs content bytes with this device's identity key. */
export function signContent(identity: IdentityKeyPair, bytes: Uint8Array): SignedContent {
  const hash = contentHash(bytes);
  return { bytes, hash: encodeBase64url(hash), signature: sign(identity, encodeSignedContent(hash)) };
}

/** What is encrypted: the signature and the content bytes, framed. */
export function framed(content: SignedContent): Uint8Array {
  return frameSignedContent(content.signature, content.bytes);
}

/** Whether `signature` is `device`'s over content `bytes`. */
export function signedByDevice(device: Uint8Array, bytes: Uint8Array, signature: Uint8Array): boolean {
  return verifySignature(device, encodeSignedContent(contentHash(bytes)), signature);
}

/**
 * A decrypted plaintext's content, checked against the signature of the device that sent it:
 * undefined when it is not signed by that device or is not valid UTF-8 JSON of the schema.
 */
export function openSigned(
  plaintext: Uint8Array,
  senderDevice: Uint8Array,
): { content: SealedContent; signed: SignedContent } | undefined {
  const frame = unframeSignedContent(plaintext);
  if (!frame || !signedByDevice(senderDevice, frame.content, frame.signature)) return undefined;
  try {
    const parsed = parseSealed(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(frame.content)));
    if (!parsed.success) return undefined;
    return {
      content: parsed.data,
      signed: { bytes: frame.content, hash: encodeBase64url(contentHash(frame.content)), signature: frame.signature },
    };
  } catch {
    return undefined;
  }
}
