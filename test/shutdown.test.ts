import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RELAY_NODE_FLAGS } from '@liaison/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { freshEnv } from './harness/commands.js';
import { testNetwork } from './harness/network.js';
import { freePort } from './harness/relay-process.js';
import { until } from './harness/until.js';

const repo = resolve(import.meta.dirname, '..');

/**
 * A process started as from a shell, in its own process group, so that whatever it started can be
 * found after it exits.
 */
interface Launched {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

function launch(command: string, args: string[], env: Record<string, string>): Launched {
  const child = spawn(command, args, {
    cwd: repo,
    env: freshEnv(env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, output: () => output, exited };
}

/** True while any process of the group is alive (zombies aside, which their parent reaps). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The ways an operator starts the relay; each must stop gracefully on SIGTERM to the process it started. */
const LAUNCHERS = [
  { name: 'npm start', command: 'npm', args: ['start'] },
  { name: 'node server/dist/main.js', command: process.execPath, args: [...RELAY_NODE_FLAGS, 'server/dist/main.js'] },
];

describe('stopping the relay under load: SIGTERM to whatever launched it', () => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let dir: string;
  let rootFile: string;
  const launched: Launched[] = [];
  const clients: TestClient[] = [];
  const figures: Record<string, unknown>[] = [];

  beforeAll(async () => {
    net = await testNetwork();
    dir = await mkdtemp(join(tmpdir(), 'liaison-shutdown-'));
    rootFile = join(dir, 'seajust.root.json');
    await writeFile(rootFile, JSON.stringify(net.root));
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    for (const { child } of launched) if (child.pid && groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
    console.error(`relay shutdown under load: ${JSON.stringify(figures)}`);
  });

  for (const [n, launcher] of LAUNCHERS.entries()) {
    it(`${launcher.name}: exits 0 within 10 s, leaves no process, and every acknowledged send is delivered after a restart`, async () => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const env = {
        LIAISON_PORT: String(port),
        LIAISON_DATA_DIR: join(dir, `data-${n}`),
        LIAISON_TRUSTED_ROOTS: rootFile,
        LIAISON_DATABASE_URL: '',
        LIAISON_REDIS_URL: '',
        LIAISON_LOG_LEVEL: 'info',
      };
      const start = async (command: string, args: string[]) => {
        const relay = launch(command, args, env);
        launched.push(relay);
        await until(
          () => relay.output().includes('relay.listening') || relay.child.exitCode !== null,
          'the relay to listen',
          120_000,
        );
        expect(relay.output()).toContain('relay.listening');
        return relay;
      };
      const relay = await start(launcher.command, launcher.args);

      // Eight contact points send as fast as the relay answers; two receive, offline (once registered)
      // until the restart.
      const recipients = await Promise.all(
        ['r1', 'r2'].map(async (name) => {
          const device = await net.authority(`vn-${n}`, 'VN').contactPoint(`${name}-${n}`).addDevice();
          await (await startClient(url, device, [net.root])).client.close();
          return { id: `vn-${n}.${name}-${n}`, device };
        }),
      );
      const senders = await Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const device = await net.authority(`th-${n}`, 'TH').contactPoint(`s${i}-${n}`).addDevice();
          const c = await startClient(url, device, [net.root]);
          clients.push(c);
          return c;
        }),
      );
      const acknowledged = new Map<string, string>();
      let sending = true;
      // A send the relay never acknowledged (it was stopping, or the SDK gave up) is not counted.
      const loops = senders.map(async (sender, i) => {
        for (let k = 0; sending; k++) {
          const to = recipients[k % 2]?.id as string;
          const { messageId } = await sender.client
            .send(to, { text: `load ${i}/${k}` })
            .catch(() => ({ messageId: '' }));
          if (messageId) acknowledged.set(messageId, to);
        }
      });
      await until(() => acknowledged.size >= 40, 'sends under load', 60_000);

      const pid = relay.child.pid as number;
      const signalled = Date.now();
      process.kill(pid, 'SIGTERM');
      const code = await relay.exited;
      const stoppedMs = Date.now() - signalled;
      sending = false;
      expect(code).toBe(0);
      expect(stoppedMs).toBeLessThan(10_000);
      expect(relay.output()).toContain('relay stopped');
      // Nothing left behind: no process of the group (npm's relay included), nobody on the port.
      await until(() => !groupAlive(pid), 'every process of the group to end', 2000);
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      const acknowledgedAtStop = acknowledged.size;

      // Restarted on the same data, the relay hands the recipients everything it acknowledged, also
      // the sends the SDK retried while it was down.
      const restarted = await start(process.execPath, [...RELAY_NODE_FLAGS, 'server/dist/main.js']);
      await Promise.all(loops);
      for (const { id, device } of recipients) {
        const client = await startClient(url, device, [net.root]);
        clients.push(client);
        const expected = [...acknowledged].filter(([, to]) => to === id).map(([messageId]) => messageId);
        await until(
          () => expected.every((m) => client.messages.some((got) => got.messageId === m)),
          `${expected.length} acknowledged messages for ${id}`,
          60_000,
        );
      }
      figures.push({ launcher: launcher.name, stoppedMs, acknowledgedAtStop, acknowledged: acknowledged.size });

      process.kill(restarted.child.pid as number, 'SIGTERM');
      expect(await restarted.exited).toBe(0);
    }, 240_000);
  }
});
