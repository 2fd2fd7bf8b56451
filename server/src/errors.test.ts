import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { failureForLog, RelayError, toErrorBody } from './errors.js';
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

describe('failureForLog', () => {
  it('gives an internal failure where it happened, and never more of its message than before', () => {
    const secret = `token=${'s'.repeat(300)}`;
    function failingDeepInside(): never {
      throw new Error(`cannot use ${secret}`);
    }
    let error: unknown;
    try {
      failingDeepInside();
    } catch (caught) {
      error = caught;
    }
    const logged = failureForLog(error);
    expect(logged).toMatchObject({ name: 'Error', message: `cannot use ${secret}`.slice(0, 200) });
    expect(logged.stack).toMatch(/^at failingDeepInside \(.*errors\.test\.ts:\d+:\d+\)$/m);
    // Frames only: the message is not repeated in the stack, so nothing beyond its first 200 characters is logged.
    expect(JSON.stringify(logged)).not.toContain(secret);
  });

  it("gives a refusal, the client's doing, without a stack", () => {
    const logged = failureForLog(new RelayError('NOT_FOUND', 'no such blob'));
    expect(logged).toEqual({ name: 'Error', code: 'NOT_FOUND', message: 'no such blob' });
  });
});
