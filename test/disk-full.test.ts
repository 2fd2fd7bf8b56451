import { isLiaisonError } from '@liaison/client';
import { afterEach, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { connect, http, register } from './harness/device-client.js';
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
import { mountSmallDisk, type SmallDisk, whyNoSmallDisk } from './harness/small-disk.js';
import { until } from './harness/until.js';

const MIB = 1024 ** 2;
const needsSmallDisk = machineRequirement(whyNoSmallDisk);
const needsSmallDiskAndPostgres = machineRequirement(
  () => whyNoSmallDisk() ?? (postgresBin() ? undefined : 'PostgreSQL is not installed (/usr/lib/postgresql/*/bin)'),
);

/** What each test started, stopped after it whatever happened. */
let started: { clients: TestClient[]; relay?: RelayProcess; postgres?: PostgresServer; disk?: SmallDisk } = {
  clients: [],
};
afterEach(async () => {
  // A relay whose event loop is stuck cannot act on SIGTERM: killed after 10 s.
  const relay = started.relay;
  if (relay) await Promise.race([relay.stop(), new Promise((r) => setTimeout(r, 10_000)).then(() => relay.kill())]);
  await Promise.all(started.clients.map((c) => c.client.close()));
  started.postgres?.destroy();
  started.disk?.unmount();
  started = { clients: [] };
});

const count = (url: string, code: string) => relayCounter(url, 'liaison_errors_total', `code="${code}"`);

/**
 * Senders send while the disk fills and is freed again: the relay must refuse with STORAGE_FULL,
 * keep answering /healthz, say it is not ready and why, and resume by itself once space is back.
 */
async function fillAndFreeUnderTraffic(
  name: string,
  relay: RelayProcess,
  disk: SmallDisk,
  net: Awaited<ReturnType<typeof testNetwork>>,
  options: { bareSendRefused: boolean },
) {
  const { senders, recipients, bystander, recipient } = await faultParties(relay.url, net);
  started.clients.push(...senders, ...recipients, bystander);
  const probeDevice = await net.authority('ph-doj', 'PH').contactPoint('probe').addDevice();
  await register(relay.url, probeDevice);
  const probe = await connect(relay.url, probeDevice);
  const pid = relay.pid();
  const refusedBefore = await count(relay.url, 'STORAGE_FULL');
  const connections = watchConnections([...senders, ...recipients, bystander]);
  const readiness = probeHttp(relay.url, '/readyz', 4);
  const health = probeHttp(relay.url, '/healthz', 2);
  const traffic = startTraffic(senders, recipient, { label: name, resendOn: ['UNAVAILABLE', 'STORAGE_FULL'] });
  await until(
    () => relayUp(relay) && traffic.running() && traffic.acknowledged() >= 15,
    'traffic before the disk fills',
    20_000,
  );

  const filledAt = Date.now();
  disk.fill();
  // Refused, with the code that says why; still answering; not ready, with the reason.
  await until(
    () => relayUp(relay) && traffic.running() && traffic.senders.some((s) => s.refusals.has('STORAGE_FULL')),
    'a send refused with STORAGE_FULL',
    20_000,
  );
  const refusedAt = Date.now();
  await until(() => readiness.answers.some((a) => a.at >= refusedAt && a.status === 503), '/readyz 503', 5000);
  expect((await http(relay.url, 'GET', '/readyz')).body).toMatchObject({
    status: 'not-ready',
    detail: expect.stringMatching(/^storage full: /),
  });
  if (options.bareSendRefused) {
    expect(
      await bareSend(
        probe,
        recipient,
        recipients.map((r) => r.client.deviceId),
      ),
    ).toMatchObject({ ok: false, error: 'STORAGE_FULL' });
  }
  // An application restarts while the disk is full, and keeps trying until it is connected.
  const reconnected = restartClient(bystander, ['UNAVAILABLE', 'STORAGE_FULL']);
  await new Promise((r) => setTimeout(r, 2000));
  relayUp(relay);

  const freedAt = Date.now();
  disk.free();
  await until(
    () => relayUp(relay) && readiness.answers.some((a) => a.at >= freedAt && a.status === 200),
    '/readyz 200 once space is back',
    15_000,
  );
  const readyAt = readiness.answers.find((a) => a.at >= freedAt && a.status === 200)?.at ?? 0;
  const backAt = await reconnected;
  const before = traffic.acknowledged();
  await until(() => traffic.running() && traffic.acknowledged() >= before + 15, 'traffic once space is back', 30_000);
  const records = await traffic.stop();
  await Promise.all([readiness.stop(), health.stop()]);
  probe.close();
  const verdict = await deliveryVerdict(traffic, recipients);

  const whileFull = health.answers.filter((a) => a.at >= filledAt && a.at < readyAt);
  console.error(
    `disk full (${name}): ${JSON.stringify({
      firstRefusalAfterFillMs: refusedAt - filledAt,
      diskFullMs: freedAt - filledAt,
      readyAfterFreedMs: readyAt - freedAt,
      restartedClientConnectedAfterFillMs: backAt - filledAt,
      refusedStorageFull: (await count(relay.url, 'STORAGE_FULL')) - refusedBefore,
      resentByApplication: records.reduce((n, r) => n + r.resent, 0),
      healthzWhileFull: { answers: whileFull.length, slowestMs: Math.max(...whileFull.map((a) => a.ms)) },
      disconnections: connections.disconnections(),
      acknowledged: verdict.acknowledged,
      delivered: verdict.delivered,
      unacknowledgedDelivered: verdict.unacknowledgedDelivered,
    })}`,
  );
  expect(verdict.problems).toEqual([]);
  expect(connections.notConnected()).toEqual([]);
  expect(await count(relay.url, 'INTERNAL')).toBe(0);
  expect(whileFull.length).toBeGreaterThan(0);
  expect(whileFull.every((a) => a.status === 200)).toBe(true);
  expect(relay.alive()).toBe(true);
  expect(relay.pid()).toBe(pid);
}

needsSmallDisk.describe('a PGlite relay whose disk fills', () => {
  it('refuses sends with STORAGE_FULL before the disk is full, keeps answering, is not ready, and resumes by itself', async () => {
    const disk = mountSmallDisk(160);
    started.disk = disk;
    const net = await testNetwork();
    const relay = await spawnRelay([net.root], { LIAISON_DATA_DIR: `${disk.dir}/data` });
    started.relay = relay;
    await fillAndFreeUnderTraffic('pglite', relay, disk, net, { bareSendRefused: true });
  });

  it('with no reserve, survives PGlite meeting the full disk: the instance that stopped is replaced once space is back', async () => {
    // Without the reserve, writes reach PGlite on a disk too full for its next WAL segment: PGlite
    // stops (a PANIC). Before, the next query spun forever and the relay stopped answering anything.
    const disk = mountSmallDisk(128);
    started.disk = disk;
    const net = await testNetwork();
    const relay = await spawnRelay([net.root], {
      LIAISON_DATA_DIR: `${disk.dir}/data`,
      LIAISON_STORAGE_RESERVE_MB: '0',
    });
    started.relay = relay;
    const sender = await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint('a').addDevice(), [
      net.root,
    ]);
    const recipient = await startClient(relay.url, await net.authority('vn-spp', 'VN').contactPoint('b').addDevice(), [
      net.root,
    ]);
    started.clients.push(sender, recipient);
    // Offline while the disk fills, so that the sender's messages are the only writes: the same ones each run.
    await recipient.client.close();
    const pid = relay.pid();
    // Less free than a WAL segment needs by the time the current one is used up, more than the
    // rows written until then: the first write that fails is the WAL's, and PGlite stops.
    disk.fill(17 * MIB);
    const big = 'x'.repeat(20_000);
    const acknowledged: string[] = [];
    let refusal = '';
    for (let i = 0; i < 2000 && !refusal; i++) {
      const sent = sender.client.send('vn-spp.b', { text: `big ${i} ${big}` }).then(
        () => '',
        (error) => (isLiaisonError(error) ? error.code : String(error)),
      );
      const timeout = new Promise<string>((r) => setTimeout(() => r('no answer within 15 s'), 15_000).unref());
      refusal = await Promise.race([sent, timeout]);
      if (!refusal) acknowledged.push(`big ${i} ${big}`);
    }
    const stoppedAt = Date.now();
    const events = () =>
      relay
        .output()
        .split('\n')
        .filter((line) => !line.includes('"http.request"'))
        .slice(-6)
        .join('\n');
    // Not ready, and still answering: before, the next query (this /readyz) spun forever in
    // PGlite and the relay stopped answering anything.
    const answer = (path: string) =>
      fetch(`${relay.url}${path}`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.status,
        () => 'no answer within 2 s',
      );
    expect(await answer('/readyz'), events()).toBe(503);
    expect(await answer('/healthz'), events()).toBe(200);
    // The SDK retries STORAGE_FULL; by its last try PGlite may have stopped, which is UNAVAILABLE.
    expect(['STORAGE_FULL', 'UNAVAILABLE'], events()).toContain(refusal);
    // (The log line comes through the process's output, which may trail the socket's answer.)
    // The whole output: the pollers' errors that follow may push the line out of the last few.
    await until(() => relay.output().includes('"event":"database.lost"'), 'the relay to log that PGlite stopped', 5000);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await http(relay.url, 'GET', '/readyz')).status).toBe(503);
    expect((await http(relay.url, 'GET', '/healthz')).status).toBe(200);

    const freedAt = Date.now();
    disk.free();
    await until(
      async () => relayUp(relay) && (await http(relay.url, 'GET', '/readyz')).status === 200,
      'ready again',
      20_000,
    );
    const readyAt = Date.now();
    await recipient.client.connect();
    for (let i = 0; i < 5; i++) {
      await sender.client.send('vn-spp.b', { text: `after ${i}` });
      acknowledged.push(`after ${i}`);
    }
    const shown = await recipient.waitForMessages(acknowledged.length, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    console.error(
      `PGlite PANIC on a full disk: ${JSON.stringify({
        acknowledgedBeforeThePanic: acknowledged.length - 5,
        lostToReadyAfterFreedMs: readyAt - freedAt,
        unavailableMs: readyAt - stoppedAt,
        delivered: recipient.messages.length,
      })}`,
    );
    expect(shown.map((m) => m.text)).toEqual(acknowledged);
    expect(recipient.messages).toHaveLength(acknowledged.length);
    await until(
      () => relay.output().includes('"event":"database.reopened"'),
      'the relay to log the new instance',
      5000,
    );
    expect(relay.alive()).toBe(true);
    expect(relay.pid()).toBe(pid);
  });
});

needsSmallDiskAndPostgres.describe("a relay whose PostgreSQL server's disk fills", () => {
  it('answers STORAGE_FULL, keeps answering, is not ready while PostgreSQL refuses writes, and resumes by itself', async () => {
    const disk = mountSmallDisk(96);
    started.disk = disk;
    // The data folder on the small disk; the WAL on its own (PostgreSQL stops when the WAL cannot grow).
    const postgres = await startPostgresServer({ parent: disk.dir, walElsewhere: true });
    started.postgres = postgres;
    const net = await testNetwork();
    const relay = await spawnRelay([net.root], { LIAISON_DATABASE_URL: postgres.url });
    started.relay = relay;
    await fillAndFreeUnderTraffic('postgresql', relay, disk, net, { bareSendRefused: false });
  });
});
