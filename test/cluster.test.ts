import { randomBytes } from 'node:crypto';
import { fromBytes, isLiaisonError } from '@liaison/client';
import { type Attachment, LIMITS } from '@liaison/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { freshPostgresDatabase, type TestDatabase } from './harness/databases.js';
import { connect, http, kemPrekeys, register, token } from './harness/device-client.js';
import { testNetwork } from './harness/network.js';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';
import { type RestartableServer, startLoadBalancer, startPostgresServer, startRedisServer } from './harness/servers.js';
import { postgresService, redisService } from './harness/services.js';

const ORIGIN = 'http://relay.cluster.test';
const ready = postgresService.url !== undefined && redisService.url !== undefined;
const describeCluster = ready ? describe : describe.skip;
const why = ready ? '' : ' [skipped: needs PostgreSQL and Redis; bash .ci/run provides them]';

/** Sends `count` numbered messages one after the other, each resolved only once the relay stored it. */
async function sendNumbered(
  from: TestClient,
  to: string,
  prefix: string,
  count: number,
  between?: (i: number) => Promise<void>,
) {
  const sent: string[] = [];
  for (let i = 0; i < count; i++) {
    await from.client.send(to, { text: `${prefix} ${i}` });
    sent.push(`${prefix} ${i}`);
    await between?.(i);
  }
  return sent;
}

describeCluster(`relay cluster: nodes over PostgreSQL and Redis${why}`, () => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let database: TestDatabase;
  let redis: RestartableServer;
  let nodes: RelayProcess[];
  const clients: TestClient[] = [];
  const start = async (url: string, name: string, cp = 'th-oag') => {
    const device = await net
      .authority(cp, cp === 'th-oag' ? 'TH' : 'VN')
      .contactPoint(name)
      .addDevice();
    const c = await startClient(url, device, [net.root], { relayOrigin: ORIGIN });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    net = await testNetwork();
    database = await freshPostgresDatabase();
    redis = await startRedisServer();
    // Every node of a cluster names the same public origin in its challenges (the load balancer's).
    const env = {
      LIAISON_DATABASE_URL: database.url as string,
      LIAISON_REDIS_URL: redis.url,
      LIAISON_CATCH_UP_INTERVAL_MS: '500',
      LIAISON_PUBLIC_ORIGIN: ORIGIN,
    };
    nodes = await Promise.all([spawnRelay([net.root], env), spawnRelay([net.root], env), spawnRelay([net.root], env)]);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
    await database.drop();
  });

  it('delivers live, in order, from a sender on one node to a recipient on another', async () => {
    const [a, b] = nodes as [RelayProcess, RelayProcess];
    const sender = await start(a.url, 'live-a');
    const recipient = await start(b.url, 'live-b', 'vn-spp');
    const sent = await sendNumbered(sender, 'vn-spp.live-b', 'live', 10);
    expect((await recipient.waitForMessages(10, 5000)).map((m) => m.text)).toEqual(sent);
  });

  it('serves an attachment uploaded through one node from another, and deletes it once downloaded', async () => {
    const [a, b] = nodes as [RelayProcess, RelayProcess];
    const sender = await start(a.url, 'files-a');
    const recipient = await start(b.url, 'files-b', 'vn-spp');
    const file = randomBytes(2 * LIMITS.blobChunkPlaintextBytes + 10);
    const { messageId } = await sender.client.send(
      'vn-spp.files-b',
      { text: 'Evidence attached' },
      { attachments: [fromBytes('evidence.bin', 'application/octet-stream', file)] },
    );
    const [message] = await recipient.waitForMessages(1, 5000);
    expect(message?.messageId).toBe(messageId);
    const parts: Uint8Array[] = [];
    await recipient.client.download(message?.attachments?.[0] as Attachment, (chunk) => void parts.push(chunk));
    expect(Buffer.compare(Buffer.concat(parts), file)).toBe(0);
    const left = await database.db.selectFrom('blob_chunks').select('blob_id').execute();
    expect(left).toEqual([]);
  });

  it('hands each one-time prekey, classical and KEM, out once when two nodes serve concurrent fetches', async () => {
    const [a, b] = nodes as [RelayProcess, RelayProcess];
    const target = await net.authority('th-oag', 'TH').contactPoint('otp').addDevice();
    await register(a.url, target, 20, kemPrekeys(target, 20));
    // The fetcher speaks hybrid sessions (it has a last-resort KEM prekey), so it is handed KEM prekeys.
    const fetcher = await net.authority('vn-spp', 'VN').contactPoint('fetcher').addDevice();
    await register(b.url, fetcher, 5, kemPrekeys(fetcher, 0));
    const t = await token(a.url, fetcher);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        http(i % 2 ? a.url : b.url, 'GET', '/v1/contact-points/th-oag.otp/bundles', undefined, t),
      ),
    );
    const ids = results.map((r) => r.body.bundles?.[0]?.oneTimePrekey?.id).filter((id) => id !== undefined);
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
    const kem = results.map((r) => r.body.bundles?.[0]?.kemPrekey);
    const oneTimeKem = kem.filter((k) => k && !k.lastResort).map((k) => k.id);
    expect(oneTimeKem).toHaveLength(20);
    expect(new Set(oneTimeKem).size).toBe(20);
    // The other 20 got the last-resort one, which stays.
    expect(kem.filter((k) => k?.lastResort).map((k) => k.id)).toEqual(Array(20).fill(21));
  });

  it('keeps the newer of two connections of one device, on different nodes, and tells the older why', async () => {
    const [a, b] = nodes as [RelayProcess, RelayProcess];
    const device = await net.authority('th-oag', 'TH').contactPoint('twice').addDevice();
    await register(a.url, device);
    const older = await connect(a.url, device);
    const told = new Promise<{ reason: string }>((resolve) => older.socket.once('session:replaced', resolve));
    const closed = new Promise((resolve) => older.socket.once('disconnect', resolve));
    const newer = await connect(b.url, device);
    expect((await told).reason).toContain('newer connection');
    await closed;
    expect(newer.socket.connected).toBe(true);
    newer.close();
  });

  it('loses nothing when a node is killed mid-stream: every stored message reaches the application once', async () => {
    const balancer = await startLoadBalancer(nodes.map((n) => n.port));
    try {
      const sender = await start(balancer.url, 'kill-a');
      const recipient = await start(balancer.url, 'kill-b', 'vn-spp');
      const victim = nodes[0] as RelayProcess;
      const sent = await sendNumbered(sender, 'vn-spp.kill-b', 'stream', 30, async (i) => {
        if (i === 10) await victim.kill();
      });
      const received = await recipient.waitForMessages(30, 40_000);
      expect(received.map((m) => m.text)).toEqual(sent);
      await new Promise((r) => setTimeout(r, 1500));
      expect(recipient.messages).toHaveLength(30);
      await victim.restart();
    } finally {
      await balancer.close();
    }
  });

  it('survives a Redis restart mid-stream: nothing lost, pushes resume, no node crashes', async () => {
    const [, b, c] = nodes as [RelayProcess, RelayProcess, RelayProcess];
    const sender = await start(b.url, 'redis-a');
    const recipient = await start(c.url, 'redis-b', 'vn-spp');
    const before = await sendNumbered(sender, 'vn-spp.redis-b', 'before', 3);
    await recipient.waitForMessages(3);
    await redis.stop();
    // While Redis is down, established connections still send: stored in PostgreSQL, delivered by catch-up.
    const during = await sendNumbered(sender, 'vn-spp.redis-b', 'during', 5);
    await redis.start();
    const after = await sendNumbered(sender, 'vn-spp.redis-b', 'after', 3);
    expect((await recipient.waitForMessages(11, 20_000)).map((m) => m.text)).toEqual([...before, ...during, ...after]);
    expect(nodes.every((n) => n.alive())).toBe(true);
    // New authentications answer UNAVAILABLE until the relay's Redis client has reconnected
    // (backoff up to 2 s), then work again.
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await start(b.url, 'redis-late');
        break;
      } catch (error) {
        if (!isLiaisonError(error, 'UNAVAILABLE') || Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  });
});

describeCluster(`relay cluster: PostgreSQL unavailable for a few seconds${why}`, () => {
  it('refuses sends with a retryable error while PostgreSQL is down (never a false ack), and loses nothing', async () => {
    const net = await testNetwork();
    const postgres = await startPostgresServer();
    const redis = await startRedisServer();
    const node = await spawnRelay([net.root], {
      LIAISON_DATABASE_URL: postgres.url,
      LIAISON_REDIS_URL: redis.url,
      LIAISON_CATCH_UP_INTERVAL_MS: '500',
    });
    const clients: TestClient[] = [];
    try {
      const sender = await startClient(node.url, await net.authority('th-oag', 'TH').contactPoint('pg-a').addDevice(), [
        net.root,
      ]);
      const recipient = await startClient(
        node.url,
        await net.authority('vn-spp', 'VN').contactPoint('pg-b').addDevice(),
        [net.root],
      );
      clients.push(sender, recipient);
      const first = await sendNumbered(sender, 'vn-spp.pg-b', 'first', 2);
      await recipient.waitForMessages(2);

      const direct = await connect(
        node.url,
        await net
          .authority('ph-doj', 'PH')
          .contactPoint('pg-probe')
          .addDevice()
          .then(async (d) => {
            await register(node.url, d);
            return d;
          }),
      );
      await postgres.stop();
      // A raw send while the database is down gets UNAVAILABLE, not an acknowledgement.
      const refused = await direct.call('send', {
        messageId: crypto.randomUUID(),
        recipient: 'vn-spp.pg-b',
        priority: 'normal',
        createdAt: Date.now(),
        envelopes: [
          {
            recipientDevice: recipient.client.deviceId,
            kind: 'message',
            ciphertext: 'AAAAAAAAAAAAAAAAAAAAAA',
            escalationLevel: 0,
          },
        ],
      });
      expect(refused).toMatchObject({ ok: false, error: 'UNAVAILABLE' });
      direct.close();
      // The SDK retries the same message until the database is back.
      const pending = sendNumbered(sender, 'vn-spp.pg-b', 'retried', 3);
      await new Promise((r) => setTimeout(r, 2000));
      await postgres.start();
      const retried = await pending;
      expect((await recipient.waitForMessages(5, 20_000)).map((m) => m.text)).toEqual([...first, ...retried]);
      expect(node.alive()).toBe(true);
    } finally {
      await Promise.all(clients.map((c) => c.client.close()));
      await node.stop();
      await redis.stop();
      postgres.destroy();
    }
  });
});
