import { encodeBase64url, type SendRequest } from '@liaison/protocol';
import { describe, expect, it } from 'vitest';
import { embeddedTestDatabase } from './__fixtures__/embedded-test-database.js';
import { queuedEnvelopes, storeMessages } from './messages.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const bytes = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff);

describe('storing messages (embedded PostgreSQL)', () => {
  const database = embeddedTestDatabase(['envelopes', 'receipts', 'message_recipients', 'messages']);

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
    const stored = await storeMessages(database.db, messages, 1_000, 60_000);
    expect([...stored].sort()).toEqual([id(0), id(1), id(2)]);
    for (let e = 0; e < 3; e++) {
      const queued = await queuedEnvelopes(database.db, `device-${e}`, [], 10);
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
