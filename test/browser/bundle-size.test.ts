import { describe, expect, it } from 'vitest';
import { measure } from './bundle/measure.js';

describe('the SDK bundled for a browser', () => {
  it('builds for the browser platform (no Node built-in), and all but libsodium is at most 150 KB gzipped', async () => {
    const { parts, withoutSodium } = await measure();
    expect([...parts.keys()].filter((p) => p.startsWith('node:'))).toEqual([]);
    expect(withoutSodium.gzipped).toBeLessThanOrEqual(150_000);
  });
});
