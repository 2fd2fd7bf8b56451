import {
  type DeviceCertificate,
  decodeBase64url,
  encodeBase64url,
  encodeRoomStatement,
  type RoomStatement,
  type UnsignedRoomStatement,
} from '@liaison/protocol';
import { concat } from '../crypto/bytes.js';
import { type IdentityKeyPair, sign, verifySignature } from '../crypto/keys.js';
import { sodium } from '../crypto/sodium.js';
import { LiaisonError } from '../errors.js';

const NIL_ROOM = '00000000-0000-4000-8000-000000000000';

/**
 * The id of the room a `create` opens: SHA-256 of the create's encoding with a nil room id, in the
 * shape of a UUID. Bound to the create, so nobody can open another room under the same id.
 */
export function roomIdFor(create: Omit<UnsignedRoomStatement, 'roomId'>): string {
  const digest = sodium().crypto_hash_sha256(encodeRoomStatement({ ...create, roomId: NIL_ROOM }));
  const b = digest.slice(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x40;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

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
 * Checks that a statement is signed by the device it names, with the certificate given for that
 * device (whose own chain the caller verifies), and that a `create` opens the room it names, by an
 * admin. Throws UNTRUSTED_IDENTITY, BAD_SIGNATURE or INVALID_MESSAGE.
 */
export function verifyStatement(statement: RoomStatement, certificate: DeviceCertificate): void {
  const { signature, ...body } = statement;
  if (certificate.deviceId !== statement.authorDevice || certificate.contactPointId !== statement.author) {
    throw new LiaisonError(
      'UNTRUSTED_IDENTITY',
      `a change of room ${statement.roomId} names a device that "${statement.author}" did not certify`,
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
  const change = statement.change;
  if (change.op !== 'create') return;
  if (!change.members.some((m) => m.contactPointId === statement.author && m.role === 'admin')) {
    throw new LiaisonError('INVALID_MESSAGE', `room ${statement.roomId} was not created by one of its admins`);
  }
  if (roomIdFor(body) !== statement.roomId) {
    throw new LiaisonError('UNTRUSTED_IDENTITY', `this is not the create of room ${statement.roomId}`);
  }
}
