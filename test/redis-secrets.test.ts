import { type Relay, relayConfig, startRelay } from '@liaison/server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresDatabase, type TestDatabase } from './harness/databases.js';
import { http, register, token } from './harness/device-client.js';
import { testNetwork } from './harness/network.js';
import { describeEachBackendWith, startTestRelay, type TestRelay } from './harness/relay.js';
import { type RestartableServer, startRedisServer } from './harness/servers.js';
import { postgresService, redisService } from './harness/services.js';
import { until } from './harness/until.js';

/** Every key in a Redis server and every value under it, whatever its type, as text. */
async function everythingIn(url: string): Promise<{ keys: string[]; text: string }> {
  const redis = new Redis(url, { lazyConnect: true });
  await redis.connect();
  try {
    const keys = await redis.keys('*');
    const parts: string[] = [];
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'string'
          ? await redis.get(key)
          : type === 'stream'
            ? await redis.xrange(key, '-', '+')
            : type === 'hash'
              ? await redis.hgetall(key)
              : type === 'list'
                ? await redis.lrange(key, 0, -1)
                : type === 'set'
                  ? await redis.smembers(key)
                  : type === 'zset'
                    ? await redis.zrange(key, 0, -1, 'WITHSCORES')
                    : `(${type})`;
      parts.push(key, JSON.stringify(value));
    }
    return { keys, text: parts.join('\n') };
  } finally {
    redis.disconnect();
  }
}

/**
 * Anyone who can read the cluster's Redis (a dump, a replica, a shared instance, a monitoring
 * tool) must not find a bearer token there: a token found is a device's identity for 15 minutes.
 */
describe('bearer tokens are not kept in Redis', () => {
  describeEachBackendWith([redisService], '(%s)', (backend) => {
    let redis: RestartableServer;
    let relay: TestRelay;
    let net: Awaited<ReturnType<typeof testNetwork>>;
    beforeAll(async () => {
      net = await testNetwork();
      redis = await startRedisServer();
      relay = await startTestRelay(backend, { trustedRoots: [net.root], redisUrl: redis.url });
      // Authentication answers UNAVAILABLE until the relay's Redis client has connected.
      const probe = { deviceId: 'A'.repeat(43), purpose: 'token' };
      await until(async () => (await http(relay.url, 'POST', '/v1/auth/challenge', probe)).status === 200, 'Redis');
    });
    afterAll(async () => {
      await relay?.stop();
      await redis?.stop();
    });

    it('after a device authenticates, its token appears nowhere in Redis, and nothing there works as one', async () => {
      const device = await net.authority('th-oag', 'TH').contactPoint('somchai').addDevice();
      expect((await register(relay.url, device)).status).toBe(200);
      const bearer = await token(relay.url, device);
      expect((await http(relay.url, 'GET', '/v1/prekeys/count', undefined, bearer)).status).toBe(200);

      const { keys, text } = await everythingIn(redis.url);
      const raw = Buffer.from(bearer, 'base64url');
      for (const spelling of [bearer, raw.toString('hex'), raw.toString('base64'), raw.toString('latin1')]) {
        expect(text).not.toContain(spelling);
      }
      // What the relay keeps instead, used as a bearer token: refused.
      const stored = keys.filter((k) => k.startsWith('liaison:token:'));
      expect(stored).toHaveLength(1);
      for (const key of stored) {
        const guess = key.slice('liaison:token:'.length);
        const answer = await http(relay.url, 'GET', '/v1/prekeys/count', undefined, guess);
        expect([answer.status, answer.body.error]).toEqual([401, 'UNAUTHENTICATED']);
      }
    });
  });
});

/**
 * Every node must hash a token alike, or a token minted at one node is unknown at the next: the
 * key is made once and kept in the shared database, and survives restarts of every node.
 */
const clustered = postgresService.url !== undefined && redisService.url !== undefined;
(clustered ? describe : describe.skip)(
  `bearer tokens across the nodes of a cluster${clustered ? '' : ' [skipped: needs PostgreSQL and Redis]'}`,
  () => {
    let redis: RestartableServer;
    let database: TestDatabase;
    let nodes: Relay[] = [];
    let net: Awaited<ReturnType<typeof testNetwork>>;
    const startNodes = async () => {
      const config = relayConfig({
        trustedRoots: [net.root],
        database: { kind: 'postgres', url: database.url as string },
        redisUrl: redis.url,
        publicOrigins: ['http://relay.cluster.test'],
      });
      nodes = await Promise.all([startRelay(config), startRelay(config)]);
      for (const node of nodes) {
        const probe = { deviceId: 'A'.repeat(43), purpose: 'token' };
        await until(async () => (await http(node.url, 'POST', '/v1/auth/challenge', probe)).status === 200, 'Redis');
      }
    };
    beforeAll(async () => {
      net = await testNetwork();
      redis = await startRedisServer();
      database = await freshPostgresDatabase();
      await startNodes();
    });
    afterAll(async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await redis?.stop();
      await database?.drop();
    });

    it('a token minted at one node works at every node, before and after they all restart', async () => {
      const [a, b] = nodes as [Relay, Relay];
      const device = await net.authority('th-oag', 'TH').contactPoint('lan').addDevice();
      expect((await register(a.url, device)).status).toBe(200);
      const bearer = await token(a.url, device);
      const count = async (node: Relay) => (await http(node.url, 'GET', '/v1/prekeys/count', undefined, bearer)).status;
      expect([await count(a), await count(b)]).toEqual([200, 200]);
      await Promise.all(nodes.map((n) => n.stop()));
      await startNodes();
      expect(await Promise.all(nodes.map(count))).toEqual([200, 200]);
    });
  },
);
