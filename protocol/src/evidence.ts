import { z } from 'zod';
import type { Unsigned } from './certificates.js';
import {
  ContactPointId,
  DeviceId,
  Ed25519PublicKey,
  Ed25519Signature,
  fixedBytes,
  MessageId,
  NetworkId,
  Timestamp,
} from './primitives.js';

/**
 * Evidence: statements a court can check without the relay (docs/evidence.md).
 *
 * - Every message's content is signed by the sending device: the plaintext inside the ciphertext
 *   is `SIGNED_CONTENT_MARKER | Ed25519 signature (64 bytes) | content`, where content is the
 *   UTF-8 JSON of the content schema and the signature covers `encodeSignedContent` of its
 *   SHA-256 (the content hash). JSON never starts with the marker byte.
 * - The receiving device signs a `delivered` receipt over the message id and content hash; a
 *   person's acknowledgement is an `acknowledged` receipt, naming the contact point who
 *   acknowledged. Both travel back end to end, inside `ReceiptsContent`.
 * - The relay signs a `RelayReceipt` ("stored at") with its key, which its network's manifest
 *   certifies.
 */

/** SHA-256 of a message's content bytes, exactly as the sender signed and encrypted them. */
export const ContentHash = fixedBytes(32);

export const SIGNED_CONTENT_MARKER = 0x00;
const SIGNATURE_BYTES = 64;

/** The plaintext to encrypt: the marker, the sender's signature, the content bytes. */
export function frameSignedContent(signature: Uint8Array, content: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) throw new RangeError('an Ed25519 signature is 64 bytes');
  const framed = new Uint8Array(1 + SIGNATURE_BYTES + content.length);
  framed[0] = SIGNED_CONTENT_MARKER;
  framed.set(signature, 1);
  framed.set(content, 1 + SIGNATURE_BYTES);
  return framed;
}

/** The signature and content of a decrypted plaintext, or undefined when it is not framed so. */
export function unframeSignedContent(
  plaintext: Uint8Array,
): { signature: Uint8Array; content: Uint8Array } | undefined {
  if (plaintext.length <= 1 + SIGNATURE_BYTES || plaintext[0] !== SIGNED_CONTENT_MARKER) return undefined;
  return { signature: plaintext.slice(1, 1 + SIGNATURE_BYTES), content: plaintext.slice(1 + SIGNATURE_BYTES) };
}

export const EvidenceReceiptKind = z.enum(['delivered', 'acknowledged']);
export type EvidenceReceiptKind = z.infer<typeof EvidenceReceiptKind>;

/**
 * Signed by `byDevice`'s identity key. `delivered`: that device received and stored the message
 * whose content hashes to `contentHash`. `acknowledged`: a person at contact point `by`, using that
 * device, confirmed having it.
 */
export const EvidenceReceipt = z.strictObject({
  kind: EvidenceReceiptKind,
  messageId: MessageId,
  contentHash: ContentHash,
  /** Who sent the message (the contact point whose device signed its content). */
  sender: ContactPointId,
  by: ContactPointId,
  byDevice: DeviceId,
  at: Timestamp,
  signature: Ed25519Signature,
});
export type EvidenceReceipt = z.infer<typeof EvidenceReceipt>;
export type UnsignedEvidenceReceipt = Unsigned<EvidenceReceipt>;

/** Receipts one envelope carries back to a sender. */
export const MAX_RECEIPTS_PER_ENVELOPE = 64;

/** What a device sends back, end to end, to the contact point whose messages it received. */
export const ReceiptsContent = z.strictObject({
  version: z.literal(2),
  /** This envelope's own message id (as the envelope says: the relay cannot re-attribute it). */
  messageId: MessageId,
  receipts: z.array(EvidenceReceipt).min(1).max(MAX_RECEIPTS_PER_ENVELOPE),
});
export type ReceiptsContent = z.infer<typeof ReceiptsContent>;

/**
 * The relay's word, signed: it stored message `messageId`, sent by `senderDevice` of
 * `senderContactPoint`, at `storedAt` (its clock). `relayKey` is one of the relay signing keys in
 * the manifest of network `networkId`.
 */
export const RelayReceipt = z.strictObject({
  messageId: MessageId,
  senderContactPoint: ContactPointId,
  senderDevice: DeviceId,
  storedAt: Timestamp,
  networkId: NetworkId,
  relayKey: Ed25519PublicKey,
  signature: Ed25519Signature,
});
export type RelayReceipt = z.infer<typeof RelayReceipt>;
export type UnsignedRelayReceipt = Unsigned<RelayReceipt>;
