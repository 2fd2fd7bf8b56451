import { type Kysely, type Migration, Migrator, sql } from 'kysely';
import * as initial from './migrations/0001-initial.js';
import * as urgent from './migrations/0002-urgent.js';
import * as blobs from './migrations/0003-blobs.js';
import * as relayKeys from './migrations/0004-relay-keys.js';
import * as kemPrekeys from './migrations/0005-kem-prekeys.js';
import * as severalRecipients from './migrations/0006-several-recipients.js';
import * as federation from './migrations/0007-federation.js';
import type { Database } from './schema.js';

/** Listed explicitly, in order: the same migrations for PGlite and PostgreSQL. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-urgent': urgent,
  '0003-blobs': blobs,
  '0004-relay-keys': relayKeys,
  '0005-kem-prekeys': kemPrekeys,
  '0006-several-recipients': severalRecipients,
  '0007-federation': federation,
};

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
