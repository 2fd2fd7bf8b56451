import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_TYPES } from '@liaison/server';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { postgresService, requireUrl } from './services.js';

// Test databases hold whatever schema a test creates, as kysely's own migrations do.
// biome-ignore lint/suspicious/noExplicitAny: a schema-agnostic handle
type AnyDb = Kysely<any>;

export interface TestDatabase {
  /** Connection string of this database alone (PostgreSQL), or undefined for in-memory PGlite. */
  readonly url: string | undefined;
  readonly db: AnyDb;
  /** PostgreSQL's connections, the ones `db` uses (undefined for PGlite). */
  readonly pool?: pg.Pool;
  /** Closes the connections and removes the database. */
  drop(): Promise<void>;
}

/**
 * A database of its own on the test PostgreSQL server, so test files can run in parallel
 * without seeing each other's rows.
 */
export async function freshPostgresDatabase(adminUrl = requireUrl(postgresService)): Promise<TestDatabase> {
  const name = `liaison_test_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 5 });
  // `drop` ends the pool, then forces the database away: a connection still closing when PostgreSQL
  // terminates it (57P01) is reported on the pool, and without a listener that would be an uncaught error.
  pool.on('error', () => undefined);
  const db: AnyDb = new Kysely({ dialect: new PostgresDialect({ pool }) });
  return {
    url: url.toString(),
    db,
    pool,
    async drop() {
      await db.destroy();
      await withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** An in-memory PGlite database: the embedded default, fresh each call, with the relay's codecs (`bytea` as Buffers). */
export async function freshPgliteDatabase(): Promise<TestDatabase> {
  const db: AnyDb = new Kysely({ dialect: new PGliteDialect(new PGlite(PGLITE_TYPES)) });
  await sql`select 1`.execute(db);
  return { url: undefined, db, drop: () => db.destroy() };
}

async function withAdmin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
