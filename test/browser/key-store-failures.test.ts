import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { bundle, launchChromium, openPage, type PageServer, servePage, withChromium } from '../harness/browser.js';

// The key store's refusals, in Chromium: a closed store, a failed write, a store whose protection
// record was deleted, and Argon2 costs it could not open again. Page side: pages/key-store-page.ts.

interface Outcome {
  ok: boolean;
  code?: string;
  message?: string;
  value?: unknown;
}

withChromium.describe('IndexedDbKeyStore refuses what it cannot stand behind', () => {
  let browser: Browser;
  let server: PageServer;
  let page: Page;
  let code: string;
  beforeAll(async () => {
    ({ code } = await bundle(resolve(import.meta.dirname, 'pages/sdk-page.ts')));
    server = await servePage(code);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  beforeAll(async () => {
    page = await browser.newPage();
    await openPage(page, server.origin);
  });

  type PageFunctions = Record<string, (...args: unknown[]) => unknown>;
  /** Calls one of the page's functions (window.sdk) with plain arguments. */
  const call = <T>(name: string, ...args: unknown[]): Promise<T> =>
    page.evaluate(
      ([n, a]) => (globalThis as unknown as { sdk: PageFunctions }).sdk[n as string]?.(...(a as unknown[])),
      [name, args] as const,
    ) as Promise<T>;

  const codes = (outcomes: Record<string, Outcome>) =>
    Object.fromEntries(Object.entries(outcomes).map(([k, o]) => [k, o.code ?? 'ok']));

  it('serves nothing once closed: every getter and setter is refused as by a locked store', async () => {
    const outcomes = await call<Record<string, Outcome>>('callsAfterClose', 'closed');
    expect(Object.keys(outcomes)).toHaveLength(19);
    for (const code of Object.values(codes(outcomes))) expect(code).toBe('KEY_STORE_LOCKED');
  });

  it('refuses to create a passphrase store with an Argon2 cost above what it opens, or below the floor', async () => {
    const tooHigh = await call<{ created: Outcome; reopened: Outcome }>('createWithCost', 'too-high', {
      opsLimit: 17,
      memLimit: 64 << 20,
    });
    expect(tooHigh.created).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(tooHigh.created.message).toContain('at most 16');
    const tooLow = await call<{ created: Outcome }>('createWithCost', 'too-low', { opsLimit: 1, memLimit: 8 << 20 });
    expect(tooLow.created).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(tooLow.created.message).toContain('at least');
    const floor = await call<{ created: Outcome; reopened: Outcome }>('createWithCost', 'floor', {
      opsLimit: 2,
      memLimit: 64 << 20,
    });
    expect([floor.created.ok, floor.reopened.ok]).toEqual([true, true]);
  });

  it('refuses to open, and erases nothing, when its protection record was deleted', async () => {
    const { reopened, records } = await call<{ reopened: Outcome; records: number }>(
      'openWithoutProtection',
      'no-protection',
    );
    expect(reopened).toMatchObject({ ok: false, code: 'KEY_STORE_LOCKED' });
    expect(reopened.message).toContain('protection record is missing');
    expect(records).toBeGreaterThan(0);
  });

  it('stops after a write it could not make (storage full) until reopened, then holds what was written', async () => {
    // An origin of its own: Chromium applies a quota override only to an origin that has not used storage yet.
    const full = await servePage(code);
    page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    // Room for the enrolled device's few records, not for 4 MiB of state.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: full.origin, quotaSize: 1 << 20 });
    await openPage(page, full.origin);
    const { write } = await call<{ write: Outcome }>('failAWrite', 'full', 4 << 20);
    expect(write).toMatchObject({ ok: false, code: 'KEY_STORE_FAILED' });
    const after = codes(await call<Record<string, Outcome>>('callsAfterFailure'));
    for (const code of Object.values(after)) expect(code).toBe('KEY_STORE_FAILED');
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: full.origin });
    const reopened = await call<Outcome>('reopenAfterFailure', 'full');
    expect(reopened).toEqual({ ok: true, value: { cursor: '42' } });
    await cdp.detach();
    await full.close();
  });
});
