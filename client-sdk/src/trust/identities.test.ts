import { beforeAll, describe, expect, it } from 'vitest';
import { NOW } from '../__fixtures__/devices.js';
import { generateIdentityKeyPair } from '../crypto/keys.js';
import { ready } from '../crypto/sodium.js';
import { MemoryKeyStore } from '../key-store/memory-key-store.js';
import { acceptPeerIdentity, checkPeerIdentity, markPeerVerified } from './identities.js';

beforeAll(ready);

describe('peer identities', () => {
  it('records the first key, refuses a changed one until accepted, and tracks verification', async () => {
    const store = new MemoryKeyStore();
    const key = generateIdentityKeyPair().publicKey;
    const other = generateIdentityKeyPair().publicKey;
    expect(await checkPeerIdentity(store, 'vn-spp.lan', key, NOW)).toBe('new');
    expect(await checkPeerIdentity(store, 'vn-spp.lan', key, NOW)).toBe('known');
    await markPeerVerified(store, 'vn-spp.lan', key, NOW);
    expect(await checkPeerIdentity(store, 'vn-spp.lan', key, NOW)).toBe('verified');
    await expect(checkPeerIdentity(store, 'vn-spp.lan', other, NOW)).rejects.toMatchObject({
      code: 'UNTRUSTED_IDENTITY',
      message: expect.stringContaining('since you verified it'),
    });
    await expect(markPeerVerified(store, 'vn-spp.lan', other, NOW)).rejects.toMatchObject({
      code: 'UNTRUSTED_IDENTITY',
    });
    await acceptPeerIdentity(store, 'vn-spp.lan', other, NOW + 1);
    expect(await checkPeerIdentity(store, 'vn-spp.lan', other, NOW)).toBe('known');
  });
});
