import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, http, register, token } from './harness/device-client.js';
import { buildSend } from './harness/messaging.js';
import { type TestDevice, testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';

describe('rate limits and quotas', () => {
  let relay: TestRelay;
  let alice: TestDevice;
  let bob: TestDevice;

  beforeAll(async () => {
    const net = await testNetwork();
    relay = await startTestRelay('pglite', {
      trustedRoots: [net.root],
      authAttemptsPerMinute: 12,
      sendsPerMinute: 5,
      directorySearchesPerMinute: 3,
      maxQueuedEnvelopes: 3,
      bundleFetchesPerMinute: 1000,
    });
    alice = await net.authority('th-oag', 'TH').contactPoint('alice').addDevice();
    bob = await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice();
    for (const d of [alice, bob]) expect((await register(relay.url, d)).status).toBe(200);
  });
  afterAll(() => relay.stop());

  it('limits authentication calls per address, with a retry-after', async () => {
    const results = await Promise.all(
      Array.from({ length: 15 }, () =>
        http(relay.url, 'POST', '/v1/auth/challenge', { deviceId: alice.id, purpose: 'token' }),
      ),
    );
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]?.body).toMatchObject({ error: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number) } });
    relay.clock.now += 61_000;
  });

  it('counts the forwarded client address only behind a trusted proxy, so a client cannot pick its own', async () => {
    const challenge = (r: TestRelay, forwardedFor: string) =>
      fetch(`${r.url}/v1/auth/challenge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
        body: JSON.stringify({ deviceId: alice.id, purpose: 'token' }),
      }).then((res) => res.status);
    // No proxy configured: made-up X-Forwarded-For addresses all count as the one peer address.
    const spoofed = await Promise.all(Array.from({ length: 15 }, (_, i) => challenge(relay, `203.0.113.${i}`)));
    expect(spoofed.filter((s) => s === 429).length).toBeGreaterThan(0);
    relay.clock.now += 61_000;

    // One load balancer in front: each client address it reports has its own allowance.
    const behind = await startTestRelay('pglite', { authAttemptsPerMinute: 12, trustProxyHops: 1 });
    try {
      const spread = await Promise.all(Array.from({ length: 15 }, (_, i) => challenge(behind, `203.0.113.${i}`)));
      expect(spread.every((s) => s === 200)).toBe(true);
      const one = [];
      for (let i = 0; i < 13; i++) one.push(await challenge(behind, '198.51.100.7'));
      expect(one.at(-1)).toBe(429);
    } finally {
      await behind.stop();
    }
  });

  it('limits directory searches per device', async () => {
    const t = await token(relay.url, alice);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await http(relay.url, 'GET', '/v1/directory', undefined, t)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    relay.clock.now += 61_000;
  });

  it("refuses sends to a device whose queue is full, and limits a device's sends", async () => {
    // The test harness authenticates for every request it builds: build them all first, each in a
    // fresh authentication window, then send them within one minute.
    const requests = [];
    for (let i = 0; i < 6; i++) {
      requests.push(await buildSend(relay.url, alice, 'vn-spp.bob', `n${i}`));
      relay.clock.now += 61_000;
    }
    const a = await connect(relay.url, alice);
    const results = [];
    for (const request of requests.slice(0, 5)) results.push(await a.call('send', request));
    expect(results.map((r) => (r.ok ? 'ok' : r.error))).toEqual(['ok', 'ok', 'ok', 'QUOTA_EXCEEDED', 'QUOTA_EXCEEDED']);
    expect(await a.call('send', requests[5] as (typeof requests)[0])).toMatchObject({
      ok: false,
      error: 'RATE_LIMITED',
      details: { retryAfterMs: expect.any(Number) },
    });
    a.close();
  });
});

describe('urgent sends: full queues and the limit per contact point', () => {
  let relay: TestRelay;
  let alice: TestDevice;

  beforeAll(async () => {
    const net = await testNetwork();
    relay = await startTestRelay('pglite', { trustedRoots: [net.root], urgentSendsPerHour: 3, maxQueuedEnvelopes: 2 });
    alice = await net.authority('th-oag', 'TH').contactPoint('alice').addDevice();
    const vn = net.authority('vn-spp', 'VN');
    for (const d of [alice, await vn.contactPoint('bob').addDevice(), await vn.contactPoint('carol').addDevice()]) {
      expect((await register(relay.url, d)).status).toBe(200);
    }
  });
  afterAll(() => relay.stop());

  it('refuses an urgent send to a full queue without counting it, limits the rest per hour, and answers a retry as the first time', async () => {
    const urgent = (to: string) => buildSend(relay.url, alice, to, 'urgent', { acknowledgeWithinMs: 30 * 60_000 });
    const requests = [];
    for (const to of ['vn-spp.bob', 'vn-spp.bob', 'vn-spp.bob', 'vn-spp.carol', 'vn-spp.carol']) {
      requests.push(await urgent(to));
    }
    const a = await connect(relay.url, alice);
    const results = [];
    for (const request of requests) results.push(await a.call('send', request));
    // Bob's queue holds two undelivered envelopes after the first two; the refused third is not
    // counted, so the first to Carol is the third counted and the second is one too many.
    expect(results.map((r) => (r.ok ? 'ok' : r.error))).toEqual(['ok', 'ok', 'QUOTA_EXCEEDED', 'ok', 'RATE_LIMITED']);
    const retry = await a.call('send', requests[0] as (typeof requests)[0]);
    expect(retry).toMatchObject({ ok: true, value: { messageId: requests[0]?.messageId, duplicate: true } });
    a.close();
  });
});
