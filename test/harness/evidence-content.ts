import { createHash, createPrivateKey, sign } from 'node:crypto';
import type { IdentityKeyPair } from '@liaison/client';
import {
  type EvidenceReceipt,
  encodeBase64url,
  encodeEvidenceReceipt,
  encodeSignedContent,
  frameSignedContent,
  type UnsignedEvidenceReceipt,
  unframeSignedContent,
} from '@liaison/protocol';

/**
 * What a device seals, built by hand from the protocol's public encodings (docs/evidence.md), so
 * that a test can seal what the SDK never would: content signed by another key or over other
 * bytes, receipts that lie. Signatures are made with Node's own Ed25519, not the SDK's code.
 */

/** Ed25519 with the device's key; libsodium's 64-byte private key is the seed followed by the public key. */
export function ed25519Sign(identity: IdentityKeyPair, message: Uint8Array): Uint8Array {
  const key = createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      d: encodeBase64url(identity.privateKey.subarray(0, 32)),
      x: encodeBase64url(identity.publicKey),
    },
    format: 'jwk',
  });
  return new Uint8Array(sign(null, message, key));
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/**
 * The plaintext a device encrypts: `content` as UTF-8 JSON, framed with `signer`'s signature over
 * its hash; over the hash of `signedContent` instead when given (a signature over other bytes).
 */
export function signedPlaintext(signer: IdentityKeyPair, content: unknown, signedContent = content): Uint8Array {
  const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  return frameSignedContent(ed25519Sign(signer, encodeSignedContent(sha256(json(signedContent)))), json(content));
}

/** The content of a decrypted, framed plaintext and its hash (base64url), as receipts name it; the signature is not checked. */
export function readPlaintext(plaintext: Uint8Array): { content: Record<string, unknown>; hash: string } {
  const frame = unframeSignedContent(plaintext);
  if (!frame) throw new Error('not a framed, signed plaintext');
  return {
    content: JSON.parse(new TextDecoder().decode(frame.content)) as Record<string, unknown>,
    hash: encodeBase64url(sha256(frame.content)),
  };
}

/** A receipt signed by `signer`, whatever device it names. */
export function signedReceipt(signer: IdentityKeyPair, body: UnsignedEvidenceReceipt): EvidenceReceipt {
  return { ...body, signature: encodeBase64url(ed25519Sign(signer, encodeEvidenceReceipt(body))) };
}
