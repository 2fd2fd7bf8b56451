/**
 * Soak: a relay process under steady load for a long time, with recipients disconnecting and
 * coming back, checking that memory and queue depth stay flat and that nothing is lost or doubled.
 * Not part of `npm test`.
 *
 *   npm run soak                         (15 minutes, at half the capacity measured first)
 *   npm run soak -- --minutes 2          (shorter)
 *   npm run soak -- --rate 40            (fixed messages per second instead of half the capacity)
 *
 * PGlite by default; with LIAISON_DATABASE_URL set, the relay uses that PostgreSQL database.
 * Prints a table of samples and writes bench-results/soak.json; exits 1 if a check fails.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { buildBeforeRun } from '../harness/build.js';
import { startClient, type TestClient } from '../harness/clients.js';
import { testNetwork } from '../harness/network.js';
import { memoryMb } from '../harness/proc.js';
import { spawnRelay } from '../harness/relay-process.js';

buildBeforeRun();

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : undefined;
};
const MINUTES = arg('minutes') ?? 15;
const PAIRS = 10;
const SAMPLE_MS = MINUTES >= 5 ? 30_000 : 10_000;
const PROBE_MS = 15_000;
const CHURN_MS = 20_000;
const OFFLINE_MS = 5_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const net = await testNetwork('soak');
const relay = await spawnRelay([net.root], {
  LIAISON_SENDS_PER_MINUTE: '100000',
  ...(process.env.LIAISON_DATABASE_URL && { LIAISON_DATABASE_URL: process.env.LIAISON_DATABASE_URL }),
});
const senders: TestClient[] = [];
const recipients: TestClient[] = [];
for (let i = 0; i < PAIRS; i++) {
  senders.push(
    await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint(`s${i}`).addDevice(), [net.root]),
  );
  recipients.push(
    await startClient(relay.url, await net.authority('vn-spp', 'VN').contactPoint(`r${i}`).addDevice(), [net.root]),
  );
}

const sent = new Map<number, Set<string>>(Array.from({ length: PAIRS }, (_, i) => [i, new Set()]));
let counter = 0;
let failures = 0;
const send = async (pair: number) => {
  const text = `soak ${counter++}`;
  try {
    await (senders[pair] as TestClient).client.send(`vn-spp.r${pair}`, { text });
    sent.get(pair)?.add(text);
  } catch {
    failures++;
  }
};

// Capacity: every sender sends back to back for a while (closed loop).
let probing = true;
const probeStart = Date.now();
const before = counter;
await Promise.all(
  senders.map(async (_, pair) => {
    while (probing && Date.now() - probeStart < PROBE_MS) await send(pair);
  }),
);
probing = false;
const capacity = (counter - before) / ((Date.now() - probeStart) / 1000);
const rate = arg('rate') ?? Math.max(1, Math.round(capacity / 2));
console.error(
  `capacity ${capacity.toFixed(0)} messages/s (closed loop, ${PAIRS} senders); soaking at ${rate}/s for ${MINUTES} min`,
);

async function metrics() {
  const text = await (await fetch(`${relay.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    rssMb: memoryMb(relay.pid(), 'VmRSS'),
    heapMb: value('liaison_process_nodejs_heap_size_used_bytes') / 2 ** 20,
    queueDepth: value('liaison_queue_depth'),
    connections: value('liaison_connections'),
  };
}

const samples: ({ minute: number; sent: number; received: number } & Awaited<ReturnType<typeof metrics>>)[] = [];
const received = () => recipients.reduce((n, r) => n + r.messages.length, 0);
const end = Date.now() + MINUTES * 60_000;
const inFlight = new Set<Promise<void>>();
let nextSample = Date.now();
let nextChurn = Date.now() + CHURN_MS;
let pair = 0;
const started = Date.now();
let due = 0;
// Open loop: messages are started at the fixed rate whether or not earlier ones have finished.
while (Date.now() < end) {
  due += rate / 10;
  for (; due >= 1; due--) {
    if (inFlight.size >= rate * 10) break; // bounded: a stalled relay shows as failures, not as unbounded memory here
    const p = send(pair).finally(() => inFlight.delete(p));
    inFlight.add(p);
    pair = (pair + 1) % PAIRS;
  }
  if (Date.now() >= nextChurn) {
    nextChurn += CHURN_MS;
    const who = recipients[Math.floor(Math.random() * PAIRS)] as TestClient;
    void who.client.close().then(() => sleep(OFFLINE_MS).then(() => who.client.connect()));
  }
  if (Date.now() >= nextSample) {
    nextSample += SAMPLE_MS;
    samples.push({
      minute: Number(((Date.now() - started) / 60_000).toFixed(1)),
      sent: counter,
      received: received(),
      ...(await metrics()),
    });
  }
  await sleep(100);
}
await Promise.all(inFlight);
// Drain: the last recipient taken offline comes back by itself; everything sent arrives.
await sleep(OFFLINE_MS + 2000);
const total = [...sent.values()].reduce((n, s) => n + s.size, 0);
const drainDeadline = Date.now() + 120_000;
while (received() < total && Date.now() < drainDeadline) await sleep(250);
await sleep(1000);
samples.push({
  minute: Number(((Date.now() - started) / 60_000).toFixed(1)),
  sent: counter,
  received: received(),
  ...(await metrics()),
});

let lost = 0;
let doubled = 0;
for (const [i, texts] of sent) {
  const got = (recipients[i] as TestClient).messages.map((m) => m.text);
  const unique = new Set(got);
  doubled += got.length - unique.size;
  lost += [...texts].filter((t) => !unique.has(t)).length;
}
const body = samples.slice(Math.floor(samples.length / 4));
const firstHalf = body.slice(0, Math.floor(body.length / 2));
const secondHalf = body.slice(Math.floor(body.length / 2));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const rssGrowth = mean(secondHalf.map((s) => s.rssMb)) / mean(firstHalf.map((s) => s.rssMb));
const finalQueue = samples.at(-1)?.queueDepth ?? Number.NaN;
const checks = {
  'nothing lost': lost === 0,
  'nothing shown twice': doubled === 0,
  'queue drained at the end': finalQueue === 0,
  'memory flat (later half within 1.25x of earlier half, after warm-up)': rssGrowth <= 1.25,
};

console.table(
  samples.map((s) => ({
    minute: s.minute,
    sent: s.sent,
    received: s.received,
    'rss MB': s.rssMb.toFixed(0),
    'heap MB': s.heapMb.toFixed(0),
    'queue depth': s.queueDepth,
    connections: s.connections,
  })),
);
console.error(
  `sent ${total} (send failures ${failures}), lost ${lost}, doubled ${doubled}, rss growth ${rssGrowth.toFixed(2)}x, final queue ${finalQueue}`,
);
for (const [check, ok] of Object.entries(checks)) console.error(`${ok ? 'ok  ' : 'FAIL'} ${check}`);
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/soak.json',
  `${JSON.stringify({ date: new Date().toISOString(), minutes: MINUTES, capacity, rate, total, failures, lost, doubled, rssGrowth, samples, checks }, null, 2)}\n`,
);
await Promise.all([...senders, ...recipients].map((c) => c.client.close()));
await relay.stop();
process.exit(Object.values(checks).every(Boolean) ? 0 : 1);
