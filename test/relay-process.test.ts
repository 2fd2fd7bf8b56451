import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, http, register, token } from './harness/device-client.js';
import { buildSend } from './harness/messaging.js';
import { testNetwork } from './harness/network.js';

const repo = resolve(import.meta.dirname, '..');

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

describe('the relay as a process (npm start, configured by the environment)', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  let output = '';
  let net: Awaited<ReturnType<typeof testNetwork>>;

  beforeAll(async () => {
    net = await testNetwork();
    dir = await mkdtemp(join(tmpdir(), 'liaison-process-'));
    await writeFile(join(dir, 'seajust.root.json'), JSON.stringify(net.root));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: join(repo, 'server'),
      env: {
        ...process.env,
        PORT: String(port),
        DATA_DIR: join(dir, 'data'),
        LIAISON_TRUSTED_ROOTS: join(dir, 'seajust.root.json'),
        LOG_LEVEL: 'debug',
        DATABASE_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const started = Date.now();
    while (!output.includes('relay.listening')) {
      if (Date.now() - started > 30_000 || child.exitCode !== null) throw new Error(`relay did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('starts on embedded PGlite, reports ready, serves devices, logs no secrets, and stops on SIGTERM', async () => {
    expect(output).toContain(`Liaison relay listening on ${url}`);
    expect(await http(url, 'GET', '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    expect(await http(url, 'GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });

    const alice = await net.authority('th-oag', 'TH').contactPoint('alice').addDevice();
    const bob = await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice();
    expect((await register(url, alice)).status).toBe(200);
    expect((await register(url, bob)).status).toBe(200);
    const secretToken = await token(url, alice);
    const a = await connect(url, alice);
    const request = await buildSend(url, alice, 'vn-spp.bob', 'LOGMARKER plaintext');
    expect((await a.call('send', request)).ok).toBe(true);
    a.close();

    for (const secret of ['LOGMARKER', secretToken, request.envelopes[0]?.ciphertext.slice(0, 40) as string]) {
      expect(output.includes(secret)).toBe(false);
    }
    for (const line of output
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))) {
      expect(() => JSON.parse(line)).not.toThrow();
    }

    child.kill('SIGTERM');
    const code = await new Promise((done) => child.once('exit', done));
    expect(code).toBe(0);
    expect(output).toContain('relay stopped');
  });
});
