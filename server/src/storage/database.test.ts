import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { openDatabase } from './database.js';
import type { Database } from './schema.js';

/**
 * The embedded database's own codec for `bytea` (PGLITE_TYPES): ciphertexts and attachment chunks
 * pass through it on every write and read, so it must keep every byte, whatever the length and
 * wherever the bytes sit in memory (a small Buffer is a view into Node's shared pool).
 */
describe('bytes in the embedded database', () => {
  let opened: Awaited<ReturnType<typeof openDatabase>>;
  let db: Kysely<Database>;
  beforeAll(async () => {
    opened = await openDatabase(
      { kind: 'pglite', dataDir: undefined },
      { log: createLogger('silent'), reserveBytes: 0 },
    );
    db = opened.db;
    // PGlite's first start (initdb in WebAssembly) takes seconds, more on a busy machine.
  }, 60_000);
  afterAll(async () => {
    opened?.space.close();
    await opened?.db.destroy();
  });

  const roundTrip = async (bytes: Uint8Array) => {
    const { rows } = await sql<{ back: Uint8Array }>`select ${bytes}::bytea as back`.execute(db);
    return Buffer.from(rows[0]?.back ?? []).toString('hex');
  };

  it('gives back exactly the bytes written, of every length, from any offset in memory', async () => {
    for (const length of [...Array.from({ length: 71 }, (_, i) => i), 1144, 4 * 1024 * 1024 + 17]) {
      const backing = randomBytes(length + 11);
      const view = backing.subarray(7, 7 + length);
      expect(await roundTrip(view), `length ${length}`).toBe(Buffer.from(view).toString('hex'));
    }
  });

  it('refuses a value that is not hex rather than reading other bytes', async () => {
    await db.connection().execute(async (connection) => {
      await sql`set bytea_output = 'escape'`.execute(connection);
      try {
        await expect(sql`select ${Uint8Array.of(0x41, 0xff, 0x00)}::bytea as back`.execute(connection)).rejects.toThrow(
          'not in hex format',
        );
      } finally {
        await sql`set bytea_output = 'hex'`.execute(connection);
      }
    });
  });
});
