import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.js';

describe('Batcher (group commit)', () => {
  it('sends a lone item at once, and what arrives during a batch together in the next one', async () => {
    const batches: number[][] = [];
    let release: () => void = () => undefined;
    const batcher = new Batcher<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      return items.map((i) => i * 10);
    }, 100);
    const first = batcher.submit(1);
    await Promise.resolve();
    const rest = [2, 3, 4].map((i) => batcher.submit(i));
    release();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
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
    // The first goes alone at once; the seven that arrived meanwhile go at most three at a time.
    expect(sizes).toEqual([1, 3, 3, 1]);
  });
});
