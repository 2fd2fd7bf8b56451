import { LIMITS, type Receipt } from '@liaison/protocol';
import { describe, expect, it, vi } from 'vitest';
import { NOW } from '../__fixtures__/devices.js';
import type { LiaisonError } from '../errors.js';
import { MemoryKeyStore } from '../key-store/memory-key-store.js';
import { Receipts, SEEN_RECEIPTS_LIMIT } from './receipts.js';

const receipt = (i: number): Receipt => ({
  messageId: crypto.randomUUID(),
  status: 'delivered',
  contactPointId: 'vn-spp.bob',
  at: NOW + i,
});

describe('receipts', () => {
  it('shows each once, and moves the stored cursor before what it remembers could come again', async () => {
    // The relay's stored list: every receipt ever pushed, by cursor.
    const stored: Receipt[] = [];
    const shown: Receipt[] = [];
    const store = new MemoryKeyStore();
    const cursor = async () => Number(await store.getState('receipts:cursor'));
    const receipts = new Receipts(
      {
        receipts: async (after: number) => {
          return { receipts: stored.slice(after, after + 100), cursor: Math.min(after + 100, stored.length) };
        },
      },
      store,
      async (r) => {
        shown.push(r);
      },
      async (error) => {
        throw error;
      },
    );
    const push = async (r: Receipt) => {
      stored.push(r);
      await receipts.pushed(r);
    };
    for (let i = 0; i < SEEN_RECEIPTS_LIMIT / 2 - 1; i++) await push(receipt(i));
    await push(stored[0] as Receipt);
    expect(shown).toHaveLength(SEEN_RECEIPTS_LIMIT / 2 - 1);
    // Half the memory's worth came: the list is read, and the stored cursor moves past all of it.
    await vi.waitFor(async () => expect(await cursor()).toBe(stored.length));
    // Twice the memory's worth pushed later, a catch-up lists only what came after the cursor, all remembered.
    for (let i = 0; i < 2 * SEEN_RECEIPTS_LIMIT; i++) await push(receipt(SEEN_RECEIPTS_LIMIT + i));
    await receipts.catchUp();
    expect(shown).toHaveLength(stored.length - 1);
  });

  it('shows the receipts of one `receipts` event in order, and drops a malformed event whole, reported', async () => {
    const { receipts, shown, reports } = pushedTo();
    const frame = [receipt(1), receipt(2), receipt(3)];
    await receipts.pushedAll(frame);
    expect(shown).toEqual(frame);
    const malformed: unknown[] = [
      receipt(4),
      [],
      Array.from({ length: LIMITS.maxReceiptsPerEvent + 1 }, (_, i) => receipt(10 + i)),
    ];
    for (const bad of malformed) await receipts.pushedAll(bad);
    expect(shown).toEqual(frame);
    expect(reports.map((e) => (e as LiaisonError).code)).toEqual(malformed.map(() => 'INVALID_MESSAGE'));
  });

  it('shows the valid receipts of an event that has a malformed one, and reports that one by its message id', async () => {
    const { receipts, shown, reports } = pushedTo();
    const bad = { ...receipt(2), status: 'read' };
    const [first, last] = [receipt(1), receipt(3)];
    await receipts.pushedAll([first, bad, null, last]);
    expect(shown).toEqual([first, last]);
    expect(reports.map((e) => (e as LiaisonError).code)).toEqual(['INVALID_MESSAGE', 'INVALID_MESSAGE']);
    expect((reports[0] as LiaisonError).message).toContain(bad.messageId);
  });

  it('goes on after a listener that throws and a report that rejects', async () => {
    const shown: Receipt[] = [];
    const [first, second] = [receipt(1), receipt(2)];
    const receipts = new Receipts(
      { receipts: async (after: number) => ({ receipts: [], cursor: after }) },
      new MemoryKeyStore(),
      async (r) => {
        if (r.messageId === first.messageId) throw new Error('listener failed');
        shown.push(r);
      },
      async () => {
        throw new Error('error listener failed too');
      },
    );
    await expect(receipts.pushedAll([first, second])).resolves.toBeUndefined();
    await expect(receipts.pushedAll('not an array')).resolves.toBeUndefined();
    expect(shown).toEqual([second]);
  });
});

/** Receipts whose catch-up lists nothing: what is shown comes from the pushed events only. */
function pushedTo() {
  const shown: Receipt[] = [];
  const reports: unknown[] = [];
  const receipts = new Receipts(
    { receipts: async (after: number) => ({ receipts: [], cursor: after }) },
    new MemoryKeyStore(),
    async (r) => {
      shown.push(r);
    },
    async (error) => {
      reports.push(error);
    },
  );
  return { receipts, shown, reports };
}
