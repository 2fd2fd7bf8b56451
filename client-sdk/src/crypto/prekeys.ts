import { encodeBase64url, type KemPrekey, LIMITS, type OneTimePrekey, type SignedPrekey } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import type { KeyStore } from '../key-store/key-store.js';
import {
  freshPrekeyId,
  generateKemPrekey,
  generateOneTimePrekeys,
  generateSignedPrekey,
  publicKemPrekey,
  publicSignedPrekey,
  type StoredKemPrekey,
  type StoredSignedPrekey,
} from './keys.js';

export interface PrekeyPolicy {
  /** A signed prekey older than this is replaced. */
  signedPrekeyMaxAgeMs: number;
  /** A replaced signed prekey is kept this long, for prekey messages still in flight. */
  signedPrekeyGraceMs: number;
  /** Below this many one-time prekeys at the relay, upload more. */
  oneTimeThreshold: number;
  /** How many one-time prekeys one refill makes. */
  oneTimeBatch: number;
  /** The same two for one-time ML-KEM-768 prekeys. The last-resort KEM prekey follows the signed prekey's age and grace. */
  kemThreshold: number;
  kemBatch: number;
}

const DAY = 24 * 3600 * 1000;

export const DEFAULT_PREKEY_POLICY: PrekeyPolicy = {
  signedPrekeyMaxAgeMs: 7 * DAY,
  signedPrekeyGraceMs: 30 * DAY,
  oneTimeThreshold: LIMITS.oneTimePrekeyLowWatermark,
  oneTimeBatch: LIMITS.maxOneTimePrekeysPerUpload,
  kemThreshold: LIMITS.kemPrekeyLowWatermark,
  kemBatch: LIMITS.maxKemPrekeysPerUpload,
};

function newest<P extends StoredSignedPrekey | StoredKemPrekey>(prekeys: P[]): P | undefined {
  return prekeys.filter((p) => p.retiredAt === undefined).sort((a, b) => b.createdAt - a.createdAt)[0];
}

/**
 * Forgets retired prekeys past their grace period, and says which one is current and whether it
 * is due for replacement (none yet, or older than the policy allows). Signed prekeys and
 * last-resort KEM prekeys rotate alike.
 */
async function rotation<P extends StoredSignedPrekey | StoredKemPrekey>(
  prekeys: P[],
  now: number,
  policy: PrekeyPolicy,
  remove: (id: number) => Promise<void>,
): Promise<{ current: P | undefined; due: boolean }> {
  for (const old of prekeys) {
    if (old.retiredAt !== undefined && old.retiredAt + policy.signedPrekeyGraceMs <= now) await remove(old.id);
  }
  const current = newest(prekeys);
  return { current, due: !current || now - current.createdAt >= policy.signedPrekeyMaxAgeMs };
}

/** The signed prekey to publish now. */
export async function currentSignedPrekey(store: KeyStore): Promise<SignedPrekey> {
  const current = newest(await store.getSignedPrekeys());
  if (!current) throw new LiaisonError('NO_IDENTITY', 'no signed prekey yet: call rotateSignedPrekey first');
  return publicSignedPrekey(current);
}

/**
 * Makes a signed prekey when there is none or the current one is older than the policy allows,
 * retiring the old one, and forgets retired ones past their grace period. Returns the new public
 * signed prekey to upload, or undefined when nothing changed.
 */
export async function rotateSignedPrekey(
  store: KeyStore,
  now: number,
  policy: PrekeyPolicy = DEFAULT_PREKEY_POLICY,
): Promise<SignedPrekey | undefined> {
  const identity = await store.getIdentity();
  if (!identity) throw new LiaisonError('NO_IDENTITY', 'the key store has no identity key');
  const all = await store.getSignedPrekeys();
  const { current, due } = await rotation(all, now, policy, (id) => store.removeSignedPrekey(id));
  if (!due) return undefined;
  const fresh = generateSignedPrekey(identity, freshPrekeyId(new Set(all.map((p) => p.id))), now);
  await store.putSignedPrekey(fresh);
  if (current) await store.putSignedPrekey({ ...current, retiredAt: now });
  return publicSignedPrekey(fresh);
}

/**
 * When the relay holds fewer one-time prekeys than the threshold, makes a batch (never more than
 * the relay will hold) and returns their public halves to upload; otherwise an empty list.
 */
export async function refillOneTimePrekeys(
  store: KeyStore,
  countAtRelay: number,
  policy: PrekeyPolicy = DEFAULT_PREKEY_POLICY,
): Promise<OneTimePrekey[]> {
  if (countAtRelay >= policy.oneTimeThreshold) return [];
  const room = Math.max(0, LIMITS.maxOneTimePrekeysStored - countAtRelay);
  const count = Math.min(policy.oneTimeBatch, room, LIMITS.maxOneTimePrekeysPerUpload);
  const taken = new Set(await store.getOneTimePrekeyIds());
  const ids: number[] = [];
  while (ids.length < count) {
    const id = freshPrekeyId(taken);
    taken.add(id);
    ids.push(id);
  }
  const prekeys = generateOneTimePrekeys(ids);
  await store.putOneTimePrekeys(prekeys);
  return prekeys.map((p) => ({ id: p.id, publicKey: encodeBase64url(p.publicKey) }));
}

/** The last-resort KEM prekey to publish now. */
export async function currentLastResortKemPrekey(store: KeyStore): Promise<KemPrekey> {
  const current = newest((await store.getKemPrekeys()).filter((p) => p.lastResort));
  if (!current)
    throw new LiaisonError('NO_IDENTITY', 'no last-resort KEM prekey yet: call rotateLastResortKemPrekey first');
  return publicKemPrekey(current);
}

/**
 * The last-resort KEM prekey, rotated like the signed prekey: made when there is none or the
 * current one is older than the policy allows, the old one retired and kept for the grace period
 * (it may be in use by messages in flight, being handed out to every initiator once the pool is
 * empty). Returns the new public one to upload, or undefined when nothing changed.
 */
export async function rotateLastResortKemPrekey(
  store: KeyStore,
  now: number,
  policy: PrekeyPolicy = DEFAULT_PREKEY_POLICY,
): Promise<KemPrekey | undefined> {
  const identity = await store.getIdentity();
  if (!identity) throw new LiaisonError('NO_IDENTITY', 'the key store has no identity key');
  const all = await store.getKemPrekeys();
  const lastResort = all.filter((p) => p.lastResort);
  const { current, due } = await rotation(lastResort, now, policy, (id) => store.removeKemPrekey(id));
  if (!due) return undefined;
  const fresh = generateKemPrekey(identity, freshPrekeyId(new Set(all.map((p) => p.id))), true, now);
  await store.putKemPrekeys([fresh, ...(current ? [{ ...current, retiredAt: now }] : [])]);
  return publicKemPrekey(fresh);
}

/**
 * When the relay holds fewer one-time KEM prekeys than the threshold, makes a batch (never more
 * than the relay will hold) and returns their public halves to upload; otherwise an empty list.
 */
export async function refillKemPrekeys(
  store: KeyStore,
  countAtRelay: number,
  now: number,
  policy: PrekeyPolicy = DEFAULT_PREKEY_POLICY,
): Promise<KemPrekey[]> {
  if (countAtRelay >= policy.kemThreshold) return [];
  const identity = await store.getIdentity();
  if (!identity) throw new LiaisonError('NO_IDENTITY', 'the key store has no identity key');
  const room = Math.max(0, LIMITS.maxKemPrekeysStored - countAtRelay);
  const count = Math.min(policy.kemBatch, room, LIMITS.maxKemPrekeysPerUpload);
  const taken = new Set((await store.getKemPrekeys()).map((p) => p.id));
  const prekeys: StoredKemPrekey[] = [];
  while (prekeys.length < count) {
    const id = freshPrekeyId(taken);
    taken.add(id);
    prekeys.push(generateKemPrekey(identity, id, false, now));
  }
  await store.putKemPrekeys(prekeys);
  return prekeys.map(publicKemPrekey);
}
