import {
  type DeviceCertificate,
  decodeBase64url,
  encodeBase64url,
  encodeDeviceCertificate,
  encodeRoomStatement,
  LIMITS,
  type RoomStatement,
  type UnsignedRoomStatement,
} from '@liaison/protocol';
import { concat } from '../crypto/bytes.js';
import { type IdentityKeyPair, sign, verifySignature } from '../crypto/keys.js';
import { sodium } from '../crypto/sodium.js';
import { LiaisonError } from '../errors.js';

/** A statement signed here by this device's identity key. */
export function signStatement(identity: IdentityKeyPair, body: UnsignedRoomStatement): RoomStatement {
  return { ...body, signature: encodeBase64url(sign(identity, encodeRoomStatement(body))) };
}

/** The name other statements give it: SHA-256 of its canonical encoding and its signature. */
export function statementHash(statement: RoomStatement): string {
  const { signature, ...body } = statement;
  const bytes = concat(encodeRoomStatement(body), decodeBase64url(signature) as Uint8Array);
  return encodeBase64url(sodium().crypto_hash_sha256(bytes));
}

/**
 * Checks that a statement was signed by the device it names, and that this device was certified by
 * the author's account key (`accountKey`, from the author's designation as verified here) when the
 * statement was made. Throws BAD_SIGNATURE or UNTRUSTED_IDENTITY.
 */
export function verifyStatement(
  statement: RoomStatement,
  certificate: DeviceCertificate,
  accountKey: Uint8Array,
): void {
  const { signature, ...body } = statement;
  const { signature: certificateSignature, ...certificateBody } = certificate;
  if (
    certificate.deviceId !== statement.authorDevice ||
    certificate.contactPointId !== statement.author ||
    !verifySignature(
      accountKey,
      encodeDeviceCertificate(certificateBody),
      decodeBase64url(certificateSignature) as Uint8Array,
    )
  ) {
    throw new LiaisonError(
      'UNTRUSTED_IDENTITY',
      `a change of room ${statement.roomId} names a device that "${statement.author}" did not certify`,
    );
  }
  // The device's certificate must have been valid when it signed (the author's clock may run ahead).
  if (
    statement.createdAt + LIMITS.maxClockSkewMs < certificate.notBefore ||
    statement.createdAt > certificate.notAfter
  ) {
    throw new LiaisonError(
      'UNTRUSTED_IDENTITY',
      `a change of room ${statement.roomId} was signed outside its device's certificate`,
    );
  }
  if (
    !verifySignature(
      decodeBase64url(statement.authorDevice) as Uint8Array,
      encodeRoomStatement(body),
      decodeBase64url(signature) as Uint8Array,
    )
  ) {
    throw new LiaisonError(
      'BAD_SIGNATURE',
      `a change of room ${statement.roomId} is not signed by its author's device`,
    );
  }
}
