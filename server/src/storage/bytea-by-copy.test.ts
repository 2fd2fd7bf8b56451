import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freshPostgresDatabase, type TestDatabase } from '../../../test/harness/databases.js';
import { postgresService } from '../../../test/harness/services.js';
import { until } from '../../../test/harness/until.js';
import { readOneByteaByCopy } from './bytea-by-copy.js';

/** A query's bytes as a literal PostgreSQL reads back exactly. */
const literal = (bytes: Uint8Array) => `'\\x${Buffer.from(bytes).toString('hex')}'::bytea`;

postgresService.describe('one bytea read through a binary COPY', () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  beforeAll(async () => {
    database = await freshPostgresDatabase();
    pool = database.pool as pg.Pool;
    // As the relay does (watchConnections in database.ts): a connection ended while checked out reports on its client.
    pool.on('connect', (client) => client.on('error', () => undefined));
  }, 30_000);
  afterAll(() => database?.drop());

  it('gives the bytes selected exactly, from none to several mebibytes, and nothing when no row matches', async () => {
    for (const size of [0, 1, 65_537, 4 * 1024 * 1024 + 17]) {
      const bytes = randomBytes(size);
      const read = await readOneByteaByCopy(pool, `select ${literal(bytes)}`);
      expect(read?.length).toBe(size);
      expect(read?.equals(bytes)).toBe(true);
    }
    expect(await readOneByteaByCopy(pool, `select ${literal(randomBytes(10))} where false`)).toBeUndefined();
  });

  it('refuses a null, two rows or two columns instead of reading one of them', async () => {
    const one = literal(randomBytes(8));
    for (const query of [
      'select null::bytea',
      `select * from (values (${one}), (${one})) as two(bytes)`,
      `select ${one}, ${one}`,
    ]) {
      await expect(readOneByteaByCopy(pool, query), query).rejects.toThrow(/at most one row of one bytea/);
    }
  });

  it('fails a statement PostgreSQL refuses, and the connections serve the reads after it', async () => {
    await expect(readOneByteaByCopy(pool, 'select no_such_column from no_such_table')).rejects.toMatchObject({
      code: '42P01',
    });
    const bytes = randomBytes(1000);
    // More reads at once than the pool has connections: each waits for one, none is left checked out.
    const reads = await Promise.all(
      Array.from({ length: 12 }, () => readOneByteaByCopy(pool, `select ${literal(bytes)}`)),
    );
    for (const read of reads) expect(read?.equals(bytes)).toBe(true);
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });

  it('fails a read whose connection PostgreSQL ends mid-statement, with a connection error, and reads again after', async () => {
    const bytes = randomBytes(100);
    // 57P01, which the relay answers UNAVAILABLE (errors.ts), or the connection's end.
    const failed = expect(readOneByteaByCopy(pool, `select ${literal(bytes)} from pg_sleep(30)`)).rejects.toThrow(
      /terminat/i,
    );
    const killer = new pg.Client({ connectionString: database.url });
    await killer.connect();
    try {
      await until(async () => {
        const { rowCount } = await killer.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where query like 'copy (%pg_sleep(30)%' and pid <> pg_backend_pid()",
        );
        return rowCount === 1;
      }, 'the COPY running');
    } finally {
      await killer.end();
    }
    await failed;
    expect((await readOneByteaByCopy(pool, `select ${literal(bytes)}`))?.equals(bytes)).toBe(true);
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });
});
