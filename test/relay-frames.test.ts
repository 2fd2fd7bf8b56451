import { LIMITS } from '@liaison/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Connection } from './harness/device-client.js';
import { buildSend, decryptText } from './harness/messaging.js';
import { type MessagingWorld, startMessagingWorld } from './harness/messaging-world.js';
import type { TestDevice } from './harness/network.js';
import { describeEachBackend } from './harness/relay.js';

/**
 * What the relay pushes goes in as few socket.io frames as it can (issue #25): a device's queued
 * envelopes several to an `envelopes` event, and the receipts one batch of acknowledgements makes
 * one `receipts` event per sender's contact point, to that contact point only. Delivery stays
 * exactly once and in order, within the window.
 */
describeEachBackend('frames the relay pushes (%s)', (backend) => {
  let world: MessagingWorld;
  const online = (device: TestDevice) => world.online(device);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 200));
  /** Sends `n` texts from `device` to `to`, one after the other, each acknowledged. */
  const sendAll = async (connection: Connection, device: TestDevice, to: string, texts: string[]) => {
    const ids: string[] = [];
    for (const text of texts) {
      const result = await connection.call('send', await buildSend(world.relay.url, device, to, text));
      if (!result.ok) throw new Error(`send refused: ${result.error}`);
      ids.push(result.value.messageId);
    }
    return ids;
  };

  beforeAll(async () => {
    world = await startMessagingWorld(backend);
  });
  afterAll(() => world?.close());

  it('pushes what waited for a device in one frame, within the window, each envelope once and in order', async () => {
    const { alice1, alice2, bob } = world;
    const a1 = await online(alice1);
    const total = LIMITS.deliveryWindow + 20;
    const texts = Array.from({ length: total }, (_, i) => `queued ${i}`);
    const ids = await sendAll(a1, alice1, 'vn-spp.bob', texts);
    const b = await online(bob);
    await b.waitForEnvelopes(LIMITS.deliveryWindow);
    await settle();
    // One pass, one frame of a full window; the rest waits for the acknowledgement.
    expect(b.frames.envelopes).toEqual([LIMITS.deliveryWindow]);
    expect(await b.call('envelopes:ack', { messageIds: b.envelopes.map((e) => e.messageId) })).toEqual({
      ok: true,
      value: { deleted: LIMITS.deliveryWindow },
    });
    await b.waitForEnvelopes(total);
    await settle();
    expect(b.frames.envelopes).toEqual([LIMITS.deliveryWindow, 20]);
    expect(b.envelopes.map((e) => e.messageId)).toEqual(ids);
    const shown = [];
    for (const e of b.envelopes) shown.push(await decryptText(bob, e.senderDevice, e.ciphertext));
    expect(shown).toEqual(texts);
    await b.call('envelopes:ack', { messageIds: b.envelopes.slice(LIMITS.deliveryWindow).map((e) => e.messageId) });
    // Alice's phone takes its copies the same way.
    const a2 = await online(alice2);
    await a2.waitForEnvelopes(LIMITS.deliveryWindow);
    await a2.call('envelopes:ack', { messageIds: a2.envelopes.map((e) => e.messageId) });
    await a2.waitForEnvelopes(total);
    await a2.call('envelopes:ack', { messageIds: a2.envelopes.slice(LIMITS.deliveryWindow).map((e) => e.messageId) });
    expect(a2.frames.envelopes).toEqual([LIMITS.deliveryWindow, 20]);
    for (const c of [a1, a2, b]) c.close();
  });

  it("sends the receipts of one acknowledgement as one event to each sender's devices, and to no one else", async () => {
    const { alice1, alice2, bob, carol } = world;
    const [a1, a2, c] = [await online(alice1), await online(alice2), await online(carol)];
    const fromAlice = await sendAll(a1, alice1, 'vn-spp.bob', ['one', 'two', 'three']);
    const fromCarol = await sendAll(c, carol, 'vn-spp.bob', ['four', 'five']);
    const b = await online(bob);
    await b.waitForEnvelopes(5);
    await a2.waitForEnvelopes(3);
    await a2.call('envelopes:ack', { messageIds: a2.envelopes.map((e) => e.messageId) });
    await settle();
    // Copies for Alice's own other device make no receipt.
    expect(a1.receipts).toEqual([]);
    expect(await b.call('envelopes:ack', { messageIds: b.envelopes.map((e) => e.messageId) })).toEqual({
      ok: true,
      value: { deleted: 5 },
    });
    await a1.waitForReceipts(3);
    await a2.waitForReceipts(3);
    await c.waitForReceipts(2);
    await settle();
    for (const [connection, ids] of [
      [a1, fromAlice],
      [a2, fromAlice],
      [c, fromCarol],
    ] as const) {
      expect(connection.frames.receipts).toEqual([ids.length]);
      expect(connection.receipts.map((r) => [r.messageId, r.status, r.contactPointId, r.deviceId])).toEqual(
        ids.map((id) => [id, 'delivered', 'vn-spp.bob', bob.id]),
      );
    }
    // A person's acknowledgement is an event of one receipt.
    expect(await b.call('acknowledge', { messageId: fromCarol[0] as string })).toMatchObject({ ok: true });
    await c.waitForReceipts(3);
    expect(c.frames.receipts).toEqual([2, 1]);
    expect(c.receipts.at(-1)).toMatchObject({ messageId: fromCarol[0], status: 'acknowledged' });
    await settle();
    expect(a1.frames.receipts).toEqual([3]);
    for (const x of [a1, a2, b, c]) x.close();
  });

  it('cuts a frame of large envelopes at the ciphertext a send may carry', async () => {
    const { alice1, alice2, bob } = world;
    const a1 = await online(alice1);
    // About 60 KB of ciphertext each: 80 of them are more than one send may carry (4 MiB).
    const texts = Array.from({ length: 80 }, (_, i) => `${i} `.padEnd(60_000, 'x'));
    const ids = await sendAll(a1, alice1, 'vn-spp.bob', texts);
    const b = await online(bob);
    await b.waitForEnvelopes(ids.length, 10_000);
    await settle();
    expect(b.envelopes.map((e) => e.messageId)).toEqual(ids);
    expect(b.frames.envelopes.length).toBeGreaterThan(1);
    let start = 0;
    for (const n of b.frames.envelopes) {
      const bytes = b.envelopes.slice(start, start + n).reduce((sum, e) => sum + (e.ciphertext.length * 3) / 4, 0);
      expect(bytes).toBeLessThanOrEqual(LIMITS.maxPushedCiphertextBytes);
      start += n;
    }
    await b.call('envelopes:ack', { messageIds: ids });
    const a2 = await online(alice2);
    await a2.waitForEnvelopes(ids.length, 10_000);
    await a2.call('envelopes:ack', { messageIds: ids });
    for (const x of [a1, a2, b]) x.close();
  });
});
