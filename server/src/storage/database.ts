import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { asBuffer } from '../bytes.js';
import type { RelayConfig } from '../config.js';
import type { Logger } from '../log.js';
import { ReplaceablePglite } from './pglite-instance.js';
import { compileWasmLean, createDataDir, PGLITE_SETTINGS } from './pglite-setup.js';
import type { Database } from './schema.js';
import { folderSpace, refuseWritesWhenShort, type StorageSpace, serverSpace, unlimitedSpace } from './storage-space.js';

// bigint (int8) columns hold milliseconds and sequence numbers, all far below 2^53: read them as numbers.
const INT8 = 20;
pg.types.setTypeParser(INT8, (value) => Number(value));

const BYTEA = 17;

/**
 * How PGlite turns values into text and back: int8 as numbers (as for pg above), and `bytea`
 * (ciphertexts, attachment chunks) as hex by Node's own codec. PGlite's default turns each byte
 * into a string of its own and back: 66 µs to write and 103 µs to read an envelope of 1,144 bytes,
 * 1.7 and 1.9 µs this way (docs/performance.md).
 */
export const PGLITE_TYPES = {
  parsers: {
    [INT8]: (value: string) => Number(value),
    [BYTEA]: (value: string) => {
      const bytes = Buffer.from(value.slice(2), 'hex');
      // Node's decoder stops at the first character that is not hex: anything but whole hex (the
      // escape format, if `bytea_output` were changed) is refused, not read as other bytes.
      if (!value.startsWith('\\x') || bytes.length * 2 !== value.length - 2) {
        throw new TypeError('a bytea value that is not in hex format');
      }
      return bytes;
    },
  },
  serializers: {
    [BYTEA]: (bytes: unknown) => {
      if (!(bytes instanceof Uint8Array)) throw new TypeError('a bytea parameter must be bytes');
      return `\\x${asBuffer(bytes).toString('hex')}`;
    },
  },
};

export interface OpenedDatabase {
  db: Kysely<Database>;
  /** Whether its storage takes writes; close it before destroying the database. */
  space: StorageSpace;
  /** PostgreSQL's connections (the ones `db` uses), for what Kysely cannot say: COPY. */
  pool?: pg.Pool;
}

/**
 * PostgreSQL (a pool that survives the server's restarts), or PGlite in a folder (writes refused
 * while the folder's disk has less than `reserveBytes` free, a dead instance replaced), or PGlite
 * in memory.
 */
export async function openDatabase(
  config: RelayConfig['database'],
  options: { log: Logger; reserveBytes: number },
): Promise<OpenedDatabase> {
  const { log } = options;
  if (config.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: config.url, max: 10, connectionTimeoutMillis: 5000 });
    watchConnections(pool, log);
    const space = serverSpace(() => probeSpace(db), log);
    const db: Kysely<Database> = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      // Every failed statement, from requests and background work alike: a full disk is noticed wherever it shows.
      log: (event) => {
        if (event.level === 'error') space.observe(event.error);
      },
    });
    return { db, space, pool };
  }
  compileWasmLean();
  if (!config.dataDir) {
    return {
      db: new Kysely<Database>({ dialect: new PGliteDialect(new PGlite(PGLITE_TYPES)) }),
      space: unlimitedSpace,
    };
  }
  mkdirSync(config.dataDir, { recursive: true });
  await createDataDir(config.dataDir);
  const pglite = new ReplaceablePglite(
    { dataDir: config.dataDir, ...PGLITE_TYPES, postgresqlconf: PGLITE_SETTINGS },
    log,
  );
  const folder = folderSpace(config.dataDir, options.reserveBytes, log);
  const db = new Kysely<Database>({
    // kysely-pglite-dialect calls only query() and close(), which ReplaceablePglite has.
    dialect: new PGliteDialect(pglite as unknown as PGlite),
    plugins: [refuseWritesWhenShort(folder)],
  });
  // A dead instance is replaced once the folder has space again (the reserve, and at least room
  // for the new instance to recover: a WAL segment and more), holding the (single) connection so
  // that no transaction straddles the two instances.
  let reopening = false;
  const reopen = setInterval(() => {
    const room = Math.max(options.reserveBytes, REOPEN_FREE_BYTES);
    if (!pglite.lost || reopening || (folder.freeBytes() ?? 0) < room) return;
    reopening = true;
    db.connection()
      .execute(() => pglite.reopen())
      .then(
        () => log.info({ event: 'database.reopened' }, 'embedded database restarted'),
        (error) => log.error({ event: 'database.reopen-failed', err: (error as Error)?.message }, 'restart failed'),
      )
      .finally(() => {
        reopening = false;
      });
  }, 1000);
  reopen.unref();
  return {
    db,
    space: {
      ...folder,
      close() {
        folder.close();
        clearInterval(reopen);
      },
    },
  };
}

/** Free space a new PGlite instance needs to recover from the WAL and go on (two WAL segments). */
const REOPEN_FREE_BYTES = 32 * 1024 ** 2;

const ROLLBACK = new Error('rollback');

/**
 * A write that needs a new page on PostgreSQL's disk (a fresh temporary table, whose first row
 * extends its file), rolled back: it fails with disk_full while the disk is full.
 */
async function probeSpace(db: Kysely<Database>): Promise<void> {
  await db
    .transaction()
    .execute(async (tx) => {
      await sql`create temporary table liaison_space_probe (filler text) on commit drop`.execute(tx);
      await sql`insert into liaison_space_probe values ('probe')`.execute(tx);
      throw ROLLBACK;
    })
    .catch((error) => {
      if (error !== ROLLBACK) throw error;
    });
}

/**
 * A connection fails when PostgreSQL stops or restarts (`pg_ctl stop -m fast` closes every session,
 * `-m immediate` drops them), whether the client is idle in the pool or checked out by a query.
 * pg-pool listens for errors on idle clients only, and removes its listener while a client is
 * checked out; an 'error' event nobody listens to would end the process. So every client gets a
 * listener of its own for its whole life. The query in flight fails by itself (answered
 * UNAVAILABLE, errors.ts), and the pool drops the broken client and connects anew when asked.
 * Logged once when connections are lost, and once when a new one succeeds.
 */
function watchConnections(pool: pg.Pool, log: Logger): void {
  let lost = false;
  const onError = (error: Error) => {
    if (!lost) log.warn({ event: 'database.unreachable', err: error.message }, 'PostgreSQL connection lost');
    lost = true;
  };
  pool.on('error', onError);
  pool.on('connect', (client) => {
    client.on('error', onError);
    if (lost) log.info({ event: 'database.recovered' }, 'PostgreSQL reachable again');
    lost = false;
  });
}
