import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyStoreContract } from '../testing.js';
import { FAST_ARGON2 } from './__fixtures__/fast-argon2.js';
import { FileKeyStore } from './file-key-store.js';
import type { KeyStore } from './key-store.js';
import { MemoryKeyStore } from './memory-key-store.js';

// The SDK's own key stores run the contract suite it exports, through the same entry an agency uses.

keyStoreContract({ describe, it, expect }, 'MemoryKeyStore', {
  open: async () => new MemoryKeyStore(),
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'liaison-keystore-contract-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

// Passphrase-protected, as `liaison device new` makes it; reopened with the passphrase alone, so
// the Argon2 cost is read back from the file.
const paths = new WeakMap<KeyStore, string>();
let files = 0;
keyStoreContract({ describe, it, expect }, 'FileKeyStore', {
  async open() {
    const path = join(dir, `store-${++files}.keys`);
    const store = await FileKeyStore.open(path, { passphrase: 'correct horse battery', argon2: FAST_ARGON2 });
    paths.set(store, path);
    return store;
  },
  async reopen(store) {
    const path = paths.get(store) as string;
    const reopened = await FileKeyStore.open(path, { passphrase: 'correct horse battery' });
    paths.set(reopened, path);
    return reopened;
  },
});
