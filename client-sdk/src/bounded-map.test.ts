import { describe, expect, it } from 'vitest';
import { BoundedMap } from './bounded-map.js';

describe('a bounded map', () => {
  it('drops the entry set longest ago once full, counting a set again as new', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2);
    map.set('a', 3);
    map.set('c', 4);
    expect(map.snapshot()).toEqual([
      ['a', 3],
      ['c', 4],
    ]);
    expect(map.has('b')).toBe(false);
    expect(map.size).toBe(2);
  });
});
