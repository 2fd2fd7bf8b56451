import { type Kysely, sql } from 'kysely';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createLogger } from '../../log.js';
import { openDatabase } from '../database.js';
import { migrate } from '../migrations.js';
import type { Database } from '../schema.js';

/**
 * For a storage test file: an embedded, migrated database opened before its tests, emptied of
 * `tables` (and what references them) after each test, and closed after the last. Read `db` inside
 * tests and hooks only: it is opened in `beforeAll`.
 */
export function embeddedTestDatabase(tables: readonly string[]): { readonly db: Kysely<Database> } {
  let opened: Awaited<ReturnType<typeof openDatabase>> | undefined;
  beforeAll(async () => {
    opened = await openDatabase(
      { kind: 'pglite', dataDir: undefined },
      { log: createLogger('silent'), reserveBytes: 0 },
    );
    await migrate(opened.db);
    // PGlite's first start (initdb in WebAssembly) takes seconds, more on a busy machine.
  }, 60_000);
  afterEach(async () => {
    await sql`truncate ${sql.join(tables.map((t) => sql.table(t)))} cascade`.execute(database());
  });
  afterAll(async () => {
    opened?.space.close();
    await opened?.db.destroy();
  });
  const database = () => {
    if (!opened) throw new Error('the test database is opened in beforeAll: read it in tests and hooks');
    return opened.db;
  };
  return {
    get db() {
      return database();
    },
  };
}
