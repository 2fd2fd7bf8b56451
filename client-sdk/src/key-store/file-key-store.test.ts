import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { read, text } from '../__fixtures__/devices.js';
import { ready } from '../crypto/sodium.js';
import { FAST_ARGON2 } from './__fixtures__/fast-argon2.js';
import { FileKeyStore } from './file-key-store.js';

let dir: string;

beforeAll(async () => {
  await ready();
  dir = await mkdtemp(join(tmpdir(), 'liaison-keystore-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

// What every key store does (round trips, copies, concurrency, a live session across reopening)
// is the contract suite's, in key-store.test.ts; this file tests what only the file store does.
describe('FileKeyStore', () => {
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

  it('opens with a 32-byte key supplied by the host application, and holds no plaintext on disk, readable by its owner only', async () => {
    const path = join(dir, 'hostkey.keys');
    const key = new Uint8Array(32).fill(9);
    const store = await FileKeyStore.open(path, { key });
    await store.putSession('device-x', text('PLAINTEXT-MARKER'));
    expect((await readFile(path)).includes(Buffer.from('PLAINTEXT-MARKER'))).toBe(false);
    const reopened = await FileKeyStore.open(path, { key });
    expect(read((await reopened.getSession('device-x')) ?? new Uint8Array())).toBe('PLAINTEXT-MARKER');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
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
