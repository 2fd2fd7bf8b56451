import { encodeBase64url } from '../base64url.js';
import type { AuthorityCertificate, ContactPointCertificate, DeviceCertificate, Revocation } from '../certificates.js';
import type { SendRequest } from '../envelope.js';
import type { KemPrekey, SignedPrekey } from '../prekeys.js';

/** Deterministic fake key material: the bytes 0, 1, 2... offset by `seed`. Not keys, only shapes. */
export function bytes(length: number, seed: number): string {
  return encodeBase64url(Uint8Array.from({ length }, (_, i) => (i + seed) & 0xff));
}

export const T0 = 1_790_000_000_000;
export const YEAR = 365 * 24 * 3600 * 1000;

export const authority: AuthorityCertificate = {
  networkId: 'seajust',
  authorityId: 'th-oag',
  country: 'TH',
  name: 'Office of the Attorney General, Thailand',
  publicKey: bytes(32, 1),
  notBefore: T0,
  notAfter: T0 + YEAR,
  signature: bytes(64, 2),
};

export const contactPoint: ContactPointCertificate = {
  networkId: 'seajust',
  authorityId: 'th-oag',
  contactPointId: 'th-oag.somchai',
  kind: 'person',
  displayName: 'Somchai Prasert',
  role: 'Public Prosecutor',
  languages: ['th', 'en'],
  competences: ['mla', 'extradition'],
  timeZone: 'Asia/Bangkok',
  accountKey: bytes(32, 3),
  escalationChain: ['th-oag.deputy', 'th-oag.duty-desk'],
  notBefore: T0,
  notAfter: T0 + YEAR,
  signature: bytes(64, 4),
};

export const device: DeviceCertificate = {
  contactPointId: 'th-oag.somchai',
  deviceId: bytes(32, 5),
  deviceName: 'Office laptop',
  notBefore: T0,
  notAfter: T0 + YEAR,
  signature: bytes(64, 6),
};

export const revocation: Revocation = {
  networkId: 'seajust',
  subject: 'device',
  subjectId: bytes(32, 5),
  issuerKey: bytes(32, 3),
  reason: 'key-compromise',
  revokedAt: T0 + 1000,
  signature: bytes(64, 7),
};

export const signedPrekey: SignedPrekey = {
  id: 7,
  publicKey: bytes(32, 8),
  createdAt: T0,
  signature: bytes(64, 9),
};

export const kemPrekey: KemPrekey = {
  id: 7,
  keyType: 'ml-kem-768',
  lastResort: true,
  publicKey: bytes(1184, 12),
  createdAt: T0,
  signature: bytes(64, 13),
};

export const sendRequest: SendRequest = {
  messageId: '0b9a4c1e-2f5d-4e8a-9c3b-7d6e5f4a3b2c',
  recipient: 'vn-spp.lan',
  priority: 'normal',
  createdAt: T0,
  envelopes: [
    { recipientDevice: bytes(32, 10), kind: 'prekey-message', ciphertext: bytes(100, 11), escalationLevel: 0 },
  ],
};
