import type { TrustedRoot } from '@liaison/protocol';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openPage, type PageServer, screenshot, withChromium } from '../harness/browser.js';
import { attempt, call, chainFor } from '../harness/browser-devices.js';
import { type BrowserWorld, startBrowserWorld } from '../harness/browser-relay.js';
import type { RelayProcess } from '../harness/relay-process.js';
import { until } from '../harness/until.js';

interface Received {
  text: string;
}

withChromium.describe('several tabs of one device', () => {
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

  const texts = async (page: Page) => (await call<Received[]>(page, 'received')).map((m) => m.text);
  const waitFor = async (page: Page, expected: string[]) => {
    await until(async () => (await texts(page)).length >= expected.length, `${expected.length} messages`, 20_000);
    expect(await texts(page)).toEqual(expected);
  };

  it('lets one tab drive the device at a time: a second tab waits, takes over when the first closes, and the sessions carry on unforked', async () => {
    const alice = net.authority('th-oag', 'TH').contactPoint('alice');
    const bob = net.authority('vn-spp', 'VN').contactPoint('bob');
    const bobPage = await (await browser.newContext()).newPage();
    await openPage(bobPage, server.origin);
    const bobChain = chainFor(bob, await call<string>(bobPage, 'openDevice', { name: 'bob' }), 'Bob browser');
    await call(bobPage, 'connect', { serverUrl: relay.url, trustedRoots: [root], chain: bobChain });

    // Alice's two tabs share one profile, so one IndexedDB and one device.
    const aliceProfile = await browser.newContext();
    const [tab1, tab2] = [await aliceProfile.newPage(), await aliceProfile.newPage()];
    await openPage(tab1, server.origin);
    await openPage(tab2, server.origin);
    const deviceId = await call<string>(tab1, 'openDevice', { name: 'alice' });
    const aliceChain = chainFor(alice, deviceId, 'Alice browser');
    await call(tab1, 'connect', { serverUrl: relay.url, trustedRoots: [root], chain: aliceChain });

    // The second tab is refused at once when it asks not to wait, and otherwise waits.
    const refused = await attempt(tab2, 'openDevice', { name: 'alice', whenInUse: 'fail' });
    expect(refused).toMatchObject({ ok: false, code: 'DEVICE_IN_USE' });
    expect(refused.ok || refused.message).toContain('another tab');
    await call(tab2, 'startOpening', { name: 'alice' });

    // Meanwhile the first tab drives the ratchet both ways.
    await call(tab1, 'send', bob.id, 'one');
    await waitFor(bobPage, ['one']);
    await call(bobPage, 'send', alice.id, 'two');
    await waitFor(tab1, ['two']);
    await call(tab1, 'send', bob.id, 'three');
    await waitFor(bobPage, ['one', 'three']);
    expect(await call(tab2, 'opening')).toEqual({ state: 'waiting' });
    await screenshot(tab2, 'tabs-second-waiting');

    // The first tab closes (as a person closing it would: the browser lets go of its lock).
    await tab1.close();
    await until(async () => (await call<{ state: string }>(tab2, 'opening')).state !== 'waiting', 'the second tab');
    expect(await call(tab2, 'opening')).toEqual({ state: 'open', deviceId });
    await call(tab2, 'connect', { serverUrl: relay.url, trustedRoots: [root], chain: aliceChain });

    // Same sessions, one copy of each ratchet: both directions still decrypt.
    await call(bobPage, 'send', alice.id, 'four');
    await waitFor(tab2, ['four']);
    await call(tab2, 'send', bob.id, 'five');
    await waitFor(bobPage, ['one', 'three', 'five']);
    await screenshot(tab2, 'tabs-second-took-over');
  });
});
