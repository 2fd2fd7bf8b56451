import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeBase64url, LIMITS, type SendRequest } from '@liaison/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, register } from './harness/device-client.js';
import { buildSend, decryptText } from './harness/messaging.js';
import { type MessagingWorld, startMessagingWorld } from './harness/messaging-world.js';
import type { TestDevice } from './harness/network.js';
import { describeEachBackend, RELAY_TABLES, type TestRelay } from './harness/relay.js';

const DAY = 86_400_000;

describeEachBackend('relay messaging (%s)', (backend) => {
  let world: MessagingWorld;
  let relay: TestRelay;
  let alice1: TestDevice;
  let alice2: TestDevice;
  let bob: TestDevice;
  let carol: TestDevice;
  let net: MessagingWorld['net'];
  const online = (device: TestDevice) => world.online(device);
  const envelopeCount = async () =>
    Number((await sql<{ n: number }>`select count(*)::int as n from envelopes`.execute(relay.relay.db)).rows[0]?.n);

  beforeAll(async () => {
    world = await startMessagingWorld(backend, { persistent: true });
    ({ relay, net, alice1, alice2, bob, carol } = world);
  });
  afterAll(() => world?.close());

  it('stores concurrent sends of many devices together, answering a retry and a reused id within one batch', async () => {
    const dave = net.authority('th-oag', 'TH').contactPoint('dave');
    const [dave1, dave2] = [await dave.addDevice('laptop'), await dave.addDevice('phone')];
    const erin = await net.authority('ph-doj', 'PH').contactPoint('erin').addDevice();
    const frank = await net.authority('ph-doj', 'PH').contactPoint('frank').addDevice();
    for (const device of [dave1, dave2, erin, frank]) expect((await register(relay.url, device)).status).toBe(200);
    const [a1, a2, c] = [await online(dave1), await online(dave2), await online(erin)];
    const first = await buildSend(relay.url, dave1, 'ph-doj.erin', 'concurrent one');
    const second = await buildSend(relay.url, dave2, 'ph-doj.erin', 'concurrent two');
    const third = await buildSend(relay.url, erin, 'ph-doj.frank', 'concurrent three');
    // Dave's phone reuses the id of his laptop's message, and the laptop repeats its own at once.
    const reused = { ...second, messageId: first.messageId };
    const results = await Promise.all([
      a1.call('send', first),
      a2.call('send', reused),
      c.call('send', third),
      a1.call('send', first),
    ]);
    expect(results[0]).toMatchObject({ ok: true, value: { duplicate: false } });
    expect(results[1]).toMatchObject({ ok: false, error: 'CONFLICT' });
    expect(results[2]).toMatchObject({ ok: true, value: { duplicate: false } });
    expect(results[3]).toMatchObject({ ok: true, value: { duplicate: true } });
    const received = await c.waitForEnvelopes(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(received.map((e) => e.messageId)).toEqual([first.messageId]);
    expect(await decryptText(erin, dave1.id, received[0]?.ciphertext as string)).toBe('concurrent one');
    // Everything stored is delivered: the other devices take theirs, leaving nothing queued.
    const f = await online(frank);
    for (const [connection, count] of [
      [c, 1],
      [a2, 1],
      [f, 1],
    ] as const) {
      const got = await connection.waitForEnvelopes(count);
      await connection.call('envelopes:ack', { messageIds: got.map((e) => e.messageId) });
    }
    expect(await envelopeCount()).toBe(0);
  });

  it('delivers to every device once and in order, with delivered and acknowledged receipts', async () => {
    const [a1, a2, b] = [await online(alice1), await online(alice2), await online(bob)];
    const texts = ['request for assistance', 'annex follows', 'please confirm'];
    for (const text of texts) {
      const result = await a1.call('send', await buildSend(relay.url, alice1, 'vn-spp.bob', text));
      expect(result).toMatchObject({ ok: true, value: { duplicate: false, serverTime: expect.any(Number) } });
    }
    const received = await b.waitForEnvelopes(3);
    expect(received.map((e) => e.senderDevice)).toEqual([alice1.id, alice1.id, alice1.id]);
    expect(received.map((e) => e.senderContactPoint)).toEqual(['th-oag.alice', 'th-oag.alice', 'th-oag.alice']);
    const plain = [];
    for (const e of received) plain.push(await decryptText(bob, e.senderDevice, e.ciphertext));
    expect(plain).toEqual(texts);
    // The sender's other device gets its copy of what was sent.
    const copies = await a2.waitForEnvelopes(3);
    const copyTexts = [];
    for (const e of copies) copyTexts.push(await decryptText(alice2, e.senderDevice, e.ciphertext));
    expect(copyTexts).toEqual(texts);

    expect(await b.call('envelopes:ack', { messageIds: received.map((e) => e.messageId) })).toEqual({
      ok: true,
      value: { deleted: 3 },
    });
    const delivered = await a1.waitForReceipts(3);
    expect(delivered.map((r) => [r.status, r.contactPointId, r.deviceId])).toEqual(
      Array.from({ length: 3 }, () => ['delivered', 'vn-spp.bob', bob.id]),
    );
    expect(await b.call('acknowledge', { messageId: received[0]?.messageId as string })).toMatchObject({ ok: true });
    await a2.waitForReceipts(4);
    expect(a2.receipts.at(-1)).toMatchObject({
      status: 'acknowledged',
      messageId: received[0]?.messageId,
      contactPointId: 'vn-spp.bob',
    });
    await a2.call('envelopes:ack', { messageIds: copies.map((e) => e.messageId) });
    expect(await envelopeCount()).toBe(0);
    for (const c of [a1, a2, b]) c.close();
  });

  it('queues for an offline device and drains in order on reconnect, across a relay restart', async () => {
    const sent: string[] = [];
    const a1 = await online(alice1);
    for (let i = 0; i < 5; i++) {
      sent.push(`queued ${i}`);
      expect((await a1.call('send', await buildSend(relay.url, alice1, 'vn-spp.bob', `queued ${i}`))).ok).toBe(true);
    }
    a1.close();
    await relay.restart();
    const b = await online(bob);
    const received = await b.waitForEnvelopes(5);
    const texts = [];
    for (const e of received) texts.push(await decryptText(bob, e.senderDevice, e.ciphertext));
    expect(texts).toEqual(sent);
    await b.call('envelopes:ack', { messageIds: received.map((e) => e.messageId) });
    const a2 = await online(alice2);
    const copies = await a2.waitForEnvelopes(5);
    await a2.call('envelopes:ack', { messageIds: copies.map((e) => e.messageId) });
    for (const c of [b, a2]) c.close();
  });

  it('stores a retried send once and acknowledges it the same way', async () => {
    const a1 = await online(alice1);
    const request = await buildSend(relay.url, alice1, 'vn-spp.bob', 'sent twice');
    const first = await a1.call('send', request);
    const second = await a1.call('send', request);
    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(second.value).toEqual({ ...first.value, duplicate: true });
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from envelopes where message_id = ${request.messageId}`.execute(relay.relay.db);
    expect(rows[0]?.n).toBe(2);
    // Another device may not reuse the id.
    const c = await online(carol);
    const stolen = await buildSend(relay.url, carol, 'vn-spp.bob', 'x', { messageId: request.messageId });
    expect(await c.call('send', stolen)).toMatchObject({ ok: false, error: 'CONFLICT' });
    for (const x of [a1, c]) x.close();
    await drain(bob);
    await drain(alice2);
  });

  it('delivers a message to several recipients on every device of each, with receipts per recipient', async () => {
    const [a1, a2, b, c] = [await online(alice1), await online(alice2), await online(bob), await online(carol)];
    const request = await buildSend(relay.url, alice1, ['vn-spp.bob', 'ph-doj.carol'], 'to the joint team');
    expect(request.envelopes.map((e) => e.recipientDevice).sort()).toEqual([alice2.id, bob.id, carol.id].sort());
    expect(await a1.call('send', request)).toMatchObject({ ok: true, value: { duplicate: false } });
    const relayed = await relay.relay.db
      .selectFrom('receipts')
      .select(['status', 'contact_point_id'])
      .where('message_id', '=', request.messageId)
      .execute();
    expect(relayed.map((r) => `${r.status} ${r.contact_point_id}`).sort()).toEqual([
      'relayed ph-doj.carol',
      'relayed vn-spp.bob',
    ]);
    for (const [device, connection] of [
      [bob, b],
      [carol, c],
      [alice2, a2],
    ] as const) {
      const [envelope] = await connection.waitForEnvelopes(1);
      expect(await decryptText(device, alice1.id, envelope?.ciphertext as string)).toBe('to the joint team');
      await connection.call('envelopes:ack', { messageIds: [request.messageId] });
    }
    // Each recipient acknowledges as a person; the sender's own copy is no news to it.
    for (const connection of [b, c])
      expect(await connection.call('acknowledge', { messageId: request.messageId })).toMatchObject({ ok: true });
    const pushed = await a1.waitForReceipts(4);
    expect(pushed.map((r) => `${r.status} ${r.contactPointId}`).sort()).toEqual([
      'acknowledged ph-doj.carol',
      'acknowledged vn-spp.bob',
      'delivered ph-doj.carol',
      'delivered vn-spp.bob',
    ]);
    // Someone it was not addressed to cannot acknowledge it.
    const dave = await net.authority('th-oag', 'TH').contactPoint('dave-several').addDevice();
    expect((await register(relay.url, dave)).status).toBe(200);
    expect(await (await online(dave)).call('acknowledge', { messageId: request.messageId })).toMatchObject({
      ok: false,
      error: 'NOT_FOUND',
    });
    expect(await envelopeCount()).toBe(0);
    for (const connection of [a1, a2, b, c]) connection.close();
  });

  it('refuses a message to several recipients that misses a device of one, names an unknown one, or is urgent; stores nothing', async () => {
    const a1 = await online(alice1);
    const request = await buildSend(relay.url, alice1, ['vn-spp.bob', 'ph-doj.carol'], 'several, refused');
    const before = await envelopeCount();
    expect(
      await a1.call('send', { ...request, envelopes: request.envelopes.filter((e) => e.recipientDevice !== carol.id) }),
    ).toMatchObject({ ok: false, error: 'DEVICE_MISMATCH', details: { missingDevices: [carol.id] } });
    expect(await a1.call('send', { ...request, recipients: ['vn-spp.bob', 'nobody.here'] })).toMatchObject({
      ok: false,
      error: 'NOT_FOUND',
    });
    expect(await a1.call('send', { ...request, recipient: 'vn-spp.bob' })).toMatchObject({
      ok: false,
      error: 'INVALID_INPUT',
    });
    expect(await a1.call('send', { ...request, priority: 'urgent', acknowledgeWithinMs: 60_000 })).toMatchObject({
      ok: false,
      error: 'INVALID_INPUT',
      details: { path: 'priority' },
    });
    expect(await envelopeCount()).toBe(before);
    const listed = await relay.relay.db
      .selectFrom('message_recipients')
      .selectAll()
      .where('message_id', '=', request.messageId)
      .execute();
    expect(listed).toEqual([]);
    a1.close();
  });

  it("takes the sender's own contact point as a recipient: its other devices, never the sending one", async () => {
    const a1 = await online(alice1);
    const request = await buildSend(relay.url, alice1, ['th-oag.alice'], 'note to my other devices');
    expect(request.envelopes.map((e) => e.recipientDevice)).toEqual([alice2.id]);
    expect(await a1.call('send', request)).toMatchObject({ ok: true });
    a1.close();
    await drain(alice2);
  });

  it('refuses a send that misses or adds devices, listing them, and stores nothing', async () => {
    const a1 = await online(alice1);
    const request = await buildSend(relay.url, alice1, 'vn-spp.bob', 'mismatch');
    const before = await envelopeCount();
    const missing = { ...request, envelopes: request.envelopes.filter((e) => e.recipientDevice !== alice2.id) };
    expect(await a1.call('send', missing)).toMatchObject({
      ok: false,
      error: 'DEVICE_MISMATCH',
      details: { missingDevices: [alice2.id], extraDevices: [] },
    });
    const stranger = encodeBase64url(new Uint8Array(32).fill(7));
    const extra: SendRequest = {
      ...request,
      envelopes: [
        ...request.envelopes,
        { ...(request.envelopes[0] as SendRequest['envelopes'][0]), recipientDevice: stranger },
      ],
    };
    expect(await a1.call('send', extra)).toMatchObject({
      ok: false,
      error: 'DEVICE_MISMATCH',
      details: { missingDevices: [], extraDevices: [stranger] },
    });
    expect(await a1.call('send', { ...request, recipient: 'nobody.here' })).toMatchObject({
      ok: false,
      error: 'NOT_FOUND',
    });
    expect(await envelopeCount()).toBe(before);
    expect(await a1.call('send', request)).toMatchObject({ ok: true });
    a1.close();
    await drain(bob);
    await drain(alice2);
  });

  it('expires what is never delivered, and tells the sender', async () => {
    const a1 = await online(alice1);
    const request = await buildSend(relay.url, alice1, 'vn-spp.bob', 'will expire');
    expect((await a1.call('send', request)).ok).toBe(true);
    await drain(alice2);
    relay.clock.now += 30 * DAY + 1;
    await relay.relay.sweep();
    const expired = await a1.waitForReceipts(1);
    expect(expired[0]).toMatchObject({ status: 'expired', messageId: request.messageId, deviceId: bob.id });
    expect(await envelopeCount()).toBe(0);
    const b = await online(bob);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(b.envelopes).toEqual([]);
    for (const c of [a1, b]) c.close();
    relay.clock.now -= 30 * DAY + 1;
  });

  it('keeps no plaintext: a marker sent encrypted appears in no table and no database file', async () => {
    const marker = 'MARKER-7f3a preservation order for account 4471';
    const a1 = await online(alice1);
    expect((await a1.call('send', await buildSend(relay.url, alice1, 'vn-spp.bob', marker))).ok).toBe(true);
    a1.close();
    const tables = RELAY_TABLES;
    for (const table of tables) {
      const { rows } = await sql`select * from ${sql.table(table)}`.execute(relay.relay.db);
      const dump = JSON.stringify(rows, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
      expect(dump.includes(marker), table).toBe(false);
      expect(dump.includes('MARKER-7f3a'), table).toBe(false);
    }
    if (relay.dataDir) {
      await sql`checkpoint`.execute(relay.relay.db);
      for (const file of await listFiles(relay.dataDir)) {
        expect((await readFile(file)).includes(Buffer.from('MARKER-7f3a')), file).toBe(false);
      }
    }
    await drain(bob);
    await drain(alice2);
  });

  it('confines a device to its own queue: acks and acknowledgements of others change nothing', async () => {
    const a1 = await online(alice1);
    const request = await buildSend(relay.url, alice1, 'vn-spp.bob', 'for bob only');
    expect((await a1.call('send', request)).ok).toBe(true);
    const c = await online(carol);
    expect(await c.call('envelopes:ack', { messageIds: [request.messageId] })).toEqual({
      ok: true,
      value: { deleted: 0 },
    });
    expect(await c.call('acknowledge', { messageId: request.messageId })).toMatchObject({
      ok: false,
      error: 'NOT_FOUND',
    });
    const b = await online(bob);
    const [envelope] = await b.waitForEnvelopes(1);
    expect(envelope).toMatchObject({ messageId: request.messageId, senderDevice: alice1.id, recipientDevice: bob.id });
    expect(c.envelopes).toEqual([]);
    await b.call('envelopes:ack', { messageIds: [request.messageId] });
    for (const x of [a1, b, c]) x.close();
    await drain(alice2);
  });

  it('answers bad events with a stable code, stores nothing, and keeps the socket up', async () => {
    const a1 = await online(alice1);
    const before = await envelopeCount();
    const request = await buildSend(relay.url, alice1, 'vn-spp.bob', 'after the garbage');
    const bad: unknown[] = [
      null,
      'send',
      { ...request, envelopes: 'all of them' },
      { ...request, __proto__: { admin: true }, extra: 1 },
      { ...request, envelopes: [{ ...request.envelopes[0], ciphertext: 'A'.repeat(LIMITS.maxCiphertextBytes * 2) }] },
      { ...request, messageId: 'x'.repeat(10_000) },
    ];
    for (const payload of bad) {
      const result = await a1.call('send', payload as SendRequest);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(['INVALID_INPUT', 'PAYLOAD_TOO_LARGE']).toContain(result.error);
    }
    expect(await a1.call('envelopes:ack', { messageIds: ['not-a-uuid'] })).toMatchObject({
      ok: false,
      error: 'INVALID_INPUT',
    });
    expect(a1.socket.connected).toBe(true);
    expect(await envelopeCount()).toBe(before);
    expect(await a1.call('send', request)).toMatchObject({ ok: true });
    a1.close();
    await drain(bob);
    await drain(alice2);
  });

  it('pushes at most the delivery window before acknowledgements, then the rest', async () => {
    const a1 = await online(alice1);
    const total = LIMITS.deliveryWindow + 20;
    for (let i = 0; i < total; i++) {
      expect((await a1.call('send', await buildSend(relay.url, alice1, 'vn-spp.bob', `n${i}`))).ok).toBe(true);
    }
    a1.close();
    const b = await online(bob);
    await b.waitForEnvelopes(LIMITS.deliveryWindow);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(b.envelopes).toHaveLength(LIMITS.deliveryWindow);
    await b.call('envelopes:ack', { messageIds: b.envelopes.map((e) => e.messageId) });
    await b.waitForEnvelopes(total);
    const texts = [];
    for (const e of b.envelopes) texts.push(await decryptText(bob, e.senderDevice, e.ciphertext));
    expect(texts).toEqual(Array.from({ length: total }, (_, i) => `n${i}`));
    await b.call('envelopes:ack', { messageIds: b.envelopes.slice(LIMITS.deliveryWindow).map((e) => e.messageId) });
    b.close();
    await drain(alice2);
  });

  /** Connects a device, decrypts and acknowledges everything queued for it, and disconnects. */
  async function drain(device: TestDevice): Promise<void> {
    const connection = await connect(relay.url, device);
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const pending = connection.envelopes.splice(0);
      if (pending.length === 0) break;
      for (const e of pending) await decryptText(device, e.senderDevice, e.ciphertext);
      await connection.call('envelopes:ack', { messageIds: pending.map((e) => e.messageId) });
    }
    connection.close();
  }
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = await Promise.all(
    entries.map((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))),
  );
  return files.flat();
}
