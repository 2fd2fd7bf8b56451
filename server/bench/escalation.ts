/**
 * Escalation timing: how late after its deadline each escalation step runs, with 10,000 urgent
 * messages pending, their level-0 deadlines spread over 20 seconds (500 steps due per second).
 * Runs on PGlite, and on PostgreSQL too when LIAISON_BENCH_DATABASE_URL names a server (a
 * throwaway database is created there and dropped). The baseline is the poll interval: a step
 * can be up to one poll late by design, so lateness is printed as a ratio of it.
 *
 *   npm run bench -w @liaison/server                (about 1 minute per backend)
 *   npm run bench -w @liaison/server -- --quick     (500 messages over 3 s, on PostgreSQL alone when given)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { encodeBase64url, type SendRequest } from '@liaison/protocol';
import { sql } from 'kysely';
import pg from 'pg';
import { type RelayConfig, relayConfig } from '../src/config.js';
import { type Relay, startRelay } from '../src/relay.js';
import { storeMessages } from '../src/storage/messages.js';

const quick = process.argv.includes('--quick');
const PENDING = quick ? 500 : 10_000;
const SPREAD_MS = quick ? 3_000 : 20_000;
const LEAD_MS = 3_000;
const POLL_MS = 500;
const HOUR = 3600_000;

const device = (n: number) => encodeBase64url(Uint8Array.from({ length: 32 }, (_, i) => (n >> (8 * (i % 4))) & 0xff));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function measure(relay: Relay) {
  const sender = { deviceId: device(1), contactPointId: 'th-oag.sender' };
  const ciphertext = encodeBase64url(new Uint8Array(1024));
  const started = performance.now();
  for (let i = 0; i < PENDING; i++) {
    const request: SendRequest = {
      messageId: crypto.randomUUID(),
      recipient: 'vn-spp.bob',
      priority: 'urgent',
      createdAt: Date.now(),
      acknowledgeWithinMs: HOUR,
      envelopes: [
        { recipientDevice: device(2), kind: 'message', ciphertext, escalationLevel: 0 },
        { recipientDevice: device(3), kind: 'message', ciphertext, escalationLevel: 1 },
      ],
    };
    const levels = [
      { contactPointId: 'vn-spp.bob', devices: 1 },
      { contactPointId: 'vn-spp.deputy', devices: 1 },
    ];
    await storeMessages(relay.db, [{ sender, request, levels }], Date.now(), 30 * 24 * HOUR);
  }
  const storeSeconds = (performance.now() - started) / 1000;
  // Now that all are stored, move their level-0 deadlines into the next few seconds, spread evenly.
  const first = Date.now() + LEAD_MS;
  await sql`
    with spread as (
      select message_id, ${first}::bigint + (row_number() over (order by message_id) - 1) * ${SPREAD_MS / PENDING}::float8 as due
      from urgent_messages)
    update urgent_messages u set next_step_at = floor(s.due)::bigint from spread s where u.message_id = s.message_id`.execute(
    relay.db,
  );
  await sql`
    update urgent_levels l set deadline = u.next_step_at from urgent_messages u
    where l.message_id = u.message_id and l.level = 0`.execute(relay.db);
  for (;;) {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from urgent_messages where level = 0`.execute(relay.db);
    if (rows[0]?.n === 0) break;
    if (Date.now() > first + SPREAD_MS + 60_000) throw new Error(`${rows[0]?.n} steps never ran`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const { rows } = await sql<{ late: number }>`
    select (l1.released_at - l0.deadline)::float8 as late
    from urgent_levels l0 join urgent_levels l1 on l1.message_id = l0.message_id and l1.level = 1
    where l0.level = 0 order by late`.execute(relay.db);
  const late = rows.map((r) => Number(r.late));
  const released = await sql<{ n: number }>`
    select count(*)::int as n from envelopes where escalation_level = 1 and not held`.execute(relay.db);
  if (late.length !== PENDING || released.rows[0]?.n !== PENDING) throw new Error('a step was lost or doubled');
  return {
    pending: PENDING,
    storePerSecond: PENDING / storeSeconds,
    p50Ms: percentile(late, 50),
    p99Ms: percentile(late, 99),
    maxMs: late.at(-1) ?? Number.NaN,
    minMs: late[0] ?? Number.NaN,
  };
}

async function onBackend(name: string, database: RelayConfig['database'] | undefined) {
  const relay = await startRelay(relayConfig({ ...(database && { database }), escalationPollMs: POLL_MS }));
  try {
    return { backend: name, ...(await measure(relay)) };
  } finally {
    await relay.stop();
  }
}

const server = process.env.LIAISON_BENCH_DATABASE_URL;
// A quick run only checks that the measure runs: on one backend, PostgreSQL when there is one.
const results = quick && server ? [] : [await onBackend('pglite (in memory)', undefined)];
if (server) {
  const name = `liaison_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`create database ${name}`);
  try {
    const url = new URL(server);
    url.pathname = `/${name}`;
    results.push(await onBackend('postgresql', { kind: 'postgres', url: url.toString() }));
  } finally {
    await admin.query(`drop database ${name} with (force)`);
    await admin.end();
  }
} else {
  console.error('(set LIAISON_BENCH_DATABASE_URL to a PostgreSQL server to measure it too)');
}

console.error(
  `Liaison escalation timing (${quick ? 'quick' : 'full'}): ${PENDING} urgent messages pending, deadlines spread over ${SPREAD_MS / 1000} s, poll every ${POLL_MS} ms, Node ${process.version}`,
);
console.table(
  results.map((r) => ({
    backend: r.backend,
    pending: r.pending,
    'stored/s': Math.round(r.storePerSecond),
    'late p50 ms': Math.round(r.p50Ms),
    'late p99 ms': Math.round(r.p99Ms),
    'late max ms': Math.round(r.maxMs),
    'p99 / poll interval': (r.p99Ms / POLL_MS).toFixed(2),
  })),
);
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/escalation.json',
  `${JSON.stringify({ date: new Date().toISOString(), quick, pollMs: POLL_MS, results }, null, 2)}\n`,
);
