import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';

/**
 * The embedded database's PostgreSQL settings, written over its postgresql.conf at every start.
 * PostgreSQL's 128 MB of shared buffers live in PGlite's WebAssembly memory, resident once
 * touched, for a relay whose queues fit in a few megabytes: 16 MB measured 100 MB less resident
 * memory and no fewer deliveries per second (docs/performance.md). The rest are PGlite's own.
 */
export const PGLITE_SETTINGS = ['shared_buffers = 16MB', 'max_wal_size = 1GB', 'min_wal_size = 80MB'];

/**
 * PGlite's PostgreSQL is 10 MB of WebAssembly. V8 compiles it quickly (Liftoff), then again,
 * optimised, as functions get hot (TurboFan): that second compiler's code and working memory were
 * 40 to 50 MB of the relay's resident memory, and its compiling a CPU-second of every start, for
 * queries measured 15% faster once compiled, and no more deliveries per second in the relay
 * benchmark (docs/performance.md). So the embedded database runs on the first compiler's code alone. The
 * flag is process-wide: set before PGlite compiles, and after libsodium has (at start-up).
 */
const LEAN_WASM = '--liftoff-only';

/** Call before the first PGlite of the process is created. */
export function compileWasmLean(): void {
  setFlagsFromString(LEAN_WASM);
}

const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
const pgliteVersion = (
  JSON.parse(readFileSync(join(dirname(pgliteEntry), '..', 'package.json'), 'utf8')) as { version: string }
).version;

/**
 * A new, empty database folder as PGlite's initdb makes it, made once by the build (it depends on
 * PGlite's version only): a first start measured 2.4–3.0 CPU-seconds with it, 4.5 with initdb.
 * The same path from server/src and server/dist.
 */
export const PGLITE_SEED = fileURLToPath(new URL(`../../dist/pglite-seed-${pgliteVersion}.tar.gz`, import.meta.url));

/** Writes the seed (`npm run build` does, when it is missing). */
export async function writePgliteSeed(): Promise<void> {
  const db = await PGlite.create();
  const tarball = await db.dumpDataDir('gzip');
  await db.close();
  // Whole or absent: an interrupted build must not leave a seed that every first start would fail on.
  await writeFile(`${PGLITE_SEED}.partial`, Buffer.from(await tarball.arrayBuffer()));
  await rename(`${PGLITE_SEED}.partial`, PGLITE_SEED);
}

/**
 * A new database folder is made in a process of its own, from the seed when there is one, else by
 * initdb. In the relay's process, initdb's second WebAssembly instance left 450 MB resident after
 * a first start (820 MB idle against 360 MB after any later start): V8 hands such memory back only
 * when a full garbage collection happens to run.
 */
export async function createDataDir(dataDir: string): Promise<void> {
  // Present while a folder is being made: a start killed meanwhile leaves a folder that may hold
  // PG_VERSION and not the rest, which the next start must not take for a database.
  const creating = join(dataDir, '.liaison-creating');
  if (existsSync(join(dataDir, 'PG_VERSION')) && !existsSync(creating)) return;
  for (const entry of existsSync(creating) ? readdirSync(dataDir) : []) {
    rmSync(join(dataDir, entry), { recursive: true, force: true });
  }
  writeFileSync(creating, '');
  const seed = existsSync(PGLITE_SEED) ? PGLITE_SEED : '';
  const child = spawn(process.execPath, [LEAN_WASM, '-e', CREATE, pgliteEntry, dataDir, seed], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`could not create the database in ${dataDir}: ${stderr.trim().split('\n').at(-1)}`);
  rmSync(creating);
}

/** Run by `node -e`: argv[1] is PGlite's CommonJS entry, argv[2] the folder, argv[3] the seed or ''. */
const CREATE = `
const { readFileSync } = require('node:fs');
const { PGlite } = require(process.argv[1]);
const seed = process.argv[3] && new Blob([readFileSync(process.argv[3])]);
PGlite.create({ dataDir: process.argv[2], ...(seed && { loadDataDir: seed }) })
  .then((db) => db.close())
  .catch((error) => { console.error(error?.message ?? String(error)); process.exit(1); });
`;
