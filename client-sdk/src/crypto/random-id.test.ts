import { Uuid } from '@liaison/protocol';
import { describe, expect, it } from 'vitest';
import { randomId } from './random-id.js';
import { ready } from './sodium.js';

describe('randomId', () => {
  it('makes distinct version 4 UUIDs the relay accepts as message and blob ids', async () => {
    await ready();
    const ids = Array.from({ length: 1000 }, randomId);
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) {
      expect(Uuid.safeParse(id).success).toBe(true);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });
});
