import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * The embedded database's PostgreSQL settings, written over its postgresql.conf at every start.
 * PostgreSQL's 128 MB of shared buffers live in PGlite's WebAssembly memory, resident once
 * touched, for a relay whose queues fit in a few megabytes: 16 MB measured the same deliveries
 * per second and 100 MB less resident memory (docs/performance.md). The rest are PGlite's own.
 */
export const PGLITE_SETTINGS = ['shared_buffers = 16MB', 'max_wal_size = 1GB', 'min_wal_size = 80MB'];

/**
 * A new database folder is made in a process of its own. PGlite makes one by running initdb in a
 * second WebAssembly instance and copying its result over: in the relay's process, those
 * instances' 500 MB stayed resident after a first start (790 MB against 280 MB for any later
 * start), since V8 hands such memory back only when a full garbage collection happens to run.
 */
export async function createDataDir(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const child = spawn(process.execPath, ['-e', CREATE, pglite, dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`could not create the database in ${dataDir}: ${stderr.trim().split('\n').at(-1)}`);
}

/** Run by `node -e`: argv[1] is PGlite's CommonJS entry, argv[2] the folder. */
const CREATE = `
const { PGlite } = require(process.argv[1]);
PGlite.create({ dataDir: process.argv[2] })
  .then((db) => db.close())
  .catch((error) => { console.error(error?.message ?? String(error)); process.exit(1); });
`;
