import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPgliteDatabase, freshPostgresDatabase, type TestDatabase } from './harness/databases.js';
import { freshRedis, type TestRedis } from './harness/redis.js';
import { postgresService, redisService } from './harness/services.js';

async function writeAndReadBack(db: TestDatabase['db']) {
  await sql`create table notes (id serial primary key, body text not null)`.execute(db);
  await db.insertInto('notes').values({ body: 'preservation request received' }).execute();
  return db.selectFrom('notes').select('body').execute();
}

postgresService.describe('harness: PostgreSQL', () => {
  let first: TestDatabase;
  let second: TestDatabase;
  beforeAll(async () => {
    [first, second] = await Promise.all([freshPostgresDatabase(), freshPostgresDatabase()]);
  });
  afterAll(async () => {
    await Promise.all([first?.drop(), second?.drop()]);
  });

  it('writes and reads back through a real PostgreSQL server', async () => {
    expect(await writeAndReadBack(first.db)).toEqual([{ body: 'preservation request received' }]);
    const { rows } = await sql<{ version: string }>`select version()`.execute(first.db);
    expect(rows[0]?.version).toMatch(/^PostgreSQL \d+/);
    expect(rows[0]?.version).not.toMatch(/wasm/);
  });

  it('gives each caller a database of its own', async () => {
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_tables where tablename = 'notes'`.execute(second.db);
    expect(rows[0]?.n).toBe(0);
  });

  it('removes the database on drop', async () => {
    const extra = await freshPostgresDatabase();
    const name = new URL(extra.url ?? '').pathname.slice(1);
    await extra.drop();
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_database where datname = ${name}`.execute(first.db);
    expect(rows[0]?.n).toBe(0);
  });
});

describe('harness: PGlite', () => {
  it('writes and reads back in memory, with no server', async () => {
    const db = await freshPgliteDatabase();
    try {
      expect(await writeAndReadBack(db.db)).toEqual([{ body: 'preservation request received' }]);
    } finally {
      await db.drop();
    }
  });
});

redisService.describe('harness: Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await freshRedis();
  });

  it('writes and reads back under its own prefix, and cleans up', async () => {
    await redis.redis.set('nonce:1', 'used', 'EX', 60);
    expect(await redis.redis.get('nonce:1')).toBe('used');
    const other = await freshRedis();
    try {
      expect(await other.redis.get('nonce:1')).toBeNull();
    } finally {
      await other.cleanup();
    }
    const probe = await freshRedis();
    await redis.cleanup();
    // A fresh client over the raw keyspace sees nothing left under the first prefix.
    const left = await probe.redis.call('KEYS', `${redis.prefix}*`);
    expect(left).toEqual([]);
    await probe.cleanup();
  });
});
