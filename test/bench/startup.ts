/**
 * The relay's start as production runs it (`node server/dist/main.js`, after `npm run build`),
 * beside a bare Node process that only answers HTTP, in the same run: time until /readyz answers
 * 200, CPU seconds used by then (the relay's and its children's: a first start on PGlite makes
 * its folder in a child), and resident memory after 10 s idle.
 *
 *   npx tsx --conditions=@liaison/source test/bench/startup.ts      (part of `npm run bench -w @liaison/test`)
 *
 * PGlite's first start (a new folder) and a later one (the same folder); PostgreSQL too when
 * LIAISON_BENCH_DATABASE_URL names a server (a throwaway database is created there and dropped).
 * Each scenario runs ROUNDS times; the table gives the median. Writes bench-results/startup.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RELAY_NODE_FLAGS } from '@liaison/server';
import { buildBeforeRun } from '../harness/build.js';
import { freshPostgresDatabase, type TestDatabase } from '../harness/databases.js';
import { cpuSeconds, memoryMb } from '../harness/proc.js';
import { freePort } from '../harness/relay-process.js';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
/** A quick run keeps `npm run bench -- --quick` under two minutes: its idle RSS is after 1 s, not 10. */
const IDLE_MS = quick ? 1000 : 10_000;
const root = resolve(import.meta.dirname, '../..');

interface Start {
  readyMs: number;
  cpuSeconds: number;
  idleRssMb: number;
}

/** Starts `args` with node, waits for `/readyz` to answer 200, then idles, and stops it. */
async function measure(args: string[], env: Record<string, string>): Promise<Start> {
  const port = await freePort();
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: join(root, 'server'),
    env: { PATH: process.env.PATH ?? '', LIAISON_LOG_LEVEL: 'warn', LIAISON_PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pid = child.pid as number;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const readyMs = performance.now() - started;
    const cpu = cpuSeconds(pid, { children: true });
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return { readyMs, cpuSeconds: cpu, idleRssMb: memoryMb(pid, 'VmRSS') };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function rounds(name: string, once: () => Promise<Start>) {
  const runs: Start[] = [];
  for (let i = 0; i < ROUNDS; i++) runs.push(await once());
  console.error(`  ${name}: ${runs.map((r) => `${(r.readyMs / 1000).toFixed(2)} s`).join(', ')}`);
  return {
    target: name,
    readyMs: median(runs.map((r) => r.readyMs)),
    cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
    idleRssMb: median(runs.map((r) => r.idleRssMb)),
    runs,
  };
}

buildBeforeRun();
const relay = [...RELAY_NODE_FLAGS, 'dist/main.js'];
const bare = [
  '-e',
  "require('node:http').createServer((q, s) => s.end('{}')).listen(Number(process.env.LIAISON_PORT), '127.0.0.1')",
];
const results = [await rounds('bare Node HTTP server (baseline)', () => measure(bare, {}))];

const folders: string[] = [];
const newFolder = async () => {
  const folder = await mkdtemp(join(tmpdir(), 'liaison-startup-'));
  folders.push(folder);
  return join(folder, 'data');
};
try {
  results.push(
    await rounds('relay, PGlite, first start (new folder)', async () =>
      measure(relay, { LIAISON_DATA_DIR: await newFolder() }),
    ),
  );
  const kept = await newFolder();
  await measure(relay, { LIAISON_DATA_DIR: kept });
  results.push(
    await rounds('relay, PGlite, later start (same folder)', () => measure(relay, { LIAISON_DATA_DIR: kept })),
  );
} finally {
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
}
const server = process.env.LIAISON_BENCH_DATABASE_URL;
if (server) {
  const database: TestDatabase = await freshPostgresDatabase(server);
  try {
    results.push(
      await rounds('relay, PostgreSQL', () => measure(relay, { LIAISON_DATABASE_URL: database.url as string })),
    );
  } finally {
    await database.drop();
  }
}

const base = results[0] as (typeof results)[number];
console.error(
  `Relay start-up, Node ${process.version}, median of ${ROUNDS}, resident memory after ${IDLE_MS / 1000} s idle`,
);
console.table(
  results.map((r) => ({
    target: r.target,
    'ready s': (r.readyMs / 1000).toFixed(2),
    'ratio to baseline': (r.readyMs / base.readyMs).toFixed(1),
    'CPU s until ready': r.cpuSeconds.toFixed(2),
    'idle RSS MB': r.idleRssMb.toFixed(0),
    'RSS over baseline MB': (r.idleRssMb - base.idleRssMb).toFixed(0),
  })),
);
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/startup.json',
  `${JSON.stringify({ date: new Date().toISOString(), rounds: ROUNDS, results }, null, 2)}\n`,
);
