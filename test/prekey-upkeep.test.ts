import type { BundlesResponse } from '@liaison/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient } from './harness/clients.js';
import { http, register, token } from './harness/device-client.js';
import { testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { until } from './harness/until.js';

/**
 * A device whose prekeys run low is told so at every bundle fetch below the mark: many at once when
 * a room's members all write to it first. It tops up once at a time, and the application hears of
 * no refusal.
 */
describe('prekey upkeep under many first contacts at once', () => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;

  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay('postgres', { trustedRoots: [net.root], bundleFetchesPerMinute: 100_000 });
  });
  afterAll(() => relay.stop());

  it('tops up once at a time however many "low" notices arrive together; nothing is refused', async () => {
    const device = await net.authority('th-oag', 'TH').contactPoint('somchai').addDevice();
    const owner = await startClient(relay.url, device, [net.root]);
    const asker = await net.authority('vn-spp', 'VN').contactPoint('lan').addDevice();
    expect((await register(relay.url, asker)).status).toBe(200);
    const t = await token(relay.url, asker);
    const fetchBundles = () => http(relay.url, 'GET', '/v1/contact-points/th-oag.somchai/bundles', undefined, t);
    // Fifty first contacts at once: the KEM pool (50) runs below its mark of 10 and empties.
    const answers = await Promise.all(Array.from({ length: 50 }, fetchBundles));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    await until(async () => {
      const bundles = (await fetchBundles()).body as BundlesResponse;
      return bundles.bundles[0]?.kemPrekey?.lastResort === false;
    }, 'one-time KEM prekeys again');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(owner.errors.map((e) => e.code)).toEqual([]);
    await owner.client.close();
  });
});
