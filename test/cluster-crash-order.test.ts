import type { ConnectionEvent } from '@liaison/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { freshPostgresDatabase, type TestDatabase } from './harness/databases.js';
import { testNetwork } from './harness/network.js';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';
import { type RestartableServer, startLoadBalancer, startRedisServer } from './harness/servers.js';
import { postgresService, redisService } from './harness/services.js';
import { until } from './harness/until.js';

const ORIGIN = 'http://relay.crash-order.test';
/** Longer than any wait of this file: what arrives was pushed, never found by the periodic catch-up pass. */
const CATCH_UP_INTERVAL_MS = 120_000;
/** Every acknowledged send must have reached every device this long after the last acknowledgement. */
const DELIVERY_BOUND_MS = 10_000;
/** Then nothing more may arrive (a message shown twice) during this long. */
const QUIET_MS = 1_500;

const ready = postgresService.url !== undefined && redisService.url !== undefined;
const describeCluster = ready ? describe : describe.skip;
const why = ready ? '' : ' [skipped: needs PostgreSQL and Redis; bash .ci/run provides them]';

/** A client that records its connection events: a client that lost its node must come back. */
async function observed(
  url: string,
  device: Parameters<typeof startClient>[1],
  roots: Parameters<typeof startClient>[2],
) {
  const client = await startClient(url, device, roots, { connect: false, relayOrigin: ORIGIN });
  const events: ConnectionEvent[] = [];
  client.client.on('connection', (e) => {
    events.push(e);
  });
  await client.client.connect();
  return { ...client, connections: () => events.filter((e) => e.state === 'connected').length };
}

const texts = (c: TestClient) => c.messages.map((m) => m.text);

/**
 * A node dies in the window between storing a sender's message and telling anyone: the sender's
 * retry and its next messages go through another node. Three nodes on one PostgreSQL database and
 * one Redis. The node that dies kills itself at a planned point (LIAISON_FAULT_CRASH, a test-only
 * switch). The recipient contact point has a device on each kind of node: on the node that takes
 * over the sender (where a push may skip storage), on a third node (told through Redis), and one
 * behind the same balancer as the sender (on the dying node, then reconnected).
 */
describeCluster(`a node that dies between its commit and its notice${why}`, () => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let database: TestDatabase;
  let redis: RestartableServer;
  let env: Record<string, string>;
  let taker: RelayProcess;
  let third: RelayProcess;
  const figures: Record<string, unknown>[] = [];

  beforeAll(async () => {
    net = await testNetwork();
    database = await freshPostgresDatabase();
    redis = await startRedisServer();
    env = {
      LIAISON_DATABASE_URL: database.url as string,
      LIAISON_REDIS_URL: redis.url,
      LIAISON_PUBLIC_ORIGIN: ORIGIN,
      LIAISON_CATCH_UP_INTERVAL_MS: String(CATCH_UP_INTERVAL_MS),
    };
    [taker, third] = await Promise.all([spawnRelay([net.root], env), spawnRelay([net.root], env)]);
  });
  afterAll(async () => {
    // The closing note: what each crash cost.
    for (const f of figures) console.error(`crash between commit and notice: ${JSON.stringify(f)}`);
    await Promise.all([taker, third].map((n) => n?.stop()));
    await redis?.stop();
    await database?.drop();
  });

  const scenarios = [
    {
      crash: 'commit:3',
      sends: 6,
      what: 'after committing the 3rd of 6 sends, before answering: the retry is answered `duplicate`, then 3 more',
    },
    {
      crash: 'notice:3',
      sends: 6,
      what: 'after answering the 3rd of 6 sends, before telling anyone: the next 3 go through another node',
    },
    {
      crash: 'commit:3',
      sends: 3,
      what: 'after committing the last send: only the retry answered `duplicate` can get it delivered',
    },
  ];
  for (const { crash, sends, what } of scenarios)
    it(`dies ${what}`, async () => {
      const tag = `${crash.replace(':', '')}-${sends}`;
      const victim = await spawnRelay([net.root], { ...env, LIAISON_FAULT_CRASH: crash });
      // The victim first; once it is gone, the node that takes over.
      const balancer = await startLoadBalancer([victim.port, taker.port], { failover: true });
      const clients: TestClient[] = [];
      try {
        const recipient = net.authority('vn-spp', 'VN').contactPoint(`to-${tag}`);
        const onTaker = await startClient(taker.url, await recipient.addDevice('on the taker'), [net.root], {
          relayOrigin: ORIGIN,
        });
        const onThird = await startClient(third.url, await recipient.addDevice('on the third'), [net.root], {
          relayOrigin: ORIGIN,
        });
        const moving = await observed(balancer.url, await recipient.addDevice('behind the balancer'), [net.root]);
        const sender = await observed(
          balancer.url,
          await net.authority('th-oag', 'TH').contactPoint(`from-${tag}`).addDevice(),
          [net.root],
        );
        clients.push(onTaker, onThird, moving, sender);
        const devices = { onTaker, onThird, moving };

        let diedAt = 0;
        const died = until(() => !victim.alive(), 'the planned crash', 60_000).then(() => {
          diedAt = Date.now();
        });
        const crashing = Number(crash.split(':')[1]) - 1;
        const sent: string[] = [];
        for (let i = 0; i < sends; i++) {
          const text = `${tag} ${i}`;
          await sender.client.send(recipient.id, { text });
          sent.push(text);
          // Before the crash, a conversation at a person's pace: each message reaches every device
          // before the next is written, so that every queue is caught up when the node dies.
          if (i < crashing) {
            await until(() => Object.values(devices).every((d) => d.messages.length > i), `message ${i} everywhere`);
          }
        }
        const acknowledgedAt = Date.now();
        await died;
        await until(
          () => Object.values(devices).every((d) => d.messages.length >= sends),
          'every acknowledged send on every device',
          DELIVERY_BOUND_MS,
        ).catch(() => undefined);
        const deliveredAt = Date.now();
        await new Promise((r) => setTimeout(r, QUIET_MS));

        // Every acknowledged send delivered exactly once, in the order sent, to each device.
        expect({ onTaker: texts(onTaker), onThird: texts(onThird), moving: texts(moving) }).toEqual({
          onTaker: sent,
          onThird: sent,
          moving: sent,
        });
        // Every client that lost its node reconnected.
        expect(sender.connections()).toBeGreaterThanOrEqual(2);
        expect(moving.connections()).toBeGreaterThanOrEqual(2);
        // The victim died where planned; no other process exited.
        expect(victim.alive()).toBe(false);
        expect(victim.output()).toContain(`"event":"fault.crash","point":"${crash.split(':')[0]}"`);
        expect(taker.alive() && third.alive()).toBe(true);
        figures.push({
          crash,
          sends,
          crashToLastAcknowledgementMs: acknowledgedAt - diedAt,
          crashToAllDeliveredMs: deliveredAt - diedAt,
        });
      } finally {
        await Promise.all(clients.map((c) => c.client.close()));
        await balancer.close();
        await victim.stop();
      }
    });
});
