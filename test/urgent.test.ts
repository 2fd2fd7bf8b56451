import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLiaisonError, registerWebhook } from '@liaison/client';
import { encodeBase64url, type UrgentState, WebhookAlert } from '@liaison/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { testNetwork } from './harness/network.js';
import { describeEachBackend, startTestRelay, type TestRelay } from './harness/relay.js';
import { until } from './harness/until.js';

const MINUTE = 60_000;
const WITHIN = 30 * MINUTE;
const MARKER = 'PRESERVE-ACCOUNT-4711';

/** A webhook receiver on loopback that answers each alert with the next of `statuses` (then 200). */
async function startWebhook(statuses: number[]) {
  const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/liaison-alerts`,
    received,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describeEachBackend('urgent requests and escalation (%s)', (backend) => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let vn: ReturnType<Awaited<ReturnType<typeof testNetwork>>['authority']>;
  let alice: TestClient;
  let bob: TestClient;
  let deputies: TestClient[];
  let desk: TestClient;
  const clients: TestClient[] = [];
  const start = async (device: Parameters<typeof startClient>[1]) => {
    const c = await startClient(relay.url, device, [net.root]);
    clients.push(c);
    return c;
  };
  /** Moves the relay's clock and runs the steps that fell due. */
  const advance = async (ms: number) => {
    relay.clock.now += ms;
    await relay.relay.escalate();
  };
  const heldCopies = async (messageId: string) => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from envelopes where message_id = ${messageId} and held`.execute(relay.relay.db);
    return rows[0]?.n;
  };
  const lastState = (c: TestClient, messageId: string) => c.urgent.filter((s) => s.messageId === messageId).at(-1);
  const waitForState = (c: TestClient, messageId: string, done: (s: UrgentState) => boolean) =>
    c.waitForUrgent((states) => states.some((s) => s.messageId === messageId && done(s)));
  const messagesOf = (c: TestClient, messageId: string) => c.messages.filter((m) => m.messageId === messageId);
  const receive = async (c: TestClient, messageId: string) => {
    await until(() => messagesOf(c, messageId).length > 0, `message ${messageId}`);
    return messagesOf(c, messageId)[0];
  };
  // Long enough for a wrongly released copy to arrive.
  const settle = () => new Promise((r) => setTimeout(r, 300));

  beforeAll(async () => {
    // Only explicit escalate() calls move escalation here, on the test's clock.
    net = await testNetwork();
    relay = await startTestRelay(backend, {
      trustedRoots: [net.root],
      escalationPollMs: 3_600_000,
      webhookPollMs: 3_600_000,
      allowHttpWebhooks: true,
    });
    vn = net.authority('vn-spp', 'VN');
    const deputy = vn.contactPoint('deputy');
    const dutyDesk = vn.contactPoint('duty-desk', { kind: 'duty-desk', competences: ['cybercrime-24-7'] });
    const recipient = vn.contactPoint('bob', { escalationChain: [deputy.id, dutyDesk.id] });
    const sender = net.authority('th-oag', 'TH').contactPoint('alice');
    alice = await start(await sender.addDevice());
    bob = await start(await recipient.addDevice());
    deputies = [
      await start(await deputy.addDevice('Deputy office')),
      await start(await deputy.addDevice('Deputy phone')),
    ];
    desk = await start(await dutyDesk.addDevice());
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await relay.stop();
  });

  const sendUrgent = (text = `Preserve the records of ${MARKER}`) =>
    alice.client.send('vn-spp.bob', { text }, { urgent: { acknowledgeWithin: WITHIN } });

  it('escalates level by level when nobody acknowledges, and never pushes a held copy early', async () => {
    const { messageId } = await sendUrgent();
    const received = await receive(bob, messageId);
    expect(received).toMatchObject({ messageId, priority: 'urgent', escalationLevel: 0 });
    expect(received?.relay.deadline).toBe(relay.clock.now + WITHIN);
    expect(await heldCopies(messageId)).toBe(3);
    await waitForState(alice, messageId, (s) => s.level === 0);
    // The state pushed at the send, made from what was written, is the one the relay holds.
    const stored = await alice.client.urgentState(messageId);
    expect(lastState(alice, messageId)).toEqual(stored);
    expect((await waitForState(bob, messageId, (s) => s.level === 0)).at(-1)).toEqual(stored);
    await advance(WITHIN - 1);
    await settle();
    expect([...deputies, desk].flatMap((d) => messagesOf(d, messageId))).toEqual([]);

    await advance(1);
    for (const d of deputies) {
      expect(await receive(d, messageId)).toMatchObject({ escalationLevel: 1, text: received?.text });
      expect(messagesOf(d, messageId)[0]?.relay.deadline).toBe(relay.clock.now + WITHIN);
    }
    const escalated = await waitForState(alice, messageId, (s) => s.level === 1);
    expect(escalated.at(-1)).toMatchObject({ status: 'escalating', level: 1 });
    expect(escalated.at(-1)?.levels[1]).toMatchObject({ contactPointId: 'vn-spp.deputy', devices: 2 });
    // The recipient already holding it learns that it went further.
    await waitForState(bob, messageId, (s) => s.level === 1);
    await settle();
    expect(messagesOf(desk, messageId)).toEqual([]);
    expect(await heldCopies(messageId)).toBe(1);

    await advance(WITHIN);
    expect(await receive(desk, messageId)).toMatchObject({ escalationLevel: 2 });
    await waitForState(alice, messageId, (s) => s.level === 2);
    await advance(WITHIN);
    const final = await waitForState(alice, messageId, (s) => s.status === 'unacknowledged');
    expect(final.filter((s) => s.messageId === messageId).map((s) => [s.level, s.status])).toEqual([
      [0, 'escalating'],
      [1, 'escalating'],
      [2, 'escalating'],
      [2, 'unacknowledged'],
    ]);
    // Each device got the message exactly once.
    for (const c of [bob, ...deputies, desk]) expect(messagesOf(c, messageId)).toHaveLength(1);
  });

  it('stops at an acknowledgement at level 0 and deletes the held copies at once', async () => {
    const { messageId } = await sendUrgent();
    await receive(bob, messageId);
    await bob.client.acknowledge(messageId);
    expect(await heldCopies(messageId)).toBe(0);
    const state = await waitForState(alice, messageId, (s) => s.status === 'acknowledged');
    expect(state.at(-1)?.acknowledged).toMatchObject({ contactPointId: 'vn-spp.bob', deviceId: bob.client.deviceId });
    await alice.waitForReceipts((r) => r.some((x) => x.messageId === messageId && x.status === 'acknowledged'));
    await advance(4 * WITHIN);
    await settle();
    expect([...deputies, desk].flatMap((d) => messagesOf(d, messageId))).toEqual([]);
    expect((await alice.client.urgentState(messageId)).status).toBe('acknowledged');
  });

  it('stops at an acknowledgement at level 1: level 2 is never released, and a later acknowledgement is recorded', async () => {
    const { messageId } = await sendUrgent();
    await advance(WITHIN);
    await receive(deputies[1] as TestClient, messageId);
    await expect(desk.client.acknowledge(messageId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await deputies[1]?.client.acknowledge(messageId);
    await waitForState(bob, messageId, (s) => s.status === 'acknowledged');
    const stopped = await waitForState(alice, messageId, (s) => s.status === 'acknowledged');
    expect(stopped.at(-1)?.acknowledged?.contactPointId).toBe('vn-spp.deputy');
    await advance(3 * WITHIN);
    await settle();
    expect(messagesOf(desk, messageId)).toEqual([]);
    expect(await heldCopies(messageId)).toBe(0);
    // Bob, at level 0, acknowledges later: recorded and told to the sender, not an error.
    await bob.client.acknowledge(messageId);
    const receipts = await alice.waitForReceipts(
      (r) => r.filter((x) => x.messageId === messageId && x.status === 'acknowledged').length === 2,
    );
    expect(
      receipts.filter((x) => x.messageId === messageId && x.status === 'acknowledged').map((x) => x.contactPointId),
    ).toEqual(['vn-spp.deputy', 'vn-spp.bob']);
    expect(lastState(alice, messageId)?.acknowledged?.contactPointId).toBe('vn-spp.deputy');
  });

  it('shows the state only to the sender and the contact points it reached', async () => {
    const { messageId } = await sendUrgent();
    await receive(bob, messageId);
    expect((await bob.client.urgentState(messageId)).level).toBe(0);
    await expect(desk.client.urgentState(messageId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await bob.client.acknowledge(messageId);
  });

  it('keeps the time to acknowledge within the deployment bounds', async () => {
    await expect(
      alice.client.send('vn-spp.bob', { text: 'too short' }, { urgent: { acknowledgeWithin: 1000 } }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(
      alice.client.send('vn-spp.bob', { text: 'too long' }, { urgent: { acknowledgeWithin: 2 * 24 * 3600_000 } }),
    ).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('answers urgent sends arriving together each on its own, and escalates each with its own levels', async () => {
    const carol = await start(await net.authority('th-oag', 'TH').contactPoint('carol').addDevice());
    const [fromAlice, tooShort, fromCarol] = await Promise.allSettled([
      sendUrgent(),
      carol.client.send('vn-spp.bob', { text: 'too short' }, { urgent: { acknowledgeWithin: 1000 } }),
      carol.client.send('vn-spp.bob', { text: 'from carol' }, { urgent: { acknowledgeWithin: WITHIN } }),
    ]);
    expect(tooShort).toMatchObject({ status: 'rejected', reason: { code: 'INVALID_INPUT' } });
    if (fromAlice.status !== 'fulfilled' || fromCarol.status !== 'fulfilled') throw new Error('an urgent send failed');
    const ids = [fromAlice.value.messageId, fromCarol.value.messageId];
    for (const id of ids) {
      await receive(bob, id);
      expect(await heldCopies(id)).toBe(3);
    }
    await waitForState(carol, ids[1] as string, (s) => s.level === 0);
    await advance(WITHIN);
    for (const id of ids) for (const d of deputies) await receive(d, id);
    await settle();
    for (const id of ids) {
      expect(messagesOf(bob, id)).toHaveLength(1);
      expect(messagesOf(desk, id)).toEqual([]);
      await bob.client.acknowledge(id);
    }
    expect(bob.messages.map((m) => m.text)).not.toContain('too short');
  });

  it('alerts the authority webhook with signed metadata, retries a failing one, and never holds escalation back', async () => {
    const hook = await startWebhook([500]);
    const secret = encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
    const registration = registerWebhook(vn.keys, {
      networkId: 'seajust',
      authorityId: 'vn-spp',
      url: hook.url,
      secret,
      issuedAt: relay.clock.now,
    });
    const post = (body: unknown) =>
      fetch(`${relay.url}/v1/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    // Signed by another key, or replayed older than the stored one: refused.
    const forged = registerWebhook(net.authority('vn-spp', 'VN').keys, { ...registration, issuedAt: relay.clock.now });
    expect(await (await post(forged)).json()).toMatchObject({ error: 'BAD_SIGNATURE' });
    expect((await post(registration)).status).toBe(200);
    expect(await (await post(registration)).json()).toMatchObject({ error: 'CONFLICT' });

    const { messageId } = await sendUrgent();
    await relay.relay.sendWebhooks();
    expect(hook.received).toHaveLength(1);
    // The webhook failed; escalation goes on regardless.
    await advance(WITHIN);
    await receive(deputies[0] as TestClient, messageId);
    relay.clock.now += 1000;
    await relay.relay.sendWebhooks();
    await deputies[0]?.client.acknowledge(messageId);

    expect(hook.received).toHaveLength(3);
    const alerts = hook.received.map((r) => {
      const [t, v1] = String(r.headers['liaison-signature']).split(',');
      const timestamp = t?.slice(2);
      const expected = createHmac('sha256', Buffer.from(secret, 'base64url'))
        .update(`${timestamp}.${r.body}`)
        .digest('hex');
      expect(v1).toBe(`v1=${expected}`);
      expect(r.body).not.toContain(MARKER);
      return WebhookAlert.parse(JSON.parse(r.body));
    });
    // The retry and the escalation alert go out in the same pass, in either order.
    expect(alerts.map((a) => [a.type, a.level, a.contactPointId]).sort()).toEqual([
      ['urgent.escalated', 1, 'vn-spp.deputy'],
      ['urgent.received', 0, 'vn-spp.bob'],
      ['urgent.received', 0, 'vn-spp.bob'],
    ]);
    expect(alerts.every((a) => a.messageId === messageId && a.deadline > 0)).toBe(true);
    const log = await relay.relay.db
      .selectFrom('webhook_alerts')
      .select(['status', 'attempts', 'last_result'])
      .orderBy('alert_id')
      .execute();
    expect(log).toEqual([
      { status: 'delivered', attempts: 2, last_result: '200' },
      { status: 'delivered', attempts: 1, last_result: '200' },
    ]);
    await hook.close();
  });

  it('refuses, in the SDK, an escalation chain that names a contact point of another authority', async () => {
    const outsider = net.authority('th-oag', 'TH').contactPoint('outsider');
    await start(await outsider.addDevice());
    const crooked = vn.contactPoint('crooked', { escalationChain: ['vn-spp.deputy', outsider.id] });
    await start(await crooked.addDevice());
    await expect(
      alice.client.send(crooked.id, { text: 'urgent' }, { urgent: { acknowledgeWithin: WITHIN } }),
    ).rejects.toSatisfy((error) => isLiaisonError(error, 'CHAIN_MISMATCH'));
    // The same chain is no obstacle to a normal message, which does not escalate.
    await alice.client.send(crooked.id, { text: 'normal' });
  });
});
