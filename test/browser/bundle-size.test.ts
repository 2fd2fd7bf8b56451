import { describe, expect, it } from 'vitest';
import { measure } from './bundle/measure.js';

describe('the SDK bundled for a browser', () => {
  // 150 KB until evidence, 155 KB until the bound on the relay's JSON answers (docs/browser.md,
  // "Bundler settings"): every client now signs what it seals and checks receipts; the case-record
  // tools live in @liaison/client/records.
  it('builds for the browser platform (no Node built-in), and all but libsodium is at most 156 KB gzipped', async () => {
    const { parts, withoutSodium } = await measure();
    expect([...parts.keys()].filter((p) => p.startsWith('node:'))).toEqual([]);
    expect(withoutSodium.gzipped).toBeLessThanOrEqual(156_000);
  });
});
