// vitest globalSetup of the integration tests: some run what production runs, the compiled
// packages (npm start, node server/dist/main.js, npm pack). Build them once, before any test, so that
// no two tests build at the same time; when nothing changed, tsc -b only checks, in about a second.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

export default async function build(): Promise<void> {
  await promisify(execFile)('npm', ['run', '-s', 'build'], { cwd: resolve(import.meta.dirname, '../..') }).catch(
    (error: { stdout?: string; stderr?: string }) => {
      throw new Error(`npm run build failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    },
  );
}
