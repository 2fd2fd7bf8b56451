import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  bundle,
  launchChromium,
  openPage,
  type PageServer,
  screenshot,
  servePage,
  withChromium,
} from '../harness/browser.js';

interface Result {
  name: string;
  ok: boolean;
  error?: string;
}

interface Outcome {
  ok: boolean;
  code?: string;
  message?: string;
  value?: unknown;
}

withChromium.describe('IndexedDbKeyStore in Chromium', () => {
  let browser: Browser;
  let server: PageServer;
  let page: Page;
  beforeAll(async () => {
    const { code } = await bundle(resolve(import.meta.dirname, 'pages/sdk-page.ts'));
    server = await servePage(code);
    browser = await launchChromium();
    page = await browser.newPage();
    await openPage(page, server.origin);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const contract = async (options: { passphrase?: string }) => {
    const results = await page.evaluate(
      (o) =>
        (globalThis as unknown as { sdk: { keyStoreContract(o: unknown): Promise<Result[]> } }).sdk.keyStoreContract(o),
      options,
    );
    expect(results.length).toBeGreaterThanOrEqual(10);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  };

  it('passes the KeyStore contract suite, persistence across reopening included', async () => {
    await contract({});
    await screenshot(page, 'key-store-contract');
  });

  it('passes it with a passphrase', async () => {
    await contract({ passphrase: 'correct horse battery staple' });
  });
});

withChromium.describe('IndexedDbKeyStore at rest, and its passphrase', () => {
  let browser: Browser;
  let server: PageServer;
  beforeAll(async () => {
    const { code } = await bundle(resolve(import.meta.dirname, 'pages/sdk-page.ts'));
    server = await servePage(code);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  // biome-ignore lint/suspicious/noExplicitAny: the page's functions, called through page.evaluate
  type Sdk = any;
  const sdk = <T>(page: Page, body: (sdk: Sdk, arg: T) => unknown, arg: T) =>
    page.evaluate(
      ([source, a]) =>
        new Function('sdk', 'arg', `return (${source})(sdk, arg)`)((globalThis as unknown as { sdk: Sdk }).sdk, a),
      [body.toString(), arg] as const,
    );

  it('shows no key, session, device id or state in IndexedDB, under a key the page cannot export', async () => {
    const page = await browser.newPage();
    await openPage(page, server.origin);
    const deviceId = await sdk(page, (s, name) => s.openDevice({ name }), 'at-rest');
    const raw = await sdk(
      page,
      async (s, name) => {
        await s.closeDevice();
        return s.rawDatabase(name);
      },
      'at-rest',
    );
    expect(raw.keyExtractable).toBe(false);
    expect(raw.text).not.toContain(deviceId);
    expect(raw.text).not.toContain('identity');
    expect(raw.text).not.toContain('privateKey');
    await page.close();
  });

  it('opens with the right passphrase only, and a store without one refuses a passphrase', async () => {
    const page = await browser.newPage();
    await openPage(page, server.origin);
    // libsodium's interactive cost, the least a new store accepts.
    const argon2 = { opsLimit: 2, memLimit: 64 << 20 };
    const first = await sdk(
      page,
      async (s, a) => {
        const id = await s.openDevice({ name: 'locked', passphrase: 'right passphrase', argon2: a });
        await s.closeDevice();
        return id;
      },
      argon2,
    );
    const attempts = await sdk(
      page,
      async (s) => [
        await s.outcome(() => s.openDevice({ name: 'locked', passphrase: 'wrong passphrase' })),
        await s.outcome(() => s.openDevice({ name: 'locked' })),
        await s.outcome(async () => {
          const id = await s.openDevice({ name: 'locked', passphrase: 'right passphrase' });
          await s.closeDevice();
          return id;
        }),
        await s.outcome(async () => {
          await s.openDevice({ name: 'plain' });
          await s.closeDevice();
          return s.openDevice({ name: 'plain', passphrase: 'any' });
        }),
      ],
      null,
    );
    expect(attempts.map((a: { ok: boolean; code?: string }) => a.code ?? 'ok')).toEqual([
      'KEY_STORE_LOCKED',
      'KEY_STORE_LOCKED',
      'ok',
      'KEY_STORE_LOCKED',
    ]);
    expect(attempts[2].value).toBe(first);
    expect(attempts[0].message).toContain('wrong passphrase');
    await page.close();
  });
});

withChromium.describe("IndexedDbKeyStore's appData: the application's records, sealed like the SDK's", () => {
  let browser: Browser;
  let server: PageServer;
  let code: string;
  let page: Page;
  beforeAll(async () => {
    ({ code } = await bundle(resolve(import.meta.dirname, 'pages/sdk-page.ts')));
    server = await servePage(code);
    browser = await launchChromium();
    page = await browser.newPage();
    await openPage(page, server.origin);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  type PageFunctions = Record<string, (...args: unknown[]) => unknown>;
  /** Calls one of the page's functions (pages/key-store-page.ts, as window.sdk) with plain arguments. */
  const call = <T>(name: string, ...args: unknown[]): Promise<T> =>
    page.evaluate(
      ([n, a]) => (globalThis as unknown as { sdk: PageFunctions }).sdk[n as string]?.(...(a as unknown[])),
      [name, args] as const,
    ) as Promise<T>;

  it('keeps what the application put across a lock screen, and reads each change back at once', async () => {
    const { before, after, locked } = await call<{
      before: Record<string, unknown>;
      after: Record<string, unknown>;
      locked: Outcome;
    }>('appDataRoundTrip', 'app-round-trip');
    expect(before).toEqual({ draft: 'first draft', deleted: undefined, never: undefined });
    expect(locked).toMatchObject({ ok: false, code: 'KEY_STORE_LOCKED' });
    expect(after).toEqual({
      conversation: 'Bonjour, the request is attached.',
      binary: true,
      draft: 'second draft',
      deleted: undefined,
      cursor: '42',
    });
  });

  it('shows neither the names nor the values in IndexedDB, apart from the SDK records', async () => {
    const secret = 'MLA-2031-0042-confidential';
    const raw = await call<{ records: number; sdkRecords: number; text: string }>('appDataAtRest', 'app-rest', secret);
    expect(raw.records).toBe(1);
    expect(raw.sdkRecords).toBeGreaterThan(0);
    expect(raw.text).not.toContain(secret);
    expect(raw.text).not.toContain('message text');
    expect(raw.text).not.toContain('reference');
  });

  it('does not open a record moved to another name, nor one moved among the SDK records', async () => {
    const result = await call<{ swapped: Record<string, Outcome>; identityStill: boolean; moved: Outcome }>(
      'appDataSwapped',
      'app-swapped',
    );
    for (const outcome of Object.values(result.swapped)) {
      expect(outcome).toMatchObject({ ok: false, code: 'KEY_STORE_LOCKED' });
      expect(outcome.message).toContain('does not open');
    }
    expect(result.identityStill).toBe(true);
    expect(result.moved).toMatchObject({ ok: false, code: 'KEY_STORE_LOCKED' });
    expect(result.moved.message).toContain('does not open');
  });

  it('refuses names and values it does not take with INVALID_INPUT', async () => {
    const results = await call<Record<string, Outcome>>('appDataRefusals', 'app-refusals');
    expect(Object.fromEntries(Object.entries(results).map(([k, o]) => [k, o.code ?? 'ok']))).toEqual({
      emptyName: 'INVALID_INPUT',
      longName: 'INVALID_INPUT',
      notBytes: 'INVALID_INPUT',
      longestName: 'ok',
    });
  });

  it('is refused after close, like every call of the store', async () => {
    const outcomes = await call<Record<string, Outcome>>('callsAfterClose', 'app-closed');
    for (const name of ['appDataGet', 'appDataPut', 'appDataDelete']) {
      expect(outcomes[name]).toMatchObject({ ok: false, code: 'KEY_STORE_LOCKED' });
    }
  });

  it('stops the whole store after an application write it could not make, until reopened', async () => {
    // An origin of its own: Chromium applies a quota override only to an origin that has not used storage yet.
    const full = await servePage(code);
    const quotaPage = await browser.newPage();
    const cdp = await quotaPage.context().newCDPSession(quotaPage);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: full.origin, quotaSize: 1 << 20 });
    await openPage(quotaPage, full.origin);
    const callOn = <T>(name: string, ...args: unknown[]) =>
      quotaPage.evaluate(
        ([n, a]) => (globalThis as unknown as { sdk: PageFunctions }).sdk[n as string]?.(...(a as unknown[])),
        [name, args] as const,
      ) as Promise<T>;
    const { write } = await callOn<{ write: Outcome }>('failAnAppWrite', 'app-full', 4 << 20);
    expect(write).toMatchObject({ ok: false, code: 'KEY_STORE_FAILED' });
    const after = await callOn<Record<string, Outcome>>('callsAfterFailure');
    for (const outcome of Object.values(after)) expect(outcome.code).toBe('KEY_STORE_FAILED');
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: full.origin });
    expect(await callOn<Outcome>('reopenAfterFailure', 'app-full')).toEqual({ ok: true, value: { cursor: '42' } });
    await cdp.detach();
    await quotaPage.close();
    await full.close();
  });
});
