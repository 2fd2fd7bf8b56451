import { z } from 'zod';
import { DeviceCertificate } from './certificates.js';
import { LIMITS } from './limits.js';
import { Ed25519Signature, MlKem768PublicKey, Timestamp, uniqueList, X25519PublicKey } from './primitives.js';

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

/** The one KEM of hybrid sessions; named in every KEM prekey and in what its signature covers. */
export const KEM_KEY_TYPE = 'ml-kem-768';

/**
 * An ML-KEM-768 prekey, signed by the device identity key over encodeKemPrekey (which covers the
 * key type and whether it is the last-resort one). A device keeps one last-resort KEM prekey at
 * the relay, handed out when its pool of one-time KEM prekeys is empty, and a pool of one-time
 * ones, each handed out once. Ids are unique across both kinds within a device.
 */
export const KemPrekey = z.strictObject({
  id: PrekeyId,
  keyType: z.literal(KEM_KEY_TYPE),
  lastResort: z.boolean(),
  publicKey: MlKem768PublicKey,
  createdAt: Timestamp,
  signature: Ed25519Signature,
});
export type KemPrekey = z.infer<typeof KemPrekey>;
export type KemPrekeyBody = Omit<KemPrekey, 'signature'>;

const OneTimePrekeyBatch = uniqueList(PrekeyId, LIMITS.maxOneTimePrekeysPerUpload);

/** KEM prekeys as a device uploads them: at most one last-resort, the rest one-time, ids unique. */
export const KemPrekeyUpload = z
  .array(KemPrekey)
  .max(LIMITS.maxKemPrekeysPerUpload + 1)
  .refine((keys) => new Set(keys.map((k) => k.id)).size === keys.length, 'KEM prekey ids must be unique')
  .refine((keys) => keys.filter((k) => k.lastResort).length <= 1, 'at most one last-resort KEM prekey')
  .refine(
    (keys) => keys.filter((k) => !k.lastResort).length <= LIMITS.maxKemPrekeysPerUpload,
    `at most ${LIMITS.maxKemPrekeysPerUpload} one-time KEM prekeys`,
  );

/**
 * A device refreshes its prekeys: a new signed prekey, more one-time prekeys, KEM prekeys (a new
 * last-resort one replaces the previous), or any of these.
 */
export const PrekeyUpload = z
  .strictObject({
    signedPrekey: SignedPrekey.optional(),
    oneTimePrekeys: z.array(OneTimePrekey).max(LIMITS.maxOneTimePrekeysPerUpload),
    kemPrekeys: KemPrekeyUpload.optional(),
  })
  .refine(
    (u) => OneTimePrekeyBatch.safeParse(u.oneTimePrekeys.map((k) => k.id)).success,
    'one-time prekey ids must be unique',
  );
export type PrekeyUpload = z.infer<typeof PrekeyUpload>;

/** What the relay holds of a device's KEM prekeys; reported once the device has a last-resort one there. */
export const KemPrekeyCount = z.strictObject({
  oneTimePrekeys: z.int().min(0),
  lastResortId: PrekeyId,
  lastResortCreatedAt: Timestamp,
});
export type KemPrekeyCount = z.infer<typeof KemPrekeyCount>;

export const PrekeyCount = z.strictObject({
  oneTimePrekeys: z.int().min(0),
  signedPrekeyId: PrekeyId,
  signedPrekeyCreatedAt: Timestamp,
  /**
   * Absent until the device has uploaded a last-resort KEM prekey: a device that has none (an SDK
   * from before hybrid sessions) is never sent a field it does not know.
   */
  kem: KemPrekeyCount.optional(),
  /** True when the device should upload more one-time prekeys, of either kind. */
  low: z.boolean(),
});
export type PrekeyCount = z.infer<typeof PrekeyCount>;

/**
 * What an initiator needs to start a session with one device. The one-time prekey may be absent;
 * the KEM prekey (one-time, else the last-resort one) is there when the device publishes KEM
 * prekeys and the requesting device does too.
 */
export const PrekeyBundle = z.strictObject({
  device: DeviceCertificate,
  signedPrekey: SignedPrekey,
  oneTimePrekey: OneTimePrekey.optional(),
  kemPrekey: KemPrekey.optional(),
});
export type PrekeyBundle = z.infer<typeof PrekeyBundle>;
