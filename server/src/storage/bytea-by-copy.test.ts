import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresDatabase, type TestDatabase } from '../../../test/harness/databases.js';
import { postgresService } from '../../../test/harness/services.js';
import { until } from '../../../test/harness/until.js';
import { toRelayError } from '../errors.js';
import { oneByteaFromCopy, readOneByteaByCopy } from './bytea-by-copy.js';

/** A binary COPY answer as PostgreSQL's documentation describes it: a header, tuples of fields (null: undefined), the trailer. */
function copyAnswer(rows: (Uint8Array | undefined)[][], { flags = 0, extension = Buffer.alloc(0) } = {}): Buffer {
  const int = (bits: 16 | 32, value: number) => {
    const bytes = Buffer.alloc(bits / 8);
    bits === 16 ? bytes.writeInt16BE(value) : bytes.writeInt32BE(value);
    return bytes;
  };
  const header = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int(32, flags), int(32, extension.length), extension];
  const tuples = rows.flatMap((fields) => [
    int(16, fields.length),
    ...fields.flatMap((field) => (field ? [int(32, field.length), field] : [int(32, -1)])),
  ]);
  return Buffer.concat([...header, ...tuples, int(16, -1)]);
}

describe('the binary COPY answer of one bytea', () => {
  const bytes = randomBytes(40);

  it('is the field of its one row, or nothing for no row', () => {
    expect(oneByteaFromCopy(copyAnswer([[bytes]]))?.equals(bytes)).toBe(true);
    expect(oneByteaFromCopy(copyAnswer([[Buffer.alloc(0)]]))?.length).toBe(0);
    expect(oneByteaFromCopy(copyAnswer([]))).toBeUndefined();
  });

  it('skips a header extension and ignores the compatible flags (bits 17–31), as the format asks', () => {
    const answer = copyAnswer([[bytes]], { flags: (1 << 17) | (1 << 31), extension: randomBytes(9) });
    expect(oneByteaFromCopy(answer)?.equals(bytes)).toBe(true);
  });

  it('refuses critical flags, OIDs, a null, more rows or fields, and an answer cut short or too long', () => {
    const refused = [
      copyAnswer([[bytes]], { flags: 1 }),
      copyAnswer([[bytes]], { flags: 1 << 15 }),
      copyAnswer([[bytes]], { flags: 1 << 16 }),
      copyAnswer([[undefined]]),
      copyAnswer([[bytes], [bytes]]),
      copyAnswer([[bytes, bytes]]),
      Buffer.concat([copyAnswer([[bytes]]), Buffer.alloc(1)]),
      Buffer.from(
        copyAnswer([[bytes]])
          .toString('latin1')
          .replace('PGCOPY', 'PGCOPZ'),
        'latin1',
      ),
    ];
    const whole = copyAnswer([[bytes]]);
    for (let length = 0; length < whole.length; length++) refused.push(whole.subarray(0, length));
    for (const answer of refused) expect(() => oneByteaFromCopy(answer)).toThrow(/at most one row of one bytea/);
  });
});

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
    // 57P01, or the connection's end: either is the retryable UNAVAILABLE for the device asking.
    const failed = readOneByteaByCopy(pool, `select ${literal(bytes)} from pg_sleep(30)`).then(
      () => undefined,
      (error: unknown) => error,
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
    expect(toRelayError(await failed).code).toBe('UNAVAILABLE');
    expect((await readOneByteaByCopy(pool, `select ${literal(bytes)}`))?.equals(bytes)).toBe(true);
    expect(pool.totalCount - pool.idleCount).toBe(0);
  });
});
