import { z } from 'zod';
import { DeviceCertificate } from './certificates.js';
import { LIMITS } from './limits.js';
import { Ed25519Signature, Timestamp, uniqueList, X25519PublicKey } from './primitives.js';

export const PrekeyId = z.int().min(0).max(0xffffffff);

/** Signed by the device identity key over encodeSignedPrekey. */
export const SignedPrekey = z.strictObject({
  id: PrekeyId,
  publicKey: X25519PublicKey,
  createdAt: Timestamp,
  signature: Ed25519Signature,
});
export type SignedPrekey = z.infer<typeof SignedPrekey>;
export type SignedPrekeyBody = Omit<SignedPrekey, 'signature'>;

export const OneTimePrekey = z.strictObject({
  id: PrekeyId,
  publicKey: X25519PublicKey,
});
export type OneTimePrekey = z.infer<typeof OneTimePrekey>;

const OneTimePrekeyBatch = uniqueList(PrekeyId, LIMITS.maxOneTimePrekeysPerUpload);

/** A device refreshes its prekeys: a new signed prekey, more one-time prekeys, or both. */
export const PrekeyUpload = z
  .strictObject({
    signedPrekey: SignedPrekey.optional(),
    oneTimePrekeys: z.array(OneTimePrekey).max(LIMITS.maxOneTimePrekeysPerUpload),
  })
  .refine(
    (u) => OneTimePrekeyBatch.safeParse(u.oneTimePrekeys.map((k) => k.id)).success,
    'one-time prekey ids must be unique',
  );
export type PrekeyUpload = z.infer<typeof PrekeyUpload>;

export const PrekeyCount = z.strictObject({
  oneTimePrekeys: z.int().min(0),
  signedPrekeyId: PrekeyId,
  signedPrekeyCreatedAt: Timestamp,
  /** True when the device should upload more one-time prekeys. */
  low: z.boolean(),
});
export type PrekeyCount = z.infer<typeof PrekeyCount>;

/** What an initiator needs to start a session with one device. The one-time prekey may be absent. */
export const PrekeyBundle = z.strictObject({
  device: DeviceCertificate,
  signedPrekey: SignedPrekey,
  oneTimePrekey: OneTimePrekey.optional(),
});
export type PrekeyBundle = z.infer<typeof PrekeyBundle>;
