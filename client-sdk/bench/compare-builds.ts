/**
 * This tree beside another build of the SDK, in one process (issue 25's review fixes): the session
 * record's write and read, and 1 KiB one-way and ping-pong messages on established hybrid sessions
 * (bench/liaison-peer.ts of each), by CPU time, the two builds alternating round by round so that
 * the load of a shared machine falls on both alike. The other build is an extracted tree:
 *
 *   mkdir -p /tmp/before && git archive <commit> client-sdk/src client-sdk/bench | tar -x -C /tmp/before
 *   ln -s "$PWD/node_modules" /tmp/before/node_modules      # from the repository's root
 *   npx tsx --conditions=@liaison/source client-sdk/bench/compare-builds.ts /tmp/before
 */
import { resolve } from 'node:path';
import * as recordNow from '../src/crypto/session-record.js';
import * as sodiumNow from '../src/crypto/sodium.js';
import { liaisonPair } from './liaison-peer.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: compare-builds.ts <extracted tree of the other build>');
const root = resolve(dir, 'client-sdk');
type Pair = typeof liaisonPair;
const before = {
  sodium: (await import(`${root}/src/crypto/sodium.ts`)) as typeof sodiumNow,
  record: (await import(`${root}/src/crypto/session-record.ts`)) as typeof recordNow,
  pair: ((await import(`${root}/bench/liaison-peer.ts`)) as { liaisonPair: Pair }).liaisonPair,
};
const now = { sodium: sodiumNow, record: recordNow, pair: liaisonPair };
await before.sodium.ready();
await now.sodium.ready();

const ROUNDS = 10; // the first is a warm-up, not counted
const cpu = async (work: () => Promise<void> | void, count: number) => {
  const t = process.cpuUsage();
  await work();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / count;
};
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1] as number;
const range = (v: number[], digits = 1) => `${Math.min(...v).toFixed(digits)}–${Math.max(...v).toFixed(digits)}`;

// Records: a ping-pong session's (no skipped keys), and one with 50 skipped keys, made by this tree.
const plaintext = new Uint8Array(1024).fill(0x5a);
const builds = { before, now };
const sends = {
  before: await before.pair({ hybrid: true }, plaintext),
  now: await now.pair({ hybrid: true }, plaintext),
};
const turn = { before: 0, now: 0 };
const N = { record: 20000, message: 300 };
const measures: Record<string, (which: 'before' | 'now') => Promise<number>> = {
  'one-way message': (which) =>
    cpu(async () => {
      for (let i = 0; i < N.message; i++) await sends[which](0, plaintext);
    }, N.message),
  'ping-pong message': (which) =>
    cpu(async () => {
      for (let i = 0; i < N.message; i++, turn[which] ^= 1) await sends[which](turn[which] as 0 | 1, plaintext);
    }, N.message),
};
const { makeDevice, text } = await import('../src/__fixtures__/devices.js');
for (const skipped of [0, 50]) {
  const alice = await makeDevice(1);
  const bob = await makeDevice(1);
  await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('x'), bob.bundle())).body);
  await alice.cipher.decrypt(bob.address, (await bob.cipher.encrypt(alice.address, text('y'))).body);
  let last = (await alice.cipher.encrypt(bob.address, text('z'))).body;
  for (let i = 0; i < skipped; i++) last = (await alice.cipher.encrypt(bob.address, text('s'))).body;
  await bob.cipher.decrypt(alice.address, last);
  const bytes = (await bob.store.getSession(alice.id)) as Uint8Array;
  const name = `record of ${bytes.length} bytes (${skipped} skipped keys)`;
  measures[`${name}: write`] = async (which) => {
    const record = builds[which].record.deserializeSessionRecord(bytes);
    return cpu(() => {
      for (let i = 0; i < N.record; i++) builds[which].record.serializeSessionRecord(record);
    }, N.record);
  };
  measures[`${name}: read`] = async (which) =>
    cpu(() => {
      for (let i = 0; i < N.record; i++) builds[which].record.deserializeSessionRecord(bytes);
    }, N.record);
}

const results: Record<string, { before: number[]; now: number[] }> = {};
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 ? (['now', 'before'] as const) : (['before', 'now'] as const);
  for (const [name, measure] of Object.entries(measures)) {
    for (const which of order) {
      const us = await measure(which);
      if (round === 0) continue;
      const kept = results[name] ?? { before: [], now: [] };
      kept[which].push(us);
      results[name] = kept;
    }
  }
}
console.table(
  Object.entries(results).map(([measure, { before: b, now: a }]) => ({
    measure,
    'before, CPU µs (median, range)': `${median(b).toFixed(1)} (${range(b)})`,
    'now, CPU µs (median, range)': `${median(a).toFixed(1)} (${range(a)})`,
    'now / before, per round: median (range)': `${median(a.map((x, i) => x / (b[i] as number))).toFixed(3)} (${range(
      a.map((x, i) => x / (b[i] as number)),
      3,
    )})`,
  })),
);
