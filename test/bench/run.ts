/**
 * `npm run bench -w @liaison/test [-- --quick]`: every benchmark of this folder in turn, each with
 * the same arguments, each in its own process so that one's leftovers do not slow the next.
 *
 * A quick run checks that each measure still runs and gives figures of the right shape, in under
 * two minutes with the crypto and escalation benches of the other workspaces: start-up,
 * attachments and the relay only. Case rooms and Liaison Web take one to three minutes even in
 * their quick modes; they run in the full run, or alone (`npm run bench:rooms -w @liaison/test --
 * --quick`, `npx tsx --conditions=@liaison/source test/bench/web.ts --quick`).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { buildBeforeRun } from '../harness/build.js';

const quick = process.argv.includes('--quick');
const built = buildBeforeRun();
const scripts = ['startup.ts', 'attachments.ts', 'relay.ts', ...(quick ? [] : ['rooms.ts', 'web.ts'])];
for (const script of scripts) {
  const started = performance.now();
  const { status } = spawnSync(
    process.execPath,
    ['--conditions=@liaison/source', '--import', 'tsx', resolve(import.meta.dirname, script), ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, ...built } },
  );
  console.error(`(${script}: ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  if (status !== 0) process.exit(status ?? 1);
}
if (quick) console.error('(quick: case rooms and Liaison Web are left to the full run, or to their own --quick)');
