import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { freshPostgresDatabase, type TestDatabase } from './harness/databases.js';
import { relayCounter } from './harness/metrics.js';
import { testNetwork } from './harness/network.js';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';
import { type RestartableServer, startRedisServer } from './harness/servers.js';
import { postgresService, redisService } from './harness/services.js';
import { until } from './harness/until.js';

const ORIGIN = 'http://relay.urgent.test';
const ready = postgresService.url !== undefined && redisService.url !== undefined;
const describeCluster = ready ? describe : describe.skip;
const why = ready ? '' : ' [skipped: needs PostgreSQL and Redis; bash .ci/run provides them]';

/** Short deadlines on the real clock: these tests are about processes, not about the clock. */
const URGENT_ENV = {
  LIAISON_URGENT_ACK_MIN_SECONDS: '1',
  LIAISON_URGENT_SENDS_PER_HOUR: '1000',
  LIAISON_ESCALATION_POLL_MS: '50',
};

/** Escalation steps a node has run, from its own /metrics. */
function stepsRun(node: RelayProcess): Promise<number> {
  return relayCounter(node.url, 'liaison_escalation_steps_total');
}

describeCluster(`urgent escalation on several nodes${why}`, () => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let database: TestDatabase;
  let redis: RestartableServer;
  let nodes: [RelayProcess, RelayProcess];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    net = await testNetwork();
    database = await freshPostgresDatabase();
    redis = await startRedisServer();
    const env = {
      LIAISON_DATABASE_URL: database.url as string,
      LIAISON_REDIS_URL: redis.url,
      LIAISON_PUBLIC_ORIGIN: ORIGIN,
      ...URGENT_ENV,
    };
    nodes = [await spawnRelay([net.root], env), await spawnRelay([net.root], env)];
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
    await database.drop();
  });

  it('runs each step exactly once when two nodes find the same timers due at the same moment', async () => {
    const [a, b] = nodes;
    const vn = net.authority('vn-spp', 'VN');
    const deputy = vn.contactPoint('deputy');
    const recipient = vn.contactPoint('bob', { escalationChain: [deputy.id] });
    const connect = async (url: string, device: Parameters<typeof startClient>[1]) => {
      const c = await startClient(url, device, [net.root], { relayOrigin: ORIGIN });
      clients.push(c);
      return c;
    };
    const alice = await connect(a.url, await net.authority('th-oag', 'TH').contactPoint('alice').addDevice());
    await connect(b.url, await recipient.addDevice());
    const deputies = [await connect(a.url, await deputy.addDevice()), await connect(b.url, await deputy.addDevice())];

    const count = 20;
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const { messageId } = await alice.client.send(
        recipient.id,
        { text: `urgent ${i}` },
        { urgent: { acknowledgeWithin: 1500 } },
      );
      ids.push(messageId);
    }
    // Level 1 is released once per message, then each ends unacknowledged once: 2 steps each.
    await until(
      () => ids.every((id) => alice.urgent.some((s) => s.messageId === id && s.status === 'unacknowledged')),
      'every message to end unacknowledged',
      20_000,
    );
    const steps = (await stepsRun(a)) + (await stepsRun(b));
    expect(steps).toBe(2 * count);
    for (const d of deputies) {
      await d.waitForMessages(count);
      expect(d.messages.map((m) => m.messageId).sort()).toEqual([...ids].sort());
    }
    for (const id of ids) {
      const levels = alice.urgent.filter((s) => s.messageId === id).map((s) => `${s.level}:${s.status}`);
      expect(levels).toEqual(['0:escalating', '1:escalating', '1:unacknowledged']);
    }
  });
});

describe('urgent escalation across a crash', () => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let node: RelayProcess;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    net = await testNetwork();
    // PGlite in a data folder (the default), kept across the restart.
    node = await spawnRelay([net.root], URGENT_ENV);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await node.stop();
  });

  it('runs the steps that fell due while the relay was down once, as soon as it is back', async () => {
    const vn = net.authority('vn-spp', 'VN');
    const deputy = vn.contactPoint('deputy');
    const recipient = vn.contactPoint('bob', { escalationChain: [deputy.id] });
    for (const device of [
      await net.authority('th-oag', 'TH').contactPoint('alice').addDevice(),
      await recipient.addDevice(),
      await deputy.addDevice(),
    ]) {
      clients.push(await startClient(node.url, device, [net.root]));
    }
    const [alice, , deputyClient] = clients as [TestClient, TestClient, TestClient];
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await alice.client.send(
            recipient.id,
            { text: `before the crash ${i}` },
            { urgent: { acknowledgeWithin: 1000 } },
          )
        ).messageId,
      );
    }
    await node.kill();
    // Every level-0 deadline passes while the relay is down.
    await new Promise((r) => setTimeout(r, 2500));
    expect(deputyClient.messages).toEqual([]);
    await node.restart();
    await deputyClient.waitForMessages(5, 20_000);
    await until(
      () => ids.every((id) => alice.urgent.some((s) => s.messageId === id && s.status === 'unacknowledged')),
      'every message to end unacknowledged',
      20_000,
    );
    expect(deputyClient.messages.map((m) => m.messageId).sort()).toEqual([...ids].sort());
    expect(await stepsRun(node)).toBe(2 * ids.length);
  });
});
