import {
  type DeviceCertificate,
  encodeBase64url,
  type RoomChange,
  type RoomStatement,
  type UnsignedRoomStatement,
} from '@liaison/protocol';
import { generateIdentityKeyPair, type IdentityKeyPair } from '../crypto/keys.js';
import type { KnownStatement } from '../rooms/membership.js';
import { signStatement, statementHash } from '../rooms/statements.js';
import { certifyDevice } from '../trust/issue.js';
import { NOW } from './devices.js';
import { valid } from './network.js';

/** A contact point with one device, as a room statement's author: its account key certified the device. */
export interface RoomActor {
  id: string;
  accountKeys: IdentityKeyPair;
  deviceKeys: IdentityKeyPair;
  certificate: DeviceCertificate;
}

/** A contact point `id` with a device certified by its account key, valid from just before NOW for a year. */
export function roomActor(id: string, validity: { notBefore: number; notAfter: number } = valid): RoomActor {
  const accountKeys = generateIdentityKeyPair();
  const deviceKeys = generateIdentityKeyPair();
  const certificate = certifyDevice(accountKeys, {
    contactPointId: id,
    deviceId: encodeBase64url(deviceKeys.publicKey),
    deviceName: 'Office laptop',
    ...validity,
  });
  return { id, accountKeys, deviceKeys, certificate };
}

/** The unsigned body of a statement by `author`'s device, made at NOW unless `createdAt` says otherwise. */
export function statementBody(
  author: RoomActor,
  roomId: string,
  parents: readonly string[],
  change: RoomChange,
  createdAt = NOW,
): UnsignedRoomStatement {
  return {
    roomId,
    parents: [...parents],
    author: author.id,
    authorDevice: author.certificate.deviceId,
    change,
    createdAt,
  };
}

/** A statement signed by `author`'s device, under its hash and with its certificate, as RoomRecord.add takes it once verified. */
export function known(
  author: RoomActor,
  roomId: string,
  parents: readonly string[],
  change: RoomChange,
  createdAt = NOW,
): KnownStatement & { certificate: DeviceCertificate } {
  const statement: RoomStatement = signStatement(
    author.deviceKeys,
    statementBody(author, roomId, parents, change, createdAt),
  );
  return { hash: statementHash(statement), statement, certificate: author.certificate };
}
