import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, register } from './harness/device-client.js';
import { buildSend } from './harness/messaging.js';
import { type TestDevice, testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';

describe('metrics', () => {
  let relay: TestRelay;
  let alice: TestDevice;
  let bob: TestDevice;
  const scrape = async (auth?: string) => {
    const response = await fetch(`${relay.url}/metrics`, auth ? { headers: { authorization: auth } } : {});
    return { status: response.status, text: await response.text() };
  };
  const value = (text: string, name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

  beforeAll(async () => {
    const net = await testNetwork();
    relay = await startTestRelay('pglite', { trustedRoots: [net.root], metricsToken: 'scrape-secret-0123456789' });
    alice = await net.authority('th-oag', 'TH').contactPoint('alice').addDevice();
    bob = await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice();
    for (const d of [alice, bob]) await register(relay.url, d);
  });
  afterAll(() => relay.stop());

  it('requires the bearer token when one is configured', async () => {
    const refused = await scrape();
    expect(refused.status).toBe(401);
    // The standard error body, as every refusal: a scraper misconfigured is told why, with an id to quote.
    expect(JSON.parse(refused.text)).toMatchObject({ error: 'UNAUTHENTICATED', requestId: expect.any(String) });
    expect((await scrape('Bearer wrong')).status).toBe(401);
    expect((await scrape('Bearer scrape-secret-0123456789')).status).toBe(200);
  });

  it('counts connections, stored and delivered envelopes, queue depth and errors, and names nobody', async () => {
    const a = await connect(relay.url, alice);
    const b = await connect(relay.url, bob);
    expect((await a.call('send', await buildSend(relay.url, alice, 'vn-spp.bob', 'counted'))).ok).toBe(true);
    await a.call('send', { nonsense: true } as never);
    const [envelope] = await b.waitForEnvelopes(1);
    const before = (await scrape('Bearer scrape-secret-0123456789')).text;
    expect(value(before, 'liaison_connections')).toBe(2);
    expect(value(before, 'liaison_envelopes_stored_total')).toBe(1);
    expect(value(before, 'liaison_queue_depth')).toBe(1);
    expect(before).toMatch(/^liaison_errors_total\{code="INVALID_INPUT"\} 1$/m);
    expect(before).toMatch(/^liaison_database_latency_seconds_count \d+$/m);
    await b.call('envelopes:ack', { messageIds: [envelope?.messageId as string] });
    const after = (await scrape('Bearer scrape-secret-0123456789')).text;
    expect(value(after, 'liaison_envelopes_delivered_total')).toBe(1);
    expect(value(after, 'liaison_queue_depth')).toBe(0);
    for (const identifier of [alice.id, bob.id, 'th-oag.alice', 'vn-spp.bob', envelope?.messageId as string]) {
      expect(after.includes(identifier)).toBe(false);
    }
    a.close();
    b.close();
  });
});
