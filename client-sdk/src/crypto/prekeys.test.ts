import { decodeBase64url, encodeKemPrekey, encodeSignedPrekey, LIMITS } from '@liaison/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOW } from '../__fixtures__/devices.js';
import { MemoryKeyStore } from '../key-store/memory-key-store.js';
import { generateIdentityKeyPair, verifySignature } from './keys.js';
import {
  currentLastResortKemPrekey,
  currentSignedPrekey,
  DEFAULT_PREKEY_POLICY,
  refillKemPrekeys,
  refillOneTimePrekeys,
  rotateLastResortKemPrekey,
  rotateSignedPrekey,
} from './prekeys.js';
import { ready } from './sodium.js';

beforeAll(ready);

const DAY = 24 * 3600 * 1000;

async function storeWithIdentity() {
  const store = new MemoryKeyStore();
  const identity = generateIdentityKeyPair();
  await store.setIdentity(identity);
  return { store, identity };
}

describe('signed prekey rotation', () => {
  it('creates a signed prekey, keeps it while young, then replaces it and forgets the old after the grace period', async () => {
    const { store, identity } = await storeWithIdentity();
    const first = await rotateSignedPrekey(store, NOW);
    expect(first).toBeDefined();
    if (!first) return;
    expect(
      verifySignature(
        identity.publicKey,
        encodeSignedPrekey(first),
        Uint8Array.from(Buffer.from(first.signature, 'base64url')),
      ),
    ).toBe(true);
    expect(await rotateSignedPrekey(store, NOW + DAY)).toBeUndefined();

    const second = await rotateSignedPrekey(store, NOW + DEFAULT_PREKEY_POLICY.signedPrekeyMaxAgeMs);
    expect(second?.id).not.toBe(first.id);
    expect(await currentSignedPrekey(store)).toEqual(second);
    // The replaced one still decrypts prekey messages in flight during the grace period...
    expect((await store.getSignedPrekeys()).map((p) => p.id).sort()).toEqual([first.id, second?.id].sort());
    // ...and is gone after it.
    const later = NOW + DEFAULT_PREKEY_POLICY.signedPrekeyMaxAgeMs + DEFAULT_PREKEY_POLICY.signedPrekeyGraceMs;
    await rotateSignedPrekey(store, later);
    expect((await store.getSignedPrekeys()).map((p) => p.id)).not.toContain(first.id);
  });
});

describe('one-time prekey refill', () => {
  it('refills below the threshold only, within what the relay holds, with unique ids', async () => {
    const { store } = await storeWithIdentity();
    expect(await refillOneTimePrekeys(store, LIMITS.oneTimePrekeyLowWatermark)).toEqual([]);
    const batch = await refillOneTimePrekeys(store, 0);
    expect(batch).toHaveLength(LIMITS.maxOneTimePrekeysPerUpload);
    const second = await refillOneTimePrekeys(store, LIMITS.maxOneTimePrekeysStored - 5, {
      ...DEFAULT_PREKEY_POLICY,
      oneTimeThreshold: LIMITS.maxOneTimePrekeysStored,
    });
    expect(second).toHaveLength(5);
    const ids = [...batch, ...second].map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect((await store.getOneTimePrekeyIds()).length).toBe(ids.length);
  });
});

describe('KEM prekeys', () => {
  const signedByDevice = (
    identity: { publicKey: Uint8Array },
    prekey: Parameters<typeof encodeKemPrekey>[0] & { signature: string },
  ) => verifySignature(identity.publicKey, encodeKemPrekey(prekey), decodeBase64url(prekey.signature) as Uint8Array);

  it('rotates the last-resort one like the signed prekey, keeping the old one for the grace period', async () => {
    const { store, identity } = await storeWithIdentity();
    const first = await rotateLastResortKemPrekey(store, NOW);
    if (!first) throw new Error('no last-resort KEM prekey made');
    expect(first).toMatchObject({ keyType: 'ml-kem-768', lastResort: true, createdAt: NOW });
    expect(decodeBase64url(first.publicKey)?.length).toBe(1184);
    expect(signedByDevice(identity, first)).toBe(true);
    expect(await rotateLastResortKemPrekey(store, NOW + DAY)).toBeUndefined();
    expect(await currentLastResortKemPrekey(store)).toEqual(first);

    const second = await rotateLastResortKemPrekey(store, NOW + DEFAULT_PREKEY_POLICY.signedPrekeyMaxAgeMs);
    expect(second?.id).not.toBe(first.id);
    expect(await currentLastResortKemPrekey(store)).toEqual(second);
    const retired = await store.getKemPrekey(first.id);
    expect(retired?.retiredAt).toBe(NOW + DEFAULT_PREKEY_POLICY.signedPrekeyMaxAgeMs);
    const later = NOW + DEFAULT_PREKEY_POLICY.signedPrekeyMaxAgeMs + DEFAULT_PREKEY_POLICY.signedPrekeyGraceMs;
    await rotateLastResortKemPrekey(store, later);
    expect(await store.getKemPrekey(first.id)).toBeUndefined();
  });

  it('refills the one-time pool below the threshold only, signed, with ids unique among all KEM prekeys', async () => {
    const { store, identity } = await storeWithIdentity();
    const lastResort = await rotateLastResortKemPrekey(store, NOW);
    expect(await refillKemPrekeys(store, LIMITS.kemPrekeyLowWatermark, NOW)).toEqual([]);
    const batch = await refillKemPrekeys(store, 0, NOW);
    expect(batch).toHaveLength(LIMITS.maxKemPrekeysPerUpload);
    expect(batch.every((p) => !p.lastResort && signedByDevice(identity, p))).toBe(true);
    const topUp = await refillKemPrekeys(store, LIMITS.maxKemPrekeysStored - 3, NOW, {
      ...DEFAULT_PREKEY_POLICY,
      kemThreshold: LIMITS.maxKemPrekeysStored,
    });
    expect(topUp).toHaveLength(3);
    const ids = [lastResort?.id, ...batch.map((p) => p.id), ...topUp.map((p) => p.id)];
    expect(new Set(ids).size).toBe(ids.length);
    // The store keeps each as its 64-byte seed, not as a key pair.
    const stored = await store.getKemPrekeys();
    expect(stored).toHaveLength(ids.length);
    expect(stored.every((p) => p.seed.length === 64)).toBe(true);
  });
});
