import { afterAll, beforeAll, expect, it } from 'vitest';
import { http } from './harness/device-client.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { type RestartableServer, startRedisServer } from './harness/servers.js';
import { redisService } from './harness/services.js';
import { until } from './harness/until.js';

/**
 * A node whose Redis is unreachable cannot authenticate anyone new nor reach sockets on other
 * nodes: a load balancer that asks /readyz must hear so, and why, until Redis is back.
 */
redisService.describe('readiness follows Redis', () => {
  let redis: RestartableServer;
  let relay: TestRelay;
  const readyz = () => http(relay.url, 'GET', '/readyz');

  beforeAll(async () => {
    redis = await startRedisServer();
    await redis.stop();
    relay = await startTestRelay('pglite', { redisUrl: redis.url });
  });
  afterAll(async () => {
    await relay?.stop();
    await redis?.stop();
  });

  it('answers 503 with the reason while Redis is unreachable, and 200 once it is back, each time', async () => {
    const notReady = { status: 503, body: { status: 'not-ready', detail: 'Redis unreachable (ECONNREFUSED)' } };
    const refused = async () => (await readyz()).body.detail === notReady.body.detail;
    await until(refused, 'a first attempt refused');
    expect(await readyz()).toEqual(notReady);

    await redis.start();
    await until(async () => (await readyz()).status === 200, 'ready once Redis is up', 15_000);
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready' } });

    await redis.stop();
    await until(refused, 'not ready once Redis is gone', 15_000);
    expect(await readyz()).toEqual(notReady);

    await redis.start();
    await until(async () => (await readyz()).status === 200, 'ready once Redis is back', 15_000);
  });
});
