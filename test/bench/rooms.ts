/**
 * Case rooms (issue 22): a room of 20 contact points with 3 devices each (60 devices), real SDK
 * clients (LiaisonClient, one per device, all in this process) and a relay process on PostgreSQL.
 * One member writes a 1 KiB text to the room: one `rooms.send`, one request carrying an envelope
 * for each of the 59 other devices (the 57 of the 19 other members, and the writer's own 2 others).
 * The baseline, measured in the same run, is what an integrator would do without rooms: the same
 * text sent with `client.send` to each of the 19 other members (each send also encrypts a copy
 * for the writer's 2 other devices), one after another and all at once.
 *
 *   - sender side, per message: time, CPU, requests to the relay, envelopes, bytes; first messages
 *     (sessions set up with every device) apart from steady ones (sessions there, peers yet to
 *     write back; after every peer wrote back; consecutive). While a message is timed, the
 *     receiving devices in this process are handed their envelopes only afterwards (wire-tap.ts).
 *   - end to end: messages per second for a sustained run, until every other device has
 *     received and acknowledged each (the relay's count of deleted envelopes), with the CPU each
 *     part used: this process (the writer and the 59 receiving SDKs), the relay, PostgreSQL.
 *
 *   npm run bench:rooms -w @liaison/test            (also part of npm run bench -w @liaison/test)
 *   npm run bench:rooms -w @liaison/test -- --quick (fewer rounds)
 *
 * Needs PostgreSQL: LIAISON_BENCH_DATABASE_URL, or LIAISON_TEST_DATABASE_URL (a throwaway database
 * is created there and dropped). Writes bench-results/rooms.json.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { decodeBase64url, type SendRequest } from '@liaison/protocol';
import pg from 'pg';
import { buildBeforeRun } from '../harness/build.js';
import { startClient, type TestClient } from '../harness/clients.js';
import { freshPostgresDatabase } from '../harness/databases.js';
import { type TestDevice, testDeviceAddress, testNetwork } from '../harness/network.js';
import { memoryMb } from '../harness/proc.js';
import { spawnRelay } from '../harness/relay-process.js';
import { until } from '../harness/until.js';
import { during, installWireTap, jsonBytes, traffic } from './wire-tap.js';

buildBeforeRun();

const quick = process.argv.includes('--quick');
const MEMBERS = 20;
const DEVICES = ['Office laptop', 'Phone', 'Tablet'];
const AUTHORITIES = [
  ['th-ago', 'TH'],
  ['vn-spp', 'VN'],
  ['ph-doj', 'PH'],
  ['id-ago', 'ID'],
  ['my-agc', 'MY'],
] as const;
/** First messages per variant, each from a member that has written to nobody yet. */
const FIRST_SAMPLES = quick ? 1 : 3;
/** Rounds of the three variants, in rotating order, in each steady state. */
const STEADY_ROUNDS = quick ? 3 : 10;
const AFTER_REPLIES_ROUNDS = quick ? 1 : 2;
/** Sustained runs: messages per run, and runs of each (alternating). */
const SUSTAINED = { room: quick ? 20 : 60, baseline: quick ? 8 : 24, runs: quick ? 1 : 3 };
const TEXT = 'Les éléments de preuve saisis à Bangkok sont prêts à être transmis. '.repeat(16).slice(0, 1024);
/** Bytes around the plaintext in an envelope that does not set up a session (crypto/message.ts): version, type, ratchet header, tag. */
const MESSAGE_FRAMING = 2 + 40 + 16;

const server = process.env.LIAISON_BENCH_DATABASE_URL || process.env.LIAISON_TEST_DATABASE_URL;
if (!server) {
  console.error('rooms: skipped (set LIAISON_BENCH_DATABASE_URL to a PostgreSQL server: the relay runs on it)');
  process.exit(0);
}
installWireTap();
const runStarted = performance.now();
const elapsed = () => `${((performance.now() - runStarted) / 1000).toFixed(0)} s`;

// ---- the network, the relay, the devices ------------------------------------------------------

const database = await freshPostgresDatabase(server);
await database.db.destroy();
const databaseName = new URL(database.url as string).pathname.slice(1);
const net = await testNetwork('bench-rooms');
const relay = await spawnRelay([net.root], {
  LIAISON_DATABASE_URL: database.url,
  LIAISON_AUTH_ATTEMPTS_PER_MINUTE: '10000000',
  LIAISON_SENDS_PER_MINUTE: '10000000',
  LIAISON_BUNDLE_FETCHES_PER_MINUTE: '10000000',
  LIAISON_MAX_CONNECTIONS_PER_ADDRESS: '10000000',
});
// A run that fails midway must not leave its relay running; its database is named for removal.
let cleanedUp = false;
process.once('exit', () => {
  if (cleanedUp) return;
  if (relay.alive()) process.kill(relay.pid(), 'SIGKILL');
  console.error(`rooms: stopped early; database ${databaseName} is left on the server`);
});

// ---- the servers' CPU: the relay process, and the PostgreSQL backends serving its database ------

const admin = new pg.Client({ connectionString: server });
await admin.connect();
interface ServerCpu {
  relay: number;
  postgres: Map<number, number>;
}
/**
 * CPU seconds a process has used so far, all its threads, to the nanosecond (each thread's schedstat in /proc/<pid>/task,
 * Linux): a message costs the servers a few milliseconds, below /proc/<pid>/stat's 10-ms ticks.
 */
function preciseCpuSeconds(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended since the listing.
    }
  }
  return ns / 1e9;
}
/** CPU seconds used so far by the relay and by each backend connected to its database. */
async function serverCpu(): Promise<ServerCpu> {
  const { rows } = await admin.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [
    databaseName,
  ]);
  const postgres = new Map<number, number>();
  for (const { pid } of rows) {
    if (pid === watcherPid) continue;
    try {
      postgres.set(pid, preciseCpuSeconds(pid));
    } catch {
      // Ended since it was listed.
    }
  }
  return { relay: preciseCpuSeconds(relay.pid()), postgres };
}
/** Milliseconds of CPU the relay and PostgreSQL used between two readings (a backend that ended between them is not counted). */
function serverCpuBetween(before: ServerCpu, after: ServerCpu): { relayMs: number; postgresMs: number } {
  let postgres = 0;
  for (const [pid, used] of after.postgres) postgres += used - (before.postgres.get(pid) ?? 0);
  return { relayMs: (after.relay - before.relay) * 1000, postgresMs: postgres * 1000 };
}

interface Member {
  id: string;
  devices: TestClient[];
  keys: TestDevice[];
}
const members: Member[] = [];
console.error(`rooms: ${MEMBERS} contact points x ${DEVICES.length} devices, relay on PostgreSQL`);
const authorities = AUTHORITIES.map(([authorityId, country]) => net.authority(authorityId, country));
for (let i = 0; i < MEMBERS; i++) {
  const authority = authorities[i % authorities.length] as (typeof authorities)[number];
  const contactPoint = authority.contactPoint(`prosecutor${i}`);
  const keys: TestDevice[] = [];
  for (const name of DEVICES) keys.push(await contactPoint.addDevice(name));
  members.push({ id: contactPoint.id, devices: [], keys });
}
// Registered and connected ten at a time: setting up is not what is measured. A contact point's
// first device registers before its others: two first registrations of one contact point at once
// fail on PostgreSQL (see docs/performance.md, "Case rooms").
const connectAll = async (batch: { member: Member; k: TestDevice }[]) => {
  for (let i = 0; i < batch.length; i += 10) {
    const part = batch.slice(i, i + 10);
    const clients = await Promise.all(part.map(({ k }) => startClient(relay.url, k, [net.root])));
    for (const [j, client] of clients.entries()) part[j]?.member.devices.push(client);
  }
};
await connectAll(members.map((member) => ({ member, k: member.keys[0] as TestDevice })));
await connectAll(members.flatMap((member) => member.keys.slice(1).map((k) => ({ member, k }))));
const everyDevice = members.flatMap((m) => m.devices);
const first = (m: Member) => m.devices[0] as TestClient;
console.error(`  ${everyDevice.length} devices registered and connected (${elapsed()})`);

// ---- waiting for deliveries ---------------------------------------------------------------------

// The relay deletes an envelope when its device acknowledges it: none left means every message sent
// so far was received and acknowledged by every device it was for. Asked of PostgreSQL directly,
// not of the relay (whose CPU is measured), on a connection whose backend is not counted.
const watcher = new pg.Client({ connectionString: database.url });
await watcher.connect();
const watcherPid = (await watcher.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
async function settle(timeoutMs = 120_000): Promise<void> {
  let left = 0;
  await until(
    async () => {
      left = Number((await watcher.query<{ n: string }>('select count(*) as n from envelopes')).rows[0]?.n);
      return left === 0;
    },
    `every envelope acknowledged (${left} left)`,
    timeoutMs,
  );
}

/** The socket.io frames every client here exchanged with the relay, by event, from now until `since()` is called. */
function frames(): { since(per?: number): Frames } {
  const copy = (m: Map<string, number>) => new Map(m);
  const before = { received: copy(traffic.received), sent: copy(traffic.sent), answered: copy(traffic.answered) };
  const delta = (now: Map<string, number>, then: Map<string, number>, per: number) =>
    Object.fromEntries([...now].map(([k, v]) => [k, (v - (then.get(k) ?? 0)) / per]).filter(([, v]) => v !== 0));
  return {
    since: (per = 1) => ({
      fromRelay: delta(traffic.received, before.received, per),
      toRelay: delta(traffic.sent, before.sent, per),
      answers: delta(traffic.answered, before.answered, per),
    }),
  };
}
/** Frames by event: pushed by the relay, sent to it, and the relay's answers to those sent with a callback. */
interface Frames {
  fromRelay: Record<string, number>;
  toRelay: Record<string, number>;
  answers: Record<string, number>;
}

// ---- the room ---------------------------------------------------------------------------------

const creator = members[0] as Member;
const created = await during(
  () =>
    first(creator).client.rooms.create({
      title: 'JIT Mekong — trafic de migrants',
      caseReference: 'JIT-2026-014',
      members: members.slice(1).map((m) => m.id),
    }),
  { hold: true },
);
const roomId = created.value.roomId;
await settle();
for (const device of everyDevice)
  await until(async () => (await device.client.rooms.get(roomId)) !== undefined, 'every device to hold the room');
console.error(`  room created and held by every device (${elapsed()})`);

// ---- the three ways to send one message -----------------------------------------------------------

type Variant = 'room' | 'one-to-one, one after another' | 'one-to-one, all at once';
const VARIANTS: Variant[] = ['room', 'one-to-one, one after another', 'one-to-one, all at once'];
/** What was sent, to check that every device it was for got it exactly once. */
const sentIds = {
  room: [] as { id: string; from: string }[],
  pairwise: [] as { id: string; from: TestClient; reaches: Set<string> }[],
};

/** Envelopes one message makes in each variant: every other device once in a room; per member, its devices and the writer's others. */
function envelopesOf(variant: Variant): number {
  const others = MEMBERS - 1;
  return variant === 'room' ? MEMBERS * DEVICES.length - 1 : others * (2 * DEVICES.length - 1);
}

async function sendAs(writer: Member, variant: Variant): Promise<void> {
  const from = first(writer);
  const client = from.client;
  const others = members.filter((m) => m !== writer);
  const reaches = (m: Member) => new Set([...m.devices, ...writer.devices].map((d) => d.client.deviceId));
  if (variant === 'room') {
    sentIds.room.push({ id: (await client.rooms.send(roomId, { text: TEXT })).messageId, from: client.deviceId });
  } else if (variant === 'one-to-one, one after another') {
    for (const m of others)
      sentIds.pairwise.push({ id: (await client.send(m.id, { text: TEXT })).messageId, from, reaches: reaches(m) });
  } else {
    const sent = await Promise.all(others.map((m) => client.send(m.id, { text: TEXT })));
    sentIds.pairwise.push(...sent.map((s, i) => ({ id: s.messageId, from, reaches: reaches(others[i] as Member) })));
  }
}

/** Devices the writer's device has no session with yet: each costs a session setup in its next message. */
async function withoutSession(writer: Member): Promise<number> {
  const self = writer.keys[0] as TestDevice;
  let missing = 0;
  for (const m of members)
    for (const k of m.keys) if (k !== self && !(await self.cipher.hasSession(testDeviceAddress(k.id)))) missing++;
  return missing;
}

interface Sample {
  phase: string;
  variant: Variant;
  writer: string;
  ms: number;
  cpuMs: number;
  /** Time spent waiting for the relay's answers to HTTP requests (prekey bundles, mostly), and to the sends. */
  httpMs: number;
  sendAnswerMs: number;
  httpRequests: number;
  socketEvents: number;
  envelopes: number;
  /** Envelopes that carry a session's setup header: new sessions, and sessions whose peer has not written back. */
  setupHeaders: number;
  newSessions: number;
  ciphertextBytes: number;
  /** The SendRequest(s) as JSON, as emitted on the socket. */
  requestBytes: number;
  /** The text as sealed (MessageContent JSON), from an envelope without a setup header. */
  plaintextBytes: number | undefined;
  /**
   * The servers' CPU: until the writer had its answers (the send stored, its envelopes pushed to
   * devices that hold them back), then until every device had acknowledged (envelopes deleted,
   * receipts written and pushed to the writer's devices).
   */
  serverCpu: Record<'send' | 'acknowledgements', { relayMs: number; postgresMs: number }>;
  /** Every client's frames from the send until the last acknowledgement. */
  frames: Frames;
}

function summarise(phase: string, variant: Variant, writer: Member, run: Awaited<ReturnType<typeof during>>) {
  const sends = run.wire.events.filter((e) => e.event === 'send');
  const envelopes = sends.flatMap((e) => (e.payload as SendRequest).envelopes);
  const plain = envelopes.find((e) => e.kind === 'message');
  return {
    phase,
    variant,
    writer: writer.id,
    ms: run.ms,
    cpuMs: run.cpuMs,
    httpMs: run.wire.http.reduce((n, h) => n + h.ms, 0),
    sendAnswerMs: sends.reduce((n, e) => n + (e.answerMs ?? 0), 0),
    httpRequests: run.wire.http.length,
    socketEvents: run.wire.events.length,
    envelopes: envelopes.length,
    setupHeaders: envelopes.filter((e) => e.kind === 'prekey-message').length,
    ciphertextBytes: envelopes.reduce((n, e) => n + (decodeBase64url(e.ciphertext)?.length ?? 0), 0),
    requestBytes: sends.reduce((n, e) => n + jsonBytes(e.payload), 0),
    plaintextBytes: plain && (decodeBase64url(plain.ciphertext)?.length ?? 0) - MESSAGE_FRAMING,
  };
}

const samples: Sample[] = [];
/** Times one message, receivers held back; then lets them have it and waits until all acknowledged. */
async function measure(phase: string, writer: Member, variant: Variant): Promise<Sample> {
  const newSessions = await withoutSession(writer);
  const counting = frames();
  const before = await serverCpu();
  let sent = before;
  const run = await during(() => sendAs(writer, variant), {
    hold: true,
    beforeRelease: async () => {
      sent = await serverCpu();
    },
  });
  await settle();
  const sample: Sample = {
    ...summarise(phase, variant, writer, run),
    newSessions,
    serverCpu: { send: serverCpuBetween(before, sent), acknowledgements: serverCpuBetween(sent, await serverCpu()) },
    frames: counting.since(),
  };
  samples.push(sample);
  return sample;
}

/** The variants in an order that moves by one each round, so none always goes first. */
const rotated = (round: number) => VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length] as Variant);

// ---- 1. first messages: every session set up in the message ------------------------------------

// Members 1..: each writes once, as one variant; the room's creator set up sessions with every
// device when it created the room, so it writes the steady messages below.
let next = 1;
for (let round = 0; round < FIRST_SAMPLES; round++) {
  for (const variant of rotated(round)) await measure('first message', members[next++] as Member, variant);
}
console.error(`  first messages (${elapsed()})`);

// ---- 2. steady: sessions there, most peers have not written back --------------------------------

const writer = creator;
for (let round = 0; round < STEADY_ROUNDS; round++)
  for (const variant of rotated(round)) await measure('steady, peers not yet written back', writer, variant);
console.error(`  steady, peers not yet written back (${elapsed()})`);

// ---- 3. every other device writes to the writer; its next message turns every ratchet -------------

async function everyoneWritesBack(): Promise<void> {
  const repliers = members.flatMap((m) => m.devices).filter((d) => d !== first(writer));
  for (let i = 0; i < repliers.length; i += 10) {
    await Promise.all(repliers.slice(i, i + 10).map((d) => d.client.send(writer.id, { text: 'Bien reçu.' })));
  }
  await settle();
}
for (let round = 0; round < AFTER_REPLIES_ROUNDS; round++) {
  for (const variant of rotated(round)) {
    await everyoneWritesBack();
    await measure('first after every device wrote back', writer, variant);
  }
}
console.error(`  after replies (${elapsed()})`);

// ---- 4. steady: every session confirmed, one message after another --------------------------------

for (let round = 0; round < STEADY_ROUNDS; round++)
  for (const variant of rotated(round)) await measure('steady, consecutive', writer, variant);
console.error(`  steady, consecutive (${elapsed()})`);

// ---- 5. sustained: messages per second end to end ----------------------------------------------

interface Sustained {
  variant: 'room' | 'one-to-one, all at once';
  messages: number;
  seconds: number;
  perSecond: number;
  /** Messages per second until the writer's last send was answered (stored). */
  writerPerSecond: number;
  cpuMsPerMessage: { thisProcess: number; relay: number; postgres: number };
  framesPerMessage: Frames;
  envelopesPerSecond: number;
}
const sustained: Sustained[] = [];

async function sustain(variant: Sustained['variant'], messages: number): Promise<Sustained> {
  const serverBefore = await serverCpu();
  const counting = frames();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < messages; i++) await sendAs(writer, variant);
  const written = performance.now();
  await settle();
  const seconds = (performance.now() - started) / 1000;
  const own = process.cpuUsage(cpuBefore);
  const used = serverCpuBetween(serverBefore, await serverCpu());
  const result: Sustained = {
    variant,
    messages,
    seconds,
    perSecond: messages / seconds,
    writerPerSecond: messages / ((written - started) / 1000),
    cpuMsPerMessage: {
      thisProcess: (own.user + own.system) / 1000 / messages,
      relay: used.relayMs / messages,
      postgres: used.postgresMs / messages,
    },
    envelopesPerSecond: (messages * envelopesOf(variant)) / seconds,
    framesPerMessage: counting.since(messages),
  };
  sustained.push(result);
  return result;
}
for (let run = 0; run < SUSTAINED.runs; run++) {
  await sustain('room', SUSTAINED.room);
  await sustain('one-to-one, all at once', SUSTAINED.baseline);
}
await Promise.all([admin.end(), watcher.end()]);
console.error(`  sustained runs (${elapsed()})`);

// ---- checks: every message reached every device once, nothing refused ----------------------------

const problems: string[] = [];
/** What the SDKs reported on their `error` event, by code and message, with how many times. */
const reported = new Map<string, number>();
for (const device of everyDevice) {
  const self = device.client.deviceId;
  const rooms = new Map<string, number>();
  for (const m of device.roomMessages) rooms.set(m.messageId, (rooms.get(m.messageId) ?? 0) + 1);
  const pairwise = new Map<string, number>();
  for (const m of device.messages) pairwise.set(m.messageId, (pairwise.get(m.messageId) ?? 0) + 1);
  const missed =
    sentIds.room.filter((s) => s.from !== self && rooms.get(s.id) !== 1).length +
    sentIds.pairwise.filter((s) => s.from.client.deviceId !== self && s.reaches.has(self) && pairwise.get(s.id) !== 1)
      .length;
  if (missed > 0)
    problems.push(
      `${device.client.contactPointId} (${device.client.deviceId}): ${missed} messages not received exactly once`,
    );
  for (const error of device.errors) {
    const what = `${error.code}: ${error.message}`;
    reported.set(what, (reported.get(what) ?? 0) + 1);
  }
}
const relayPeakMb = memoryMb(relay.pid(), 'VmHWM');

// ---- report -------------------------------------------------------------------------------------

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};
const phases = [...new Set(samples.map((s) => s.phase))];
const byPhase = (phase: string, variant: Variant) => samples.filter((s) => s.phase === phase && s.variant === variant);
const fmt = (x: number | undefined, digits = 1) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));

console.error(
  `\nCase rooms: ${MEMBERS} members x ${DEVICES.length} devices, a ${TEXT.length}-character text, relay on PostgreSQL, Node ${process.version}${quick ? ' (quick)' : ''}`,
);
console.error(
  `Room created (the creator's first contact with all ${everyDevice.length - 1} devices): ${fmt(created.ms, 0)} ms, ${created.wire.http.length} HTTP requests`,
);
console.error(
  'Sender side, time per message (medians; the receiving devices get their envelopes once the clock stops; ' +
    'waits for the relay are summed, so they overlap when all sent at once):',
);
const of = (phase: string, variant: Variant, value: (s: Sample) => number) =>
  median(byPhase(phase, variant).map(value));
const ratio = (phase: string, variant: Variant, value: (s: Sample) => number) =>
  variant === 'room' ? '1.00' : fmt(of(phase, 'room', value) / of(phase, variant, value), 2);
const time = (s: Sample) => s.ms;
const requests = (s: Sample) => s.httpRequests + s.socketEvents;
console.table(
  phases.flatMap((phase) =>
    VARIANTS.map((variant) => {
      const s = byPhase(phase, variant);
      const ms = s.map(time);
      return {
        phase,
        variant,
        n: s.length,
        ms: fmt(median(ms)),
        range: `${fmt(Math.min(...ms))}–${fmt(Math.max(...ms))}`,
        'CPU ms': fmt(of(phase, variant, (x) => x.cpuMs)),
        'HTTP wait ms': fmt(of(phase, variant, (x) => x.httpMs)),
        'send answers ms': fmt(of(phase, variant, (x) => x.sendAnswerMs)),
        'room / this': ratio(phase, variant, time),
      };
    }),
  ),
);
console.error('Sender side, on the wire per message (medians):');
console.table(
  phases.flatMap((phase) =>
    VARIANTS.map((variant) => ({
      phase,
      variant,
      'new sessions': of(phase, variant, (x) => x.newSessions),
      'HTTP requests': of(phase, variant, (x) => x.httpRequests),
      'socket events': of(phase, variant, (x) => x.socketEvents),
      'room / this (requests)': ratio(phase, variant, requests),
      envelopes: of(phase, variant, (x) => x.envelopes),
      'with setup header': of(phase, variant, (x) => x.setupHeaders),
      'ciphertext B': of(phase, variant, (x) => x.ciphertextBytes),
      'request JSON B': of(phase, variant, (x) => x.requestBytes),
      'room / this (bytes)': ratio(phase, variant, (x) => x.requestBytes),
    })),
  ),
);
const cpuOf = (phase: string, variant: Variant, part: 'send' | 'acknowledgements', who: 'relayMs' | 'postgresMs') =>
  median(byPhase(phase, variant).map((x) => x.serverCpu[part][who]));
// Medians: the relay's periodic passes (the catch-up every 15 s, the sweep every minute) land in
// whichever message's window they fall.
console.error(
  "Servers' CPU per message (medians): until the writer had its answers, then until every device acknowledged",
);
console.table(
  phases.flatMap((phase) =>
    VARIANTS.map((variant) => {
      const total = (v: Variant) =>
        cpuOf(phase, v, 'send', 'relayMs') +
        cpuOf(phase, v, 'send', 'postgresMs') +
        cpuOf(phase, v, 'acknowledgements', 'relayMs') +
        cpuOf(phase, v, 'acknowledgements', 'postgresMs');
      return {
        phase,
        variant,
        'relay ms: send': fmt(cpuOf(phase, variant, 'send', 'relayMs'), 0),
        'relay ms: acks': fmt(cpuOf(phase, variant, 'acknowledgements', 'relayMs'), 0),
        'PostgreSQL ms: send': fmt(cpuOf(phase, variant, 'send', 'postgresMs'), 0),
        'PostgreSQL ms: acks': fmt(cpuOf(phase, variant, 'acknowledgements', 'postgresMs'), 0),
        'room / this (total)': variant === 'room' ? '1.00' : fmt(total('room') / total(variant), 2),
      };
    }),
  ),
);
const plaintext = samples.find((s) => s.variant === 'room' && s.plaintextBytes !== undefined)?.plaintextBytes;
const pairwisePlaintext = samples.find((s) => s.variant !== 'room' && s.plaintextBytes !== undefined)?.plaintextBytes;
console.error(
  `Plaintext sealed per envelope: room ${plaintext} B, one-to-one ${pairwisePlaintext} B (the text is ${Buffer.byteLength(TEXT)} B in UTF-8)`,
);
console.error('Sustained, end to end (every other device received and acknowledged every message):');
console.table(
  sustained.map((s) => {
    const room = sustained.filter((r) => r.variant === 'room');
    return {
      variant: s.variant,
      messages: s.messages,
      s: fmt(s.seconds, 2),
      'messages/s': fmt(s.perSecond, 1),
      'room / this': s.variant === 'room' ? '1.00' : fmt(median(room.map((r) => r.perSecond)) / s.perSecond, 2),
      'envelopes/s': fmt(s.envelopesPerSecond, 0),
      'written/s': fmt(s.writerPerSecond, 1),
      'CPU ms/msg: SDKs (this process)': fmt(s.cpuMsPerMessage.thisProcess),
      relay: fmt(s.cpuMsPerMessage.relay),
      PostgreSQL: fmt(s.cpuMsPerMessage.postgres),
    };
  }),
);
const listed = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([event, n]) => `${event} ${fmt(n, n % 1 === 0 ? 0 : 1)}`)
    .join(', ');
for (const variant of ['room', 'one-to-one, all at once'] as const) {
  const run = sustained.find((s) => s.variant === variant);
  if (!run) continue;
  const f = run.framesPerMessage;
  const total = [f.fromRelay, f.answers].flatMap(Object.values).reduce((a, b) => a + b, 0);
  console.error(
    `Socket.io frames per message, ${variant} (sustained): relay to devices ${fmt(total, 0)} ` +
      `(pushed: ${listed(f.fromRelay)}; answers to: ${listed(f.answers)}); devices to relay: ${listed(f.toRelay)}`,
  );
}
const writerCpu = (variant: Variant) => fmt(of('steady, consecutive', variant, (x) => x.cpuMs));
console.error(
  `Of this process's CPU, the writer's own per message (steady, consecutive, above): room ${writerCpu('room')} ms, ` +
    `one-to-one all at once ${writerCpu('one-to-one, all at once')} ms; the rest is the ${everyDevice.length - 1} receiving SDKs.`,
);
console.error(
  `Relay peak memory ${relayPeakMb.toFixed(0)} MB; every message received once by every device it was for: ${problems.length === 0 ? 'yes' : `NO: ${problems.join('; ')}`}`,
);
if (reported.size > 0)
  console.error(
    `Errors the SDKs reported (event \`error\`): ${[...reported].map(([what, n]) => `${n} x ${what}`).join('; ')}`,
  );
console.error(`Total ${elapsed()}`);

await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/rooms.json',
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      quick,
      members: MEMBERS,
      devicesPerMember: DEVICES.length,
      text: Buffer.byteLength(TEXT),
      created: { ms: created.ms, http: created.wire.http.length },
      samples,
      sustained,
      relayPeakMb,
      problems,
      reported: Object.fromEntries(reported),
    },
    null,
    2,
  )}\n`,
);
await Promise.all(everyDevice.map((d) => d.client.close()));
await relay.stop();
await database.drop().catch(() => undefined);
cleanedUp = true;
if (problems.length > 0) process.exit(1);
