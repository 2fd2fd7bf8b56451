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
