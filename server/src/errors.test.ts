import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { toErrorBody } from './errors.js';
import { createLogger } from './log.js';
import { openDatabase } from './storage/database.js';

describe('toErrorBody', () => {
  it("turns the database's refusal of a NUL character into INVALID_INPUT, never INTERNAL", async () => {
    const { db, space } = await openDatabase(
      { kind: 'pglite', dataDir: undefined },
      { log: createLogger('silent'), reserveBytes: 0 },
    );
    try {
      const refusals = [
        sql`select ${'th-oag\u0000'}::text`,
        sql`select ${JSON.stringify({ subjectId: 'th-oag\u0000' })}::jsonb`,
      ].map((query) => query.execute(db).then(() => 'stored', toErrorBody));
      for (const body of await Promise.all(refusals)) expect(body).toMatchObject({ error: 'INVALID_INPUT' });
    } finally {
      space.close();
      await db.destroy();
    }
  });

  it('says nothing of an unknown failure', () => {
    expect(toErrorBody(new Error('relation "secrets" does not exist'))).toEqual({
      error: 'INTERNAL',
      message: 'internal error',
    });
  });
});
