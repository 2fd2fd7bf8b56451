/**
 * Relay throughput and latency beside the transport's ceiling, measured in the same run.
 *
 * N clients on loopback, client i sending 1 KiB envelopes to client i+1 (each its own contact
 * point), at fixed arrival rates stepped up until latency breaks (open loop: sends start on
 * schedule whether or not earlier ones were answered). Recipients acknowledge each envelope as the
 * SDK does. The same load generator drives a plain socket.io server that acknowledges and forwards
 * with no storage, authentication or crypto (baseline-server.ts): relay / baseline is the figure.
 * The payload is opaque bytes of the size of an encrypted 1 KiB message: the relay never decrypts,
 * and encrypting here would measure this process instead of the relay.
 *
 *   npm run bench -w @liaison/test                 (100 and 1,000 clients, then 5,000 idle connections)
 *   npm run bench -w @liaison/test -- --quick      (100 clients, 1,000 idle connections)
 *
 * PGlite always; PostgreSQL too when LIAISON_BENCH_DATABASE_URL names a server (a throwaway
 * database is created there per run and dropped). Writes bench-results/relay.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { encodeBase64url } from '@liaison/protocol';
import pg from 'pg';
import { io, type Socket } from 'socket.io-client';
import { proof, register } from '../harness/device-client.js';
import { type TestDevice, testNetwork } from '../harness/network.js';
import { cpuSeconds, memoryMb } from '../harness/proc.js';
import { type RelayProcess, spawnRelay } from '../harness/relay-process.js';

const quick = process.argv.includes('--quick');
const CLIENTS = quick ? [100] : [100, 1000];
const IDLE_CONNECTIONS = quick ? 1000 : 5000;
const STEP_SECONDS = quick ? 2 : 3;
const FIRST_RATE = 200;
const GROWTH = 1.6;
const MAX_STEPS = quick ? 7 : 9;
/** A step "breaks" when p99 send→deliver passes this, or when less than 90% of what was offered was delivered. */
const BREAK_P99_MS = 1000;
const DRAIN_MS = 10_000;
const CIPHERTEXT = encodeBase64url(crypto.getRandomValues(new Uint8Array(1024 + 120)));
const TICK_HZ = 100;

// ---- the two servers under test -----------------------------------------------------------------

interface Target {
  name: string;
  url: string;
  pid: () => number;
  /** Sockets for `n` clients, each knowing which device id it is and whom it sends to. */
  clients(n: number): Promise<LoadClient[]>;
  stop(): Promise<void>;
}

interface LoadClient {
  socket: Socket;
  deviceId: string;
  peer: { deviceId: string; contactPointId: string };
}

const serverCount = { n: 0 };

async function relayTarget(name: string, databaseUrl: string | undefined): Promise<Target> {
  const net = await testNetwork(`bench${serverCount.n++}`);
  const relay: RelayProcess = await spawnRelay([net.root], {
    AUTH_ATTEMPTS_PER_MINUTE: '10000000',
    SENDS_PER_MINUTE: '10000000',
    ...(databaseUrl && { DATABASE_URL: databaseUrl }),
  });
  let created = 0;
  return {
    name,
    url: relay.url,
    pid: () => relay.pid(),
    async clients(n) {
      const devices: TestDevice[] = [];
      const authority = net.authority('bench', 'TH');
      for (let i = 0; i < n; i++) {
        const device = await authority.contactPoint(`c${created++}`).addDevice();
        const registered = await register(relay.url, device, 1);
        if (registered.status !== 200) throw new Error(`register: ${JSON.stringify(registered.body)}`);
        devices.push(device);
      }
      return Promise.all(
        devices.map(async (device, i) => {
          const peer = devices[(i + 1) % n] as TestDevice;
          const socket = io(relay.url, {
            transports: ['websocket'],
            reconnection: false,
            auth: { proof: await proof(relay.url, device, 'socket') },
          });
          await connected(socket);
          return {
            socket,
            deviceId: device.id,
            peer: { deviceId: peer.id, contactPointId: peer.chain.contactPoint.contactPointId },
          };
        }),
      );
    },
    stop: async () => {
      await relay.stop();
    },
  };
}

async function baselineTarget(): Promise<Target> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(import.meta.dirname, 'baseline-server.ts')],
    {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const port = await new Promise<number>((done, fail) => {
    let output = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) done(Number(match[1]));
    });
    child.once('exit', () => fail(new Error(`baseline server exited: ${output}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  let created = 0;
  return {
    name: 'socket.io baseline',
    url,
    pid: () => child.pid as number,
    async clients(n) {
      const ids = Array.from({ length: n }, () => `d${created++}`);
      return Promise.all(
        ids.map(async (deviceId, i) => {
          const socket = io(url, { transports: ['websocket'], reconnection: false, auth: { deviceId } });
          await connected(socket);
          return { socket, deviceId, peer: { deviceId: ids[(i + 1) % n] as string, contactPointId: 'baseline' } };
        }),
      );
    },
    stop: () =>
      new Promise<void>((done) => {
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

function connected(socket: Socket): Promise<void> {
  return new Promise((done, fail) => {
    socket.once('connect', () => done());
    socket.once('connect_error', (error) => fail(error));
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

// ---- the load ----------------------------------------------------------------------------------

interface StepResult {
  offered: number;
  deliveredPerSecond: number;
  ackP50: number;
  ackP99: number;
  deliverP50: number;
  deliverP99: number;
  cpuPer1000: number;
  broken: boolean;
}

/** What happened to each message of a ramp, whichever step sent it. */
class Ledger {
  readonly sent = new Map<string, { at: number; step: StepLedger }>();
  readonly delivered = new Set<string>();
  acked = 0;
  duplicates = 0;
  refused = 0;

  constructor(clients: LoadClient[]) {
    for (const client of clients) {
      client.socket.on('envelope', (envelope: { messageId: string }) => {
        const sent = this.sent.get(envelope.messageId);
        if (this.delivered.has(envelope.messageId)) this.duplicates++;
        else if (sent) {
          this.delivered.add(envelope.messageId);
          sent.step.deliverMs.push(performance.now() - sent.at);
          sent.step.delivered++;
          sent.step.lastDeliveryAt = performance.now();
        }
        client.socket.emit('envelopes:ack', { messageIds: [envelope.messageId] }, () => undefined);
      });
    }
  }

  get settled(): boolean {
    return this.delivered.size === this.sent.size && this.acked + this.refused === this.sent.size;
  }
}

interface StepLedger {
  ackMs: number[];
  deliverMs: number[];
  delivered: number;
  lastDeliveryAt: number;
}

/** Sends at `rate` per second for STEP_SECONDS, then waits (bounded) for this step's messages. */
async function step(target: Target, clients: LoadClient[], ledger: Ledger, rate: number): Promise<StepResult> {
  const mine: StepLedger = { ackMs: [], deliverMs: [], delivered: 0, lastDeliveryAt: 0 };
  const cpuBefore = cpuSeconds(target.pid());
  const started = performance.now();
  const total = Math.round(rate * STEP_SECONDS);
  let issued = 0;
  let next = 0;
  // Ticks many times a second, each sending what is due: the arrival rate holds whatever the answers do.
  while (issued < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; issued < due; issued++) {
      const client = clients[next] as LoadClient;
      next = (next + 1) % clients.length;
      const messageId = crypto.randomUUID();
      const at = performance.now();
      ledger.sent.set(messageId, { at, step: mine });
      client.socket.emit(
        'send',
        {
          messageId,
          recipient: client.peer.contactPointId,
          priority: 'normal',
          createdAt: Date.now(),
          envelopes: [
            { recipientDevice: client.peer.deviceId, kind: 'message', ciphertext: CIPHERTEXT, escalationLevel: 0 },
          ],
        },
        (result: { ok: boolean }) => {
          if (!result?.ok) {
            ledger.refused++;
            return;
          }
          mine.ackMs.push(performance.now() - at);
          ledger.acked++;
        },
      );
    }
    await new Promise((r) => setTimeout(r, 1000 / TICK_HZ));
  }
  const drainUntil = performance.now() + DRAIN_MS;
  while ((mine.delivered < total || mine.ackMs.length < total) && performance.now() < drainUntil) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const cpu = cpuSeconds(target.pid()) - cpuBefore;
  mine.ackMs.sort((a, b) => a - b);
  mine.deliverMs.sort((a, b) => a - b);
  const seconds = Math.max(STEP_SECONDS, (mine.lastDeliveryAt - started) / 1000);
  const deliverP99 = percentile(mine.deliverMs, 99);
  return {
    offered: rate,
    deliveredPerSecond: mine.delivered / seconds,
    ackP50: percentile(mine.ackMs, 50),
    ackP99: percentile(mine.ackMs, 99),
    deliverP50: percentile(mine.deliverMs, 50),
    deliverP99,
    cpuPer1000: (cpu / Math.max(1, mine.delivered)) * 1000,
    broken: mine.delivered < 0.9 * total || !(deliverP99 <= BREAK_P99_MS),
  };
}

async function ramp(target: Target, n: number) {
  const clients = await target.clients(n);
  const ledger = new Ledger(clients);
  const steps: StepResult[] = [];
  for (let i = 0, rate = FIRST_RATE; i < MAX_STEPS; i++, rate = Math.round(rate * GROWTH)) {
    const result = await step(target, clients, ledger, rate);
    steps.push(result);
    if (result.broken) break;
  }
  // Whatever the last step left under way must still arrive, once.
  const settleUntil = performance.now() + 60_000;
  while (!ledger.settled && performance.now() < settleUntil) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500));
  for (const c of clients) c.socket.close();
  const held = steps.filter((s) => !s.broken);
  const best = held.reduce<StepResult | undefined>(
    (a, s) => (!a || s.deliveredPerSecond > a.deliveredPerSecond ? s : a),
    undefined,
  );
  const totals = {
    sent: ledger.sent.size,
    acked: ledger.acked,
    delivered: ledger.delivered.size,
    duplicates: ledger.duplicates,
    refused: ledger.refused,
  };
  return {
    target: target.name,
    clients: n,
    capacity: best?.deliveredPerSecond ?? 0,
    atCapacity: best,
    peakMemoryMb: memoryMb(target.pid(), 'VmHWM'),
    totals,
    exact: totals.sent === totals.acked && totals.acked === totals.delivered && totals.duplicates === 0,
    steps,
  };
}

/** Memory the relay needs per idle authenticated connection. */
async function idleConnections(target: Target, n: number) {
  const before = memoryMb(target.pid(), 'VmRSS');
  const clients = await target.clients(n);
  await new Promise((r) => setTimeout(r, 2000));
  const after = memoryMb(target.pid(), 'VmRSS');
  for (const c of clients) c.socket.close();
  return {
    target: target.name,
    connections: n,
    rssBeforeMb: before,
    rssAfterMb: after,
    kbPerConnection: ((after - before) * 1024) / n,
  };
}

// ---- the run -------------------------------------------------------------------------------------

const backends: { name: string; url: () => Promise<string | undefined>; drop: () => Promise<void> }[] = [
  { name: 'relay, PGlite', url: async () => undefined, drop: async () => undefined },
];
const server = process.env.LIAISON_BENCH_DATABASE_URL;
if (server) {
  const databases: string[] = [];
  backends.push({
    name: 'relay, PostgreSQL',
    url: async () => {
      const name = `liaison_bench_${process.pid}_${databases.length}`;
      const admin = new pg.Client({ connectionString: server });
      await admin.connect();
      await admin.query(`create database ${name}`);
      await admin.end();
      databases.push(name);
      const url = new URL(server);
      url.pathname = `/${name}`;
      return url.toString();
    },
    drop: async () => {
      const admin = new pg.Client({ connectionString: server });
      await admin.connect();
      for (const name of databases.splice(0)) await admin.query(`drop database ${name} with (force)`);
      await admin.end();
    },
  });
} else {
  console.error('(set LIAISON_BENCH_DATABASE_URL to a PostgreSQL server to measure the relay on it too)');
}

const runs: Awaited<ReturnType<typeof ramp>>[] = [];
for (const n of CLIENTS) {
  const baseline = await baselineTarget();
  try {
    runs.push(await ramp(baseline, n));
  } finally {
    await baseline.stop();
  }
  for (const backend of backends) {
    const relay = await relayTarget(backend.name, await backend.url());
    try {
      runs.push(await ramp(relay, n));
    } finally {
      await relay.stop();
      await backend.drop();
    }
  }
}
const idle = [];
for (const make of [() => baselineTarget(), () => relayTarget('relay, PGlite', undefined)]) {
  const target = await make();
  try {
    idle.push(await idleConnections(target, IDLE_CONNECTIONS));
  } finally {
    await target.stop();
  }
}

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(1));
console.error(
  `Liaison relay benchmark (${quick ? 'quick' : 'full'}), Node ${process.version}, loopback, 1 KiB envelopes`,
);
console.error('Steps of each ramp (open loop):');
console.table(
  runs.flatMap((r) =>
    r.steps.map((s) => ({
      target: r.target,
      clients: r.clients,
      'offered/s': s.offered,
      'delivered/s': Math.round(s.deliveredPerSecond),
      'ack p50 ms': ms(s.ackP50),
      'ack p99 ms': ms(s.ackP99),
      'deliver p50 ms': ms(s.deliverP50),
      'deliver p99 ms': ms(s.deliverP99),
      'server CPU s / 1000 msgs': s.cpuPer1000.toFixed(3),
      broke: s.broken ? 'yes' : '',
    })),
  ),
);
console.error('Capacity (highest delivered/s of a step that held) and ratio to the baseline at the same client count:');
console.table(
  runs.map((r) => {
    const base = runs.find((b) => b.clients === r.clients && b.target === 'socket.io baseline');
    return {
      target: r.target,
      clients: r.clients,
      'messages/s': Math.round(r.capacity),
      'ratio to baseline': base ? (r.capacity / base.capacity).toFixed(2) : '-',
      'deliver p99 ms at capacity': ms(r.atCapacity?.deliverP99),
      'server CPU s / 1000 msgs': r.atCapacity?.cpuPer1000.toFixed(3) ?? '-',
      'peak memory MB': r.peakMemoryMb.toFixed(0),
      'sent = acked = delivered once': r.exact ? 'yes' : `NO ${JSON.stringify(r.totals)}`,
    };
  }),
);
console.error('Idle authenticated connections:');
console.table(
  idle.map((i) => ({
    target: i.target,
    connections: i.connections,
    'RSS before MB': i.rssBeforeMb.toFixed(0),
    'RSS after MB': i.rssAfterMb.toFixed(0),
    'KiB per connection': i.kbPerConnection.toFixed(1),
  })),
);
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/relay.json',
  `${JSON.stringify({ date: new Date().toISOString(), quick, runs, idle }, null, 2)}\n`,
);
if (!runs.every((r) => r.exact)) process.exit(1);
