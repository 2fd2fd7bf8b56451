import type { ConnectionEvent, LiaisonError } from '@liaison/client';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { freshPostgresDatabase, type TestDatabase } from './harness/databases.js';
import { connect, register } from './harness/device-client.js';
import { buildSend } from './harness/messaging.js';
import { testNetwork } from './harness/network.js';
import { describeEachBackend, startTestRelay, type TestRelay } from './harness/relay.js';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';
import { type RestartableServer, startRedisServer } from './harness/servers.js';
import { postgresService, redisService } from './harness/services.js';
import { until } from './harness/until.js';

const MINUTE = 60_000;
const REDELIVER_AFTER_MS = 5_000;

/** The texts a client was shown, in order. */
const texts = (c: TestClient | TestClient['messages']) => ('messages' in c ? c.messages : c).map((m) => m.text);

/** A client of a device, with every connection event and error it reported. */
async function observed(
  url: string,
  device: Parameters<typeof startClient>[1],
  roots: Parameters<typeof startClient>[2],
  now?: () => number,
) {
  const client = await startClient(url, device, roots, { connect: false, ...(now && { now }) });
  const events: ConnectionEvent[] = [];
  const errors: LiaisonError[] = [];
  client.client.on('connection', (e) => {
    events.push(e);
  });
  client.client.on('error', (e) => {
    errors.push(e);
  });
  return { ...client, events, errors, connected: () => events.filter((e) => e.state === 'connected').length };
}

const services = postgresService.url !== undefined && redisService.url !== undefined;
const describeServices = services ? describe : describe.skip;
const why = services ? '' : ' [skipped: needs PostgreSQL and Redis; bash .ci/run provides them]';

describeServices(`a client whose reconnection fails once keeps trying until it is back${why}`, () => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let database: TestDatabase;
  let redis: RestartableServer;
  let relay: RelayProcess;

  beforeAll(async () => {
    net = await testNetwork();
    database = await freshPostgresDatabase();
    redis = await startRedisServer();
    relay = await spawnRelay([net.root], {
      LIAISON_DATABASE_URL: database.url as string,
      LIAISON_REDIS_URL: redis.url,
      LIAISON_AUTH_ATTEMPTS_PER_MINUTE: '30',
      LIAISON_CATCH_UP_INTERVAL_MS: '500',
    });
  });
  afterAll(async () => {
    await relay.stop();
    await redis.stop();
    await database.drop();
  });

  it('Redis down while the relay restarts: the challenge fails, the client retries, and it comes back', async () => {
    const sender = await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint('r1').addDevice(), [
      net.root,
    ]);
    const recipient = await observed(relay.url, await net.authority('vn-spp', 'VN').contactPoint('r1').addDevice(), [
      net.root,
    ]);
    await recipient.client.connect();
    await sender.client.send('vn-spp.r1', { text: 'before' });
    await recipient.waitForMessages(1);

    await redis.stop();
    await relay.restart();
    // Attempts fail while Redis is down; each is followed by another, none is final.
    await until(() => recipient.events.filter((e) => e.state === 'disconnected').length >= 3, 'failed attempts');
    expect(recipient.events.filter((e) => e.state === 'disconnected').every((e) => e.retryInMs !== undefined)).toBe(
      true,
    );
    await redis.start();
    await until(() => recipient.connected() >= 2, 'the reconnection', 30_000);
    await sender.client.send('vn-spp.r1', { text: 'after' });
    expect(texts(recipient)).toEqual(['before']);
    await recipient.waitForMessages(2, 20_000);
    expect(texts(recipient)).toEqual(['before', 'after']);
    expect(relay.alive()).toBe(true);
    await Promise.all([sender.client.close(), recipient.client.close()]);
  });

  it("the office's address over its authentication limit: the client waits as told, then comes back", async () => {
    const senderDevice = await net.authority('th-oag', 'TH').contactPoint('r2').addDevice();
    // Registered, then offline while the relay restarts: only the recipient's reconnection is watched.
    await (await startClient(relay.url, senderDevice, [net.root])).client.close();
    const recipient = await observed(relay.url, await net.authority('vn-spp', 'VN').contactPoint('r2').addDevice(), [
      net.root,
    ]);
    await recipient.client.connect();
    // Other devices of the same office have used up the address's attempts (counted in Redis, so
    // across the relay's restart) when the relay comes back.
    for (let i = 0; i < 40; i++) {
      await fetch(`${relay.url}/v1/auth/challenge`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ deviceId: senderDevice.id, purpose: 'socket' }),
      });
    }
    await relay.restart();
    await until(() => recipient.events.some((e) => e.reason === 'RATE_LIMITED'), 'a refusal for the address');
    const limited = recipient.events.find((e) => e.reason === 'RATE_LIMITED');
    expect(limited?.state).toBe('disconnected');
    expect(limited?.retryInMs).toBeGreaterThan(1000);
    await until(() => recipient.connected() >= 2, 'the reconnection', 75_000);
    const sender = await startClient(relay.url, senderDevice, [net.root]);
    await sender.client.send('vn-spp.r2', { text: 'back' });
    expect(texts(await recipient.waitForMessages(1, 20_000))).toEqual(['back']);
    expect(relay.alive()).toBe(true);
    await Promise.all([sender.client.close(), recipient.client.close()]);
  }, 120_000);
});

describeEachBackend('acknowledgements that fail (%s)', (backend) => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let relay: TestRelay;

  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay(backend, {
      trustedRoots: [net.root],
      authAttemptsPerMinute: 10_000,
      sendsPerMinute: 10_000,
      catchUpIntervalMs: 200,
      redeliverAfterMs: REDELIVER_AFTER_MS,
    });
  });
  afterAll(() => relay.stop());

  it('the SDK retries a failed acknowledgement: a full window never stalls, every sender gets its receipt', async () => {
    const db = relay.relay.db;
    // The database refuses the first acknowledgements, as during a restart (a sequence is not rolled back).
    await sql`create sequence ack_failures`.execute(db);
    await sql`create function fail_first_acks() returns trigger language plpgsql as $$
      begin
        if nextval('ack_failures') <= 3 then raise exception 'injected: database restarting'; end if;
        return null;
      end $$`.execute(db);
    await sql`create trigger fail_first_acks before delete on envelopes for each statement execute function fail_first_acks()`.execute(
      db,
    );
    try {
      const sender = await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint('a').addDevice(), [
        net.root,
      ]);
      const recipientDevice = await net.authority('vn-spp', 'VN').contactPoint('a').addDevice();
      const offline = await startClient(relay.url, recipientDevice, [net.root]);
      await offline.client.close();
      const total = 150; // more than one delivery window (100)
      for (let i = 0; i < total; i++) await sender.client.send('vn-spp.a', { text: `n${i}` });
      const recipient = await startClient(relay.url, recipientDevice, [net.root]);
      await recipient.waitForMessages(total, 30_000);
      expect(texts(recipient)).toEqual(Array.from({ length: total }, (_, i) => `n${i}`));
      await sender.waitForReceipts((r) => r.filter((x) => x.status === 'delivered').length >= total, 30_000);
      // Every envelope is deleted once acknowledged: the messages, and the signed receipts going back.
      await sender.client.close();
      await recipient.client.close();
      await until(async () => {
        const { rows } = await sql<{
          n: number;
        }>`select count(*)::int as n from envelopes where recipient_device = ${recipientDevice.id}`.execute(db);
        return rows[0]?.n === 0;
      }, 'every envelope for the recipient acknowledged');
      // The injected failures did happen (each a failed acknowledgement statement).
      const failures = await sql<{ n: string }>`select last_value as n from ack_failures`.execute(db);
      expect(Number(failures.rows[0]?.n)).toBeGreaterThan(3);
    } finally {
      await sql`drop trigger fail_first_acks on envelopes`.execute(db);
    }
  });

  it('the relay pushes an envelope again when its acknowledgement does not come within the bound', async () => {
    const alice = await net.authority('th-oag', 'TH').contactPoint('b').addDevice();
    const bob = await net.authority('vn-spp', 'VN').contactPoint('b').addDevice();
    for (const device of [alice, bob]) await register(relay.url, device);
    const bobs = await connect(relay.url, bob);
    const alices = await connect(relay.url, alice);
    const request = await buildSend(relay.url, alice, 'vn-spp.b', 'never acknowledged');
    expect((await alices.call('send', request)).ok).toBe(true);
    await bobs.waitForEnvelopes(1);
    // Not acknowledged: nothing more comes while the bound has not passed.
    await new Promise((r) => setTimeout(r, 600));
    expect(bobs.envelopes).toHaveLength(1);
    relay.clock.now += REDELIVER_AFTER_MS;
    await bobs.waitForEnvelopes(2);
    expect(bobs.envelopes.map((e) => e.messageId)).toEqual([request.messageId, request.messageId]);
    bobs.close();
    alices.close();
  });
});

describe('clocks that are minutes off', () => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let relay: TestRelay;
  // The two contact points have long been designated; the sender's new laptop was certified a minute ago.
  beforeAll(async () => {
    net = await testNetwork('seajust', { validFrom: Date.now() - 24 * 60 * MINUTE });
    relay = await startTestRelay('pglite', {
      trustedRoots: [net.root],
      authAttemptsPerMinute: 10_000,
      catchUpIntervalMs: 200,
    });
  });
  afterAll(() => relay.stop());
  const tick = () => {
    // The in-process relay reads a clock the test moves; here it follows real time.
    relay.clock.now = Date.now();
  };

  it('a client 10 minutes slow gets a message from a device certified a minute ago', async () => {
    tick();
    const sender = await startClient(
      relay.url,
      await net
        .authority('th-oag', 'TH')
        .contactPoint('c')
        .addDevice('New laptop', { notBefore: Date.now() - MINUTE }),
      [net.root],
    );
    const recipient = await observed(
      relay.url,
      await net.authority('vn-spp', 'VN').contactPoint('c').addDevice(),
      [net.root],
      () => Date.now() - 10 * MINUTE,
    );
    await recipient.client.connect();
    tick();
    await sender.client.send('vn-spp.c', { text: 'certified a minute ago' });
    expect(texts(await recipient.waitForMessages(1))).toEqual(['certified a minute ago']);
    expect(recipient.errors).toEqual([]);
    await Promise.all([sender.client.close(), recipient.client.close()]);
  });

  it('a chain not valid yet even by the relay: reported, kept at the relay, never acknowledged', async () => {
    // The issuer's clock ran 20 minutes ahead: the sender's laptop is certified from 20 minutes on.
    // It registers while the relay's clock is ahead too; then the relay's clock is right again.
    const ahead = 25 * MINUTE;
    relay.clock.now = Date.now() + ahead;
    const sender = await startClient(
      relay.url,
      await net
        .authority('th-oag', 'TH')
        .contactPoint('d')
        .addDevice('Laptop certified ahead', { notBefore: Date.now() + 20 * MINUTE }),
      [net.root],
      { now: () => Date.now() + ahead },
    );
    tick();
    const recipient = await observed(relay.url, await net.authority('vn-spp', 'VN').contactPoint('d').addDevice(), [
      net.root,
    ]);
    await recipient.client.connect();
    const { messageId } = await sender.client.send('vn-spp.d', { text: 'too early' });
    await until(() => recipient.errors.length > 0, 'the refusal');
    expect(recipient.errors.map((e) => e.code)).toEqual(['NOT_YET_VALID']);
    expect(recipient.messages).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    const stored = await sql<{
      n: number;
    }>`select count(*)::int as n from envelopes where message_id = ${messageId}`.execute(relay.relay.db);
    expect(stored.rows[0]?.n).toBe(1);
    expect(sender.receipts.filter((r) => r.status === 'delivered')).toEqual([]);
    await Promise.all([sender.client.close(), recipient.client.close()]);
  });

  it('time left and deadlines are read against the relay clock, whatever the device clock says', async () => {
    tick();
    const sender = await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint('e').addDevice(), [
      net.root,
    ]);
    const fast = await observed(
      relay.url,
      await net.authority('vn-spp', 'VN').contactPoint('e').addDevice(),
      [net.root],
      () => Date.now() + 10 * MINUTE,
    );
    await fast.client.connect();
    tick();
    await sender.client.send('vn-spp.e', { text: 'urgent' }, { urgent: { acknowledgeWithin: 10 * MINUTE } });
    const [received] = await fast.waitForMessages(1);
    const left = (received?.relay.deadline as number) - fast.client.relayNow();
    expect(Math.abs(left - 10 * MINUTE)).toBeLessThan(5_000);
    // The fast client gives an absolute deadline on the relay's clock: taken as 10 minutes.
    const fastSender = await startClient(
      relay.url,
      await net.authority('th-oag', 'TH').contactPoint('f').addDevice(),
      [net.root],
      { now: () => Date.now() + 10 * MINUTE },
    );
    tick();
    const { messageId } = await fastSender.client.send(
      'vn-spp.e',
      { text: 'by the relay clock' },
      { urgent: { deadline: fastSender.client.relayNow() + 10 * MINUTE } },
    );
    const state = await fastSender.client.urgentState(messageId);
    expect(Math.abs((state.levels[0]?.deadline as number) - (Date.now() + 10 * MINUTE))).toBeLessThan(5_000);
    await Promise.all([sender.client.close(), fast.client.close(), fastSender.client.close()]);
  });
});
