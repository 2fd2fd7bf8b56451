import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeBase64url } from '@liaison/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand as run } from './harness/commands.js';
import { testNetwork } from './harness/network.js';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';

const repo = resolve(import.meta.dirname, '..');

// What an agency tool does with the SDK, with nothing of this repository but the two tarballs.
const SCRIPT = `
import { readFile } from 'node:fs/promises';
import { LiaisonClient } from '@liaison/client';
import { FileKeyStore } from '@liaison/client/node';
import { decodeBase64url } from '@liaison/protocol';

const [serverUrl, fixture, storePath] = process.argv.slice(2);
const { root, chain, identity } = JSON.parse(await readFile(fixture, 'utf8'));
const keyStore = await FileKeyStore.open(storePath, { key: new Uint8Array(32).fill(7) });
await keyStore.setIdentity({ publicKey: decodeBase64url(identity.publicKey), privateKey: decodeBase64url(identity.privateKey) });
const client = await LiaisonClient.create({ serverUrl, keyStore, trustedRoots: [root], chain });
await client.connect();
console.log(JSON.stringify({ connected: chain.device.deviceId }));
await client.close();
process.exit(0);
`;

// An agency's key store tests: the SDK's contract suite under node:test, from the installed packages,
// with no test library (docs/client.md), run here against the SDK's own two stores.
const CONTRACT = `
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MemoryKeyStore } from '@liaison/client';
import { FileKeyStore } from '@liaison/client/node';
import { keyStoreContract } from '@liaison/client/testing';

const expect = (actual) => ({ toEqual: (e) => assert.deepStrictEqual(actual, e), toBe: (e) => assert.strictEqual(actual, e) });
const dir = mkdtempSync(join(tmpdir(), 'agency-key-stores-'));
const key = new Uint8Array(32).fill(5);
const paths = new WeakMap();
let files = 0;
const openFile = async (path) => {
  const store = await FileKeyStore.open(path, { key });
  paths.set(store, path);
  return store;
};
keyStoreContract({ describe, it, expect }, 'MemoryKeyStore', { open: async () => new MemoryKeyStore() });
keyStoreContract({ describe, it, expect }, 'FileKeyStore', {
  open: () => openFile(join(dir, \`store-\${++files}.keys\`)),
  reopen: (store) => openFile(paths.get(store)),
});
`;

// A consumer type-checked against the published declarations, strictly and with no skipLibCheck.
const CONSUMER = `
import { LiaisonClient, type LiaisonClientOptions, MemoryKeyStore, type ReceivedMessage } from '@liaison/client';
import { FileKeyStore } from '@liaison/client/node';
import { type KeyStoreUnderTest, keyStoreContract } from '@liaison/client/testing';
import { LIMITS, type TrustedRoot } from '@liaison/protocol';

// The contract suite's declarations: any runner's describe, it and expect fit.
const subject: KeyStoreUnderTest = { open: async () => new MemoryKeyStore() };
keyStoreContract(
  { describe: (_name, body) => body(), it: () => undefined, expect: () => ({ toEqual: () => true, toBe: () => true }) },
  'MemoryKeyStore',
  subject,
);

export async function start(serverUrl: string, root: TrustedRoot, chain: LiaisonClientOptions['chain']) {
  const client = await LiaisonClient.create({ serverUrl, keyStore: new MemoryKeyStore(), trustedRoots: [root], chain });
  client.on('message', (m: ReceivedMessage) => {
    const subject: string | undefined = m.subject;
    return subject;
  });
  // @ts-expect-error a recipient is a contact-point id: the types are real, not \`any\`
  await client.send(42, { text: 'x' });
  const files: FileKeyStore = await FileKeyStore.open('keys', { passphrase: 'a long passphrase' });
  return { client, files, frame: LIMITS.maxSocketPayloadBytes as number };
}
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2023'],
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    types: ['node'],
    strict: true,
    noEmit: true,
  },
  files: ['consumer.ts'],
};

describe('the SDK as an npm package, outside this workspace', () => {
  let dir: string;
  let relay: RelayProcess;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let packed: { name: string; filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'liaison-consumer-'));
    // prepack builds each package first; the test's globalSetup already did, so this only checks.
    const json = await run(
      'npm',
      ['pack', '--json', '--pack-destination', dir, '-w', '@liaison/protocol', '-w', '@liaison/client'],
      repo,
    );
    packed = JSON.parse(json.slice(json.indexOf('[')));
    const app = join(dir, 'agency-tool');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'agency-tool', private: true, type: 'module' }));
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', ...packed.map((p) => join(dir, p.filename)), '@types/node@20'],
      app,
    );
    net = await testNetwork();
    relay = await spawnRelay([net.root]);
  }, 300_000);
  afterAll(async () => {
    await relay?.stop();
    await rm(dir, { recursive: true, force: true });
    console.error(
      `packages: ${JSON.stringify(packed?.map((p) => ({ name: p.name, size: p.size, unpackedSize: p.unpackedSize, files: p.files.length })))}`,
    );
  });

  it('packs compiled JavaScript with its declarations and maps, and no source, tests or build state', () => {
    expect(packed.map((p) => p.name).sort()).toEqual(['@liaison/client', '@liaison/protocol']);
    for (const { files } of packed) {
      const paths = files.map((f) => f.path);
      expect(paths).toContain('dist/index.js');
      expect(paths).toContain('dist/index.d.ts');
      expect(paths).toContain('dist/index.js.map');
      expect(paths.filter((p) => !/^(dist\/.+\.(js|d\.ts|js\.map)|bin\/liaison\.js|package\.json)$/.test(p))).toEqual(
        [],
      );
      expect(paths.filter((p) => /\.test\.|__fixtures__/.test(p))).toEqual([]);
    }
  });

  it('runs with plain node: a script creates a client from the installed packages and connects to a relay', async () => {
    const app = join(dir, 'agency-tool');
    const device = await net.authority('th-oag', 'TH').contactPoint('agency').addDevice();
    const fixture = join(dir, 'device.json');
    await writeFile(
      fixture,
      JSON.stringify({
        root: net.root,
        chain: device.chain,
        identity: {
          publicKey: encodeBase64url(device.identity.publicKey),
          privateKey: encodeBase64url(device.identity.privateKey),
        },
      }),
    );
    await writeFile(join(app, 'connect.mjs'), SCRIPT);
    const out = await run(process.execPath, ['connect.mjs', relay.url, fixture, join(dir, 'agency.keys')], app);
    expect(JSON.parse(out)).toEqual({ connected: device.id });
  });

  it('installs the liaison admin CLI, which runs from the compiled code', async () => {
    const app = join(dir, 'agency-tool');
    const out = await run(
      join(app, 'node_modules/.bin/liaison'),
      ['network', 'init', '--id', 'demo', '--name', 'Demo', '--out', join(dir, 'demo')],
      app,
      { LIAISON_PASSPHRASE: 'a long demo passphrase' },
    );
    expect(out).toContain('Network "Demo" (demo) created.');
    expect(JSON.parse(await readFile(join(dir, 'demo.root.json'), 'utf8'))).toMatchObject({ networkId: 'demo' });
  });

  it('runs the exported key-store contract suite under node:test, with no test library installed', async () => {
    const app = join(dir, 'agency-tool');
    await writeFile(join(app, 'key-store.test.mjs'), CONTRACT);
    const out = await run(process.execPath, ['--test', '--test-reporter=tap', 'key-store.test.mjs'], app);
    expect(out).toContain('KeyStore contract: FileKeyStore');
    expect(out).toContain('keeps everything across reopening, deletions included');
    expect(out).toMatch(/^# fail 0$/m);
    expect(Number(/^# pass (\d+)$/m.exec(out)?.[1])).toBeGreaterThan(20);
  });

  it('type-checks a strict TypeScript consumer against the published declarations', async () => {
    const app = join(dir, 'agency-tool');
    await writeFile(join(app, 'consumer.ts'), CONSUMER);
    await writeFile(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    // The compiler is this workspace's; every type it reads comes from the consumer's node_modules.
    await run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app);
  });
});
