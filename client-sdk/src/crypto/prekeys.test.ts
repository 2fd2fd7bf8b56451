import { encodeSignedPrekey, LIMITS } from '@liaison/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOW } from '../__fixtures__/devices.js';
import { MemoryKeyStore } from '../key-store/memory-key-store.js';
import { generateIdentityKeyPair, verifySignature } from './keys.js';
import { currentSignedPrekey, DEFAULT_PREKEY_POLICY, refillOneTimePrekeys, rotateSignedPrekey } from './prekeys.js';
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
