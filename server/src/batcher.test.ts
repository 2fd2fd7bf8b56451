import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.js';

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r));
}

describe('Batcher (group commit)', () => {
  it('sends what is submitted in one turn of the event loop together, and what arrives during a batch in the next one', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const batcher = new Batcher<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      return items.map((i) => i * 10);
    }, 100);
    const first = [1, 2].map((i) => batcher.submit(i));
    // Later in the same turn, as a socket's next message is handled after the first one's promises.
    await Promise.resolve();
    first.push(batcher.submit(3));
    await until(() => batches.length === 1);
    const rest = [4, 5].map((i) => batcher.submit(i));
    release();
    expect(await Promise.all([...first, ...rest])).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('still batches when the work never yields to the event loop (a database answering within microtasks)', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher<number, number>(async (items) => {
      batches.push(items);
      return items;
    }, 100);
    // Three sockets' messages, each handled in its own turn (a macrotask), as the event loop reads them.
    const sent = await Promise.all(
      [1, 2, 3].map((i) => new Promise<Promise<number>>((resolve) => setImmediate(() => resolve(batcher.submit(i))))),
    );
    expect(await Promise.all(sent)).toEqual([1, 2, 3]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('fails one item alone when its answer is an error, and every item when the batch throws', async () => {
    const perItem = new Batcher<number, number>(
      async (items) => items.map((i) => (i === 2 ? new Error('bad') : i)),
      10,
    );
    const results = await Promise.allSettled([1, 2, 3].map((i) => perItem.submit(i)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);

    const failing = new Batcher<number, number>(async () => {
      throw new Error('database down');
    }, 10);
    const all = await Promise.allSettled([1, 2].map((i) => failing.submit(i)));
    expect(all.every((r) => r.status === 'rejected' && (r.reason as Error).message === 'database down')).toBe(true);
    // And it goes on afterwards.
    const recovered = new Batcher<number, number>(async (items) => items, 10);
    expect(await recovered.submit(5)).toBe(5);
  });

  it('never puts more than the maximum in one batch', async () => {
    const sizes: number[] = [];
    const batcher = new Batcher<number, number>(async (items) => {
      sizes.push(items.length);
      return items;
    }, 3);
    await Promise.all(Array.from({ length: 8 }, (_, i) => batcher.submit(i)));
    expect(sizes).toEqual([3, 3, 2]);
  });
});
