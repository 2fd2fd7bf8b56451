import { type Kysely, type Migration, sql } from 'kysely';
import * as initial from './migrations/0001-initial.js';
import * as urgent from './migrations/0002-urgent.js';
import * as blobs from './migrations/0003-blobs.js';
import * as relayKeys from './migrations/0004-relay-keys.js';
import type { Database } from './schema.js';

/** Listed explicitly, in order: the same migrations for PGlite and PostgreSQL. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-urgent': urgent,
  '0003-blobs': blobs,
  '0004-relay-keys': relayKeys,
};

/** Any fixed number: the lock every node takes while it looks at, and applies, migrations. */
const MIGRATION_LOCK = 7_314_520_611;

/**
 * Applies the migrations not applied yet, in one transaction, under a lock that makes the nodes of
 * a cluster starting together take turns. Kysely's own Migrator (whose `kysely_migration` table
 * this keeps, so that databases it migrated carry on) first lists every column of every table in
 * the catalog to learn whether its tables exist: 4 to 5 s on a first start on PGlite, as long as
 * everything else in the start together. Here that question is `create table if not exists`.
 */
export async function migrate(db: Kysely<Database>): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(tx);
    await sql`create table if not exists kysely_migration
      (name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(tx);
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(tx);
    const applied = new Set(rows.map((r) => r.name));
    const unknown = [...applied].filter((name) => !(name in MIGRATIONS));
    if (unknown.length > 0) {
      throw new Error(`the database was migrated by a newer relay (${unknown.join(', ')}): run that version`);
    }
    for (const [name, migration] of Object.entries(MIGRATIONS)) {
      if (applied.has(name)) continue;
      await migration.up(tx);
      await sql`insert into kysely_migration (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(
        tx,
      );
    }
  });
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
