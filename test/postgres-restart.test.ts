import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestClient } from './harness/clients.js';
import { type Connection, connect, register } from './harness/device-client.js';
import {
  bareSend,
  deliveryVerdict,
  faultParties,
  probeHttp,
  relayUp,
  restartClient,
  startTraffic,
  watchConnections,
} from './harness/fault-traffic.js';
import { relayCounter } from './harness/metrics.js';
import { testNetwork } from './harness/network.js';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';
import { type PostgresServer, postgresBin, startPostgresServer } from './harness/servers.js';
import { machineRequirement } from './harness/services.js';
import { until } from './harness/until.js';

const needsPostgres = machineRequirement(() =>
  postgresBin() ? undefined : 'PostgreSQL is not installed (/usr/lib/postgresql/*/bin)',
);
const RECIPIENT = 'vn-spp.desk';

needsPostgres.describe('a relay on PostgreSQL while PostgreSQL restarts under traffic', () => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let postgres: PostgresServer;
  let relay: RelayProcess;
  let senders: TestClient[];
  let recipients: TestClient[];
  let bystander: TestClient;
  let probe: Connection;

  beforeAll(async () => {
    net = await testNetwork();
    postgres = await startPostgresServer();
    relay = await spawnRelay([net.root], { LIAISON_DATABASE_URL: postgres.url, LIAISON_CATCH_UP_INTERVAL_MS: '500' });
    ({ senders, recipients, bystander } = await faultParties(relay.url, net));
    const probeDevice = await net.authority('ph-doj', 'PH').contactPoint('probe').addDevice();
    await register(relay.url, probeDevice);
    probe = await connect(relay.url, probeDevice);
  });
  afterAll(async () => {
    probe?.close();
    await Promise.all([...(senders ?? []), ...(recipients ?? []), bystander].map((c) => c?.client.close()));
    await relay?.stop();
    postgres?.destroy();
  });

  for (const mode of ['fast', 'immediate'] as const) {
    it(`stays up through pg_ctl stop -m ${mode} mid-traffic, refuses with UNAVAILABLE, is not ready, and serves again without a restart`, async () => {
      const pid = relay.pid();
      const refusedBefore = await relayCounter(relay.url, 'liaison_errors_total', 'code="UNAVAILABLE"');
      const connections = watchConnections([...senders, ...recipients, bystander]);
      const readiness = probeHttp(relay.url, '/readyz', 16);
      const traffic = startTraffic(senders, RECIPIENT, { label: mode });
      await until(
        () => relayUp(relay) && traffic.running() && traffic.acknowledged() >= 15,
        'traffic before the stop',
        20_000,
      );

      // Queries in flight when the server stops: the relay's /readyz queries wait behind a lock.
      const locker = new pg.Client({ connectionString: postgres.url });
      locker.on('error', () => undefined);
      await locker.connect();
      await locker.query('begin');
      await locker.query('lock table kysely_migration in access exclusive mode');
      await new Promise((r) => setTimeout(r, 300));
      // (The locker's own connection ends with the server.)
      const stoppedAt = Date.now();
      await postgres.stop(mode);
      // The relay stays up and says it is not ready; a send is refused, never acknowledged.
      await until(
        () => relayUp(relay) && readiness.answers.some((a) => a.at >= stoppedAt && a.status === 503),
        '/readyz 503',
        5000,
      );
      const refused = await bareSend(
        probe,
        RECIPIENT,
        recipients.map((r) => r.client.deviceId),
      );
      expect(refused).toMatchObject({ ok: false, error: 'UNAVAILABLE' });
      // An application restarts during the outage, and keeps trying until it is connected.
      const reconnected = restartClient(bystander, ['UNAVAILABLE']);
      await new Promise((r) => setTimeout(r, 2000));
      relayUp(relay);

      const restartedAt = Date.now();
      await postgres.start();
      await until(
        () => relayUp(relay) && readiness.answers.some((a) => a.at >= restartedAt && a.status === 200),
        '/readyz 200 after the restart',
        15_000,
      );
      const readyAt = readiness.answers.find((a) => a.at >= restartedAt && a.status === 200)?.at ?? 0;
      const backAt = await reconnected;
      const before = traffic.acknowledged();
      await until(
        () => traffic.running() && traffic.acknowledged() >= before + 15,
        'traffic after the restart',
        30_000,
      );
      const records = await traffic.stop();
      await readiness.stop();
      const verdict = await deliveryVerdict(traffic, recipients);

      const during = readiness.answers.filter((a) => a.at >= stoppedAt && a.at < readyAt);
      console.error(
        `PostgreSQL stop -m ${mode}: ${JSON.stringify({
          mode,
          databaseDownMs: restartedAt - stoppedAt,
          notReadyMs: readyAt - stoppedAt,
          readyAfterRestartMs: readyAt - restartedAt,
          restartedClientConnectedAfterRestartMs: backAt - restartedAt,
          readyzDuringOutage: {
            answered503: during.filter((a) => a.status === 503).length,
            unanswered: during.filter((a) => a.status === 0).length,
          },
          refusedUnavailable:
            (await relayCounter(relay.url, 'liaison_errors_total', 'code="UNAVAILABLE"')) - refusedBefore,
          sendsWaitedOverOneSecond: records.reduce((n, r) => n + r.slow, 0),
          slowestSendMs: Math.max(...records.map((r) => r.slowestMs)),
          resentByApplication: records.reduce((n, r) => n + r.resent, 0),
          disconnections: connections.disconnections(),
          acknowledged: verdict.acknowledged,
          delivered: verdict.delivered,
          unacknowledgedDelivered: verdict.unacknowledgedDelivered,
        })}`,
      );
      expect(verdict.problems).toEqual([]);
      expect(connections.notConnected()).toEqual([]);
      // Every failure while the database was away was the retryable UNAVAILABLE, never INTERNAL.
      expect(await relayCounter(relay.url, 'liaison_errors_total', 'code="INTERNAL"')).toBe(0);
      expect(relay.alive()).toBe(true);
      expect(relay.pid()).toBe(pid);
      expect(during.every((a) => a.status === 503 || a.status === 200)).toBe(true);
    });
  }
});
