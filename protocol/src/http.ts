import { z } from 'zod';
import { AuthProof } from './auth.js';
import {
  AuthorityCertificate,
  CertificateChain,
  Competence,
  ContactPointCertificate,
  DeviceCertificate,
} from './certificates.js';
import { Receipt } from './envelope.js';
import { LIMITS } from './limits.js';
import { KemPrekeyUpload, PrekeyBundle, PrekeyUpload, SignedPrekey } from './prekeys.js';
import {
  AuthorityId,
  ContactPointId,
  CountryCode,
  DeviceId,
  LanguageTag,
  NetworkId,
  PlainString,
  queryInteger,
  Timestamp,
} from './primitives.js';

/** Request and response bodies of the HTTP API; which endpoint takes which is in endpoints.ts. */

/** A device registers with its chain, its first prekeys, and proof that it holds the device key. */
export const RegisterDeviceRequest = z.strictObject({
  chain: CertificateChain,
  signedPrekey: SignedPrekey,
  oneTimePrekeys: PrekeyUpload.shape.oneTimePrekeys,
  /** A last-resort KEM prekey and one-time ones; absent from devices that predate hybrid sessions. */
  kemPrekeys: KemPrekeyUpload.optional(),
  proof: AuthProof,
});
export type RegisterDeviceRequest = z.infer<typeof RegisterDeviceRequest>;

export const RegisterDeviceResponse = z.strictObject({
  deviceId: DeviceId,
  contactPointId: ContactPointId,
  registeredAt: Timestamp,
});
export type RegisterDeviceResponse = z.infer<typeof RegisterDeviceResponse>;

export const BundlesResponse = z.strictObject({
  authority: AuthorityCertificate,
  contactPoint: ContactPointCertificate,
  bundles: z.array(PrekeyBundle).max(LIMITS.maxDevicesPerContactPoint),
});
export type BundlesResponse = z.infer<typeof BundlesResponse>;

export const AvailabilityStatus = z.enum(['available', 'away']);
export type AvailabilityStatus = z.infer<typeof AvailabilityStatus>;

/** Set by the contact point itself; advisory, unlike the signed designation. */
export const Availability = z
  .strictObject({
    status: AvailabilityStatus,
    delegate: ContactPointId.optional(),
    until: Timestamp.optional(),
  })
  .refine((a) => a.status === 'away' || (a.delegate === undefined && a.until === undefined), {
    message: 'delegate and until are for "away"',
  });
export type Availability = z.infer<typeof Availability>;

/** Query string of GET /directory. Numbers arrive as strings of digits. */
export const DirectoryQuery = z.strictObject({
  country: CountryCode.optional(),
  authority: AuthorityId.optional(),
  network: NetworkId.optional(),
  language: LanguageTag.optional(),
  competence: Competence.optional(),
  q: PlainString.min(1).max(LIMITS.maxShortTextLength).optional(),
  limit: queryInteger(1, LIMITS.maxDirectoryPage).optional(),
  cursor: PlainString.max(128).optional(),
});
export type DirectoryQuery = z.infer<typeof DirectoryQuery>;

/** A directory entry carries its certificates: the client verifies it, never the relay's word. */
export const DirectoryEntry = z.strictObject({
  authority: AuthorityCertificate,
  contactPoint: ContactPointCertificate,
  devices: z.array(DeviceCertificate).max(LIMITS.maxDevicesPerContactPoint),
  availability: Availability,
});
export type DirectoryEntry = z.infer<typeof DirectoryEntry>;

export const DirectoryPage = z.strictObject({
  entries: z.array(DirectoryEntry).max(LIMITS.maxDirectoryPage),
  nextCursor: PlainString.max(128).optional(),
});
export type DirectoryPage = z.infer<typeof DirectoryPage>;

/** Receipts for the caller's sent messages after a cursor: what its devices missed while offline. */
export const ReceiptsQuery = z.strictObject({
  after: queryInteger(0, Number.MAX_SAFE_INTEGER).optional(),
});
export type ReceiptsQuery = z.infer<typeof ReceiptsQuery>;

export const ReceiptsPage = z.strictObject({
  receipts: z.array(Receipt).max(LIMITS.maxDirectoryPage),
  /** Pass as `after` to continue. */
  cursor: z.int().min(0),
});
export type ReceiptsPage = z.infer<typeof ReceiptsPage>;

export const Health = z.strictObject({
  status: z.enum(['ok', 'ready', 'not-ready']),
  detail: PlainString.max(200).optional(),
});
export type Health = z.infer<typeof Health>;
