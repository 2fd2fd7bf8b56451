import {
  decodeBase64url,
  type EvidenceReceipt,
  encodeBase64url,
  encodeEvidenceReceipt,
  encodeRelayReceipt,
  type RelayReceipt,
  type UnsignedEvidenceReceipt,
} from '@liaison/protocol';
import { type IdentityKeyPair, sign, verifySignature } from '../crypto/keys.js';

export function signReceipt(identity: IdentityKeyPair, body: UnsignedEvidenceReceipt): EvidenceReceipt {
  return { ...body, signature: encodeBase64url(sign(identity, encodeEvidenceReceipt(body))) };
}

/** Whether the receipt is signed by the device it names. */
export function receiptSigned(receipt: EvidenceReceipt): boolean {
  const { signature, ...body } = receipt;
  return verifySignature(
    decodeBase64url(receipt.byDevice) as Uint8Array,
    encodeEvidenceReceipt(body),
    decodeBase64url(signature) as Uint8Array,
  );
}

/** Whether the relay receipt is signed by the relay key it names (whether a manifest certifies that key is the caller's to check). */
export function relayReceiptSigned(receipt: RelayReceipt): boolean {
  const { signature, ...body } = receipt;
  return verifySignature(
    decodeBase64url(receipt.relayKey) as Uint8Array,
    encodeRelayReceipt(body),
    decodeBase64url(signature) as Uint8Array,
  );
}
