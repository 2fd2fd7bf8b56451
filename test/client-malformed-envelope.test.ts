import type { LiaisonError } from '@liaison/client';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient } from './harness/clients.js';
import { testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { until } from './harness/until.js';

/**
 * One envelope the SDK refuses, oldest in a device's queue, must not hold the valid ones pushed in
 * the same `envelopes` frame (review 25b, finding 2): the relay rebuilds the same frame at each
 * redelivery, so a frame dropped whole would be dropped again until that envelope expired.
 */
describe('an envelope the SDK refuses, in a frame with valid ones', () => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay('pglite', { trustedRoots: [net.root], redeliverAfterMs: 500, catchUpIntervalMs: 500 });
  });
  afterAll(() => relay.stop());

  it('is reported by its id and left with the relay; the others are shown and acknowledged', async () => {
    const sender = await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint('s').addDevice(), [
      net.root,
    ]);
    const recipientDevice = await net.authority('vn-spp', 'VN').contactPoint('r').addDevice();
    const offline = await startClient(relay.url, recipientDevice, [net.root]);
    await offline.client.close();
    const ids: string[] = [];
    for (const text of ['m1', 'm2', 'm3', 'm4']) ids.push((await sender.client.send('vn-spp.r', { text })).messageId);
    // m1, as the relay pushes it, no longer fits the SDK's Envelope schema (createdAt < 0): a stand-in
    // for any divergence between what a relay stores and what an SDK accepts (a field added, a bound changed).
    await sql`update messages set created_at = -1 where message_id = ${ids[0]}`.execute(relay.relay.db);
    const recipient = await startClient(relay.url, recipientDevice, [net.root], { connect: false });
    const errors: LiaisonError[] = [];
    recipient.client.on('error', (e) => void errors.push(e));
    await recipient.client.connect();
    expect((await recipient.waitForMessages(3)).map((m) => m.text)).toEqual(['m2', 'm3', 'm4']);
    const stored = async () =>
      (
        await sql<{
          id: string;
        }>`select message_id as id from envelopes where recipient_device = ${recipientDevice.id}`.execute(
          relay.relay.db,
        )
      ).rows.map((r) => r.id);
    await until(async () => (await stored()).length === 1, 'the three valid envelopes acknowledged');
    // A redelivery period later, the relay offered m1 again; still refused, still held, nothing else shown.
    relay.clock.now += 1_000;
    await until(() => errors.length >= 2, 'm1 offered again and refused again');
    expect(await stored()).toEqual([ids[0]]);
    expect(recipient.messages.map((m) => m.text)).toEqual(['m2', 'm3', 'm4']);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['INVALID_MESSAGE']));
    expect(errors[0]?.message).toContain(ids[0]);
    await recipient.client.close();
    await sender.client.close();
  });
});
