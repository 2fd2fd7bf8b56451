import { encodeBase64url, type SendRequest } from '@liaison/protocol';
import { type Kysely, sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../log.js';
import { openDatabase } from './database.js';
import { queuedEnvelopes, storeMessages } from './messages.js';
import { migrate } from './migrations.js';
import type { Database } from './schema.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const bytes = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

describe('storing messages (embedded PostgreSQL)', () => {
  let db: Kysely<Database>;
  let close: () => void;
  beforeAll(async () => {
    const opened = await openDatabase(
      { kind: 'pglite', dataDir: undefined },
      { log: createLogger('silent'), reserveBytes: 0 },
    );
    db = opened.db;
    close = () => opened.space.close();
    await migrate(db);
    // PGlite's first start (initdb in WebAssembly) takes seconds, more on a busy machine.
  }, 60_000);
  afterEach(async () => {
    await sql`truncate envelopes, receipts, message_recipients, messages cascade`.execute(db);
  });
  afterAll(async () => {
    close();
    await db.destroy();
  });

  // The batch's ciphertexts travel as one binary parameter cut up by offset: a wrong offset would
  // hand one device a neighbour's bytes, or a shifted copy of its own.
  it('gives each device back exactly its own ciphertext, whatever the sizes in one batch', async () => {
    const sizes = [[1], [1144, 2, 65_536], [3, 700]];
    const messages = sizes.map((lengths, m) => ({
      sender: { deviceId: 'sender-device', contactPointId: 'th-oag.somchai' },
      request: {
        messageId: id(m),
        recipient: 'am-pgo.lilit',
        priority: 'normal',
        createdAt: 1,
        envelopes: lengths.map((length, e) => ({
          recipientDevice: `device-${e}`,
          kind: 'message',
          ciphertext: encodeBase64url(bytes(length, m * 10 + e)),
          escalationLevel: 0,
        })),
      } satisfies SendRequest,
    }));
    const stored = await storeMessages(db, messages, 1_000, 60_000);
    expect([...stored].sort()).toEqual([id(0), id(1), id(2)]);
    for (let e = 0; e < 3; e++) {
      const queued = await queuedEnvelopes(db, `device-${e}`, [], 10);
      const expected = sizes.flatMap((lengths, m) => {
        const length = lengths[e];
        return length === undefined
          ? []
          : [{ messageId: id(m), ciphertext: encodeBase64url(bytes(length, m * 10 + e)) }];
      });
      expect(queued.map((q) => ({ messageId: q.envelope.messageId, ciphertext: q.envelope.ciphertext }))).toEqual(
        expected,
      );
    }
  });
});
