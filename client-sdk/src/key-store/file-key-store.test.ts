import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDevice, read, text } from '../__fixtures__/devices.js';
import { SessionCipher } from '../crypto/session-cipher.js';
import { ready } from '../crypto/sodium.js';
import { FileKeyStore } from './file-key-store.js';
import { MemoryKeyStore } from './memory-key-store.js';

const FAST_ARGON2 = { opsLimit: 2, memLimit: 16 * 1024 * 1024 };
let dir: string;

beforeAll(async () => {
  await ready();
  dir = await mkdtemp(join(tmpdir(), 'liaison-keystore-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('MemoryKeyStore', () => {
  it('hands out copies, so callers cannot change what is stored', async () => {
    const store = new MemoryKeyStore();
    await store.putSession('d', Uint8Array.of(1, 2, 3));
    const got = await store.getSession('d');
    got?.fill(0);
    expect(await store.getSession('d')).toEqual(Uint8Array.of(1, 2, 3));
  });
});

describe('FileKeyStore', () => {
  it('keeps a live session across reopening, with a passphrase', async () => {
    const path = join(dir, 'passphrase.keys');
    const alice = await makeDevice();
    const bobStore = await FileKeyStore.open(path, { passphrase: 'correct horse', argon2: FAST_ARGON2 });
    const bob = await makeDevice();
    // Move Bob's freshly made keys into the file store.
    await bobStore.setIdentity(bob.identity);
    for (const p of await bob.store.getSignedPrekeys()) await bobStore.putSignedPrekey(p);
    const ids = await bob.store.getOneTimePrekeyIds();
    for (const id of ids) {
      const p = await bob.store.getOneTimePrekey(id);
      if (p) await bobStore.putOneTimePrekeys([p]);
    }
    const m1 = await alice.cipher.encrypt(bob.address, text('first'), bob.bundle());
    expect(read(await new SessionCipher(bobStore, bob.address).decrypt(alice.address, m1.body))).toBe('first');

    const reopened = await FileKeyStore.open(path, { passphrase: 'correct horse' });
    const m2 = await alice.cipher.encrypt(bob.address, text('second'));
    expect(read(await new SessionCipher(reopened, bob.address).decrypt(alice.address, m2.body))).toBe('second');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('refuses a wrong passphrase, the wrong kind of secret, an altered file and a foreign file', async () => {
    const path = join(dir, 'locked.keys');
    const store = await FileKeyStore.open(path, { passphrase: 'right', argon2: FAST_ARGON2 });
    await store.putSession('device', text('session'));
    await expect(FileKeyStore.open(path, { passphrase: 'wrong' })).rejects.toMatchObject({ code: 'KEY_STORE_LOCKED' });
    await expect(FileKeyStore.open(path, { key: new Uint8Array(32) })).rejects.toMatchObject({
      code: 'KEY_STORE_LOCKED',
    });

    const bytes = await readFile(path);
    for (const at of [12, 30, bytes.length - 1]) {
      const altered = Buffer.from(bytes);
      altered[at] = (altered[at] as number) ^ 1;
      const copy = join(dir, `altered-${at}.keys`);
      await writeFile(copy, altered);
      await expect(FileKeyStore.open(copy, { passphrase: 'right' })).rejects.toMatchObject({
        code: 'KEY_STORE_LOCKED',
      });
    }
    const foreign = join(dir, 'foreign.keys');
    await writeFile(foreign, 'not a key store');
    await expect(FileKeyStore.open(foreign, { passphrase: 'right' })).rejects.toMatchObject({
      code: 'KEY_STORE_LOCKED',
    });
  });

  it('opens with a 32-byte key supplied by the host application, and holds no plaintext on disk', async () => {
    const path = join(dir, 'hostkey.keys');
    const key = new Uint8Array(32).fill(9);
    const store = await FileKeyStore.open(path, { key });
    await store.putSession('device-x', text('PLAINTEXT-MARKER'));
    expect((await readFile(path)).includes(Buffer.from('PLAINTEXT-MARKER'))).toBe(false);
    const reopened = await FileKeyStore.open(path, { key });
    expect(read((await reopened.getSession('device-x')) ?? new Uint8Array())).toBe('PLAINTEXT-MARKER');
  });

  it('survives being killed mid-write: the file always opens, with the old or the new contents', async () => {
    const path = join(dir, 'crash.keys');
    const writer = join(import.meta.dirname, '__fixtures__', 'write-forever.ts');
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--conditions=@liaison/source', '--import', 'tsx', writer, path], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      // Let it write for a while (it prints once per write), then kill it without warning.
      await new Promise<void>((resolve) => {
        let writes = 0;
        child.stdout.on('data', (chunk: Buffer) => {
          writes += chunk.toString().split('\n').length - 1;
          if (writes >= 20 + round * 7) resolve();
        });
      });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
      const store = await FileKeyStore.open(path, { key: new Uint8Array(32).fill(3) });
      const counter = Number(read((await store.getSession('counter')) ?? text('-1')));
      expect(counter).toBeGreaterThanOrEqual(20 + round * 7 - 1);
    }
    expect((await readdir(dir)).filter((name) => name.startsWith('crash.keys.'))).toEqual([]);
  });
});
