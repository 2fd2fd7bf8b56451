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
import { attempt, call, chainFor } from '../harness/browser-devices.js';
import { testNetwork } from '../harness/network.js';
import { freePort, type RelayProcess, spawnRelay } from '../harness/relay-process.js';

withChromium.describe('errors a web developer can act on', () => {
  let browser: Browser;
  let allowed: PageServer;
  let refused: PageServer;
  let relay: RelayProcess;
  let network: Awaited<ReturnType<typeof testNetwork>>;
  beforeAll(async () => {
    const { code } = await bundle(resolve(import.meta.dirname, 'pages/sdk-page.ts'));
    [allowed, refused] = await Promise.all([servePage(code), servePage(code)]);
    network = await testNetwork();
    relay = await spawnRelay([network.root], { LIAISON_CORS_ORIGINS: allowed.origin });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all([allowed?.close(), refused?.close()]);
    await relay?.stop();
  });

  const pageAt = async (origin: string): Promise<Page> => {
    const page = await browser.newPage();
    await openPage(page, origin);
    return page;
  };

  it('tells a page whose origin the relay does not allow to set LIAISON_CORS_ORIGINS, not that the relay is down', async () => {
    expect(await call(await pageAt(allowed.origin), 'reachRelay', relay.url)).toEqual({ ok: true, status: 200 });
    const page = await pageAt(refused.origin);
    const outcome = await call<{ code: string; message: string }>(page, 'reachRelay', relay.url);
    expect(outcome.code).toBe('CORS_REFUSED');
    expect(outcome.message).toContain('LIAISON_CORS_ORIGINS');
    expect(outcome.message).toContain(refused.origin);

    // And the same from the client an application uses, at its first call to the relay.
    const contactPoint = network.authority('th-oag', 'TH').contactPoint('cors');
    const deviceId = await call<string>(page, 'openDevice', { name: 'cors' });
    const connecting = await attempt(page, 'connect', {
      serverUrl: relay.url,
      trustedRoots: [network.root],
      chain: chainFor(contactPoint, deviceId, 'browser'),
    });
    expect(connecting).toMatchObject({ ok: false, code: 'CORS_REFUSED' });
    expect(connecting.ok === false && connecting.message).toContain('LIAISON_CORS_ORIGINS');
    await screenshot(page, 'errors-cors-refused');
  });

  it('says UNAVAILABLE when nothing answers', async () => {
    const page = await pageAt(allowed.origin);
    const outcome = await call<{ code: string }>(page, 'reachRelay', `http://127.0.0.1:${await freePort()}`);
    expect(outcome.code).toBe('UNAVAILABLE');
  });

  it('outside a secure context, makes ids without crypto.randomUUID and refuses the key store with INSECURE_CONTEXT', async () => {
    // A plain-http page on a host name that is not loopback: Chromium withholds WebCrypto's subtle
    // API, crypto.randomUUID and Web Locks from it.
    const insecure = await launchChromium(['--host-resolver-rules=MAP agency-app.test 127.0.0.1']);
    try {
      const page = await insecure.newPage();
      await openPage(page, allowed.origin.replace('127.0.0.1', 'agency-app.test'));
      const seen = await call<{
        secure: boolean;
        randomUUID: string;
        messageId: string;
        store: { code: string; message: string };
      }>(page, 'insecureContext');
      expect(seen.secure).toBe(false);
      expect(seen.randomUUID).toBe('undefined');
      expect(seen.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(seen.store.code).toBe('INSECURE_CONTEXT');
      expect(seen.store.message).toContain('https');
      await screenshot(page, 'errors-insecure-context');
    } finally {
      await insecure.close();
    }
  });

  it("works under the Content-Security-Policy docs/browser.md gives (libsodium's WebAssembly included)", async () => {
    const { code } = await bundle(resolve(import.meta.dirname, 'pages/sdk-page.ts'));
    const strict = await servePage(code, {
      'content-security-policy':
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' http://127.0.0.1:* ws://127.0.0.1:*; object-src 'none'; base-uri 'none'",
    });
    try {
      const page = await pageAt(strict.origin);
      expect(await call<string>(page, 'openDevice', { name: 'csp' })).toMatch(/^[A-Za-z0-9_-]{43}$/);
    } finally {
      await strict.close();
    }
  });
});
