// vitest globalSetup of the integration tests: relay processes run the compiled relay, as production
// does (node server/dist/main.js, npm start, npm pack). Build it once, before any test, so that no
// two tests build at the same time; when nothing changed, tsc -b only checks, in about a second.
import { execFile, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '../..');

/** Set for the scripts `npm run bench` starts after it built once, so that each does not check again. */
const BUILT = 'LIAISON_BENCH_BUILT';

export default async function build(): Promise<void> {
  await promisify(execFile)('npm', ['run', '-s', 'build'], { cwd: root }).catch(
    (error: { stdout?: string; stderr?: string }) => {
      throw new Error(`npm run build failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    },
  );
}

/**
 * The same build for a script run outside vitest (a bench, the soak), before it starts a relay
 * process: exits when it fails. Returns the environment for the scripts it starts in turn.
 */
export function buildBeforeRun(): Record<string, string> {
  if (
    process.env[BUILT] !== '1' &&
    spawnSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' }).status !== 0
  ) {
    process.exit(1);
  }
  return { [BUILT]: '1' };
}
