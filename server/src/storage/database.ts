import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, type Migration, Migrator, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import type { RelayConfig } from '../config.js';
import type { Logger } from '../log.js';
import * as initial from './migrations/0001-initial.js';
import * as urgent from './migrations/0002-urgent.js';
import * as blobs from './migrations/0003-blobs.js';
import type { Database } from './schema.js';

/** Listed explicitly, in order: the same migrations for PGlite and PostgreSQL. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-urgent': urgent,
  '0003-blobs': blobs,
};

// bigint (int8) columns hold milliseconds and sequence numbers, all far below 2^53: read them as numbers.
const INT8 = 20;
pg.types.setTypeParser(INT8, (value) => Number(value));

export async function openDatabase(config: RelayConfig['database'], log: Logger): Promise<Kysely<Database>> {
  if (config.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: config.url, max: 10, connectionTimeoutMillis: 5000 });
    watchConnections(pool, log);
    return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  }
  if (config.dataDir) mkdirSync(config.dataDir, { recursive: true });
  const client = new PGlite({
    ...(config.dataDir && { dataDir: config.dataDir }),
    parsers: { [INT8]: (value: string) => Number(value) },
  });
  return new Kysely<Database>({ dialect: new PGliteDialect(client) });
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

export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}

/** True when the database answers and every listed migration is applied. */
export async function isReady(db: Kysely<Database>): Promise<boolean> {
  try {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from kysely_migration`.execute(db);
    return rows[0]?.n === Object.keys(MIGRATIONS).length;
  } catch {
    return false;
  }
}
