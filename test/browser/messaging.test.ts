import type { TrustedRoot } from '@liaison/protocol';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openPage, type PageServer, screenshot, withChromium } from '../harness/browser.js';
import { call, chainFor } from '../harness/browser-devices.js';
import { type BrowserWorld, startBrowserWorld } from '../harness/browser-relay.js';
import type { RelayProcess } from '../harness/relay-process.js';
import { until } from '../harness/until.js';

interface Received {
  messageId: string;
  text: string;
  from: string;
}

withChromium.describe('two browsers exchange messages through a relay, with their keys in IndexedDB', () => {
  let browser: Browser;
  let server: PageServer;
  let relay: RelayProcess;
  let root: TrustedRoot;
  let net: BrowserWorld['net'];
  let world: BrowserWorld | undefined;
  beforeAll(async () => {
    world = await startBrowserWorld();
    ({ browser, server, relay, net } = world);
    root = net.root;
  });
  afterAll(() => world?.close());

  const received = (page: Page) => call<Received[]>(page, 'received');
  const waitFor = async (page: Page, texts: string[]) => {
    await until(async () => (await received(page)).length >= texts.length, `${texts.length} messages`, 20_000);
    expect((await received(page)).map((m) => m.text)).toEqual(texts);
  };

  it('registers both, exchanges messages, keeps the sessions across reloads of both pages, and safety numbers match', async () => {
    const alice = net.authority('th-oag', 'TH').contactPoint('alice');
    const bob = net.authority('vn-spp', 'VN').contactPoint('bob');
    // Two browser contexts: two profiles, each with its own IndexedDB.
    const [alicePage, bobPage] = await Promise.all([
      browser.newContext().then((c) => c.newPage()),
      browser.newContext().then((c) => c.newPage()),
    ]);
    const start = async (page: Page, cp: typeof alice, name: string) => {
      await openPage(page, server.origin);
      const deviceId = await call<string>(page, 'openDevice', { name });
      const chain = chainFor(cp, deviceId, `${name} browser`);
      await call(page, 'connect', { serverUrl: relay.url, trustedRoots: [root], chain });
      return { deviceId, chain };
    };
    const a = await start(alicePage, alice, 'alice');
    const b = await start(bobPage, bob, 'bob');

    await call(alicePage, 'send', bob.id, 'Request for assistance: bank records');
    await waitFor(bobPage, ['Request for assistance: bank records']);
    await call(bobPage, 'send', alice.id, 'Received, working on it');
    await waitFor(alicePage, ['Received, working on it']);

    // Both reload mid-conversation: the same devices come back from IndexedDB, sessions and all.
    await Promise.all([alicePage.reload(), bobPage.reload()]);
    const reopen = async (page: Page, name: string, expected: { deviceId: string; chain: unknown }) => {
      await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
      expect(await call<string>(page, 'openDevice', { name })).toBe(expected.deviceId);
      await call(page, 'connect', { serverUrl: relay.url, trustedRoots: [root], chain: expected.chain });
    };
    await reopen(alicePage, 'alice', a);
    await reopen(bobPage, 'bob', b);
    await call(alicePage, 'send', bob.id, 'Annex A follows');
    await call(bobPage, 'send', alice.id, 'Annex A received');
    await waitFor(bobPage, ['Annex A follows']);
    await waitFor(alicePage, ['Annex A received']);

    const [aliceSees, bobSees] = await Promise.all([
      call<string>(alicePage, 'safetyNumber', bob.id),
      call<string>(bobPage, 'safetyNumber', alice.id),
    ]);
    expect(aliceSees).toMatch(/^[\d ]+$/);
    expect(aliceSees).toBe(bobSees);
    // The relay saw each device register once: the reloads were not new devices.
    expect(relay.output()).not.toContain('MISSING_PREKEY');
    await screenshot(alicePage, 'messaging-alice');
    await screenshot(bobPage, 'messaging-bob');
  });
});
