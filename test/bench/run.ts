/**
 * `npm run bench -w @liaison/test [-- --quick]`: every benchmark of this folder in turn, each with
 * the same arguments, each in its own process so that one's leftovers do not slow the next.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

for (const script of ['startup.ts', 'attachments.ts', 'relay.ts', 'rooms.ts', 'web.ts']) {
  const { status } = spawnSync(
    process.execPath,
    ['--conditions=@liaison/source', '--import', 'tsx', resolve(import.meta.dirname, script), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  if (status !== 0) process.exit(status ?? 1);
}
