import type { LiaisonError } from '@liaison/client';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient } from './harness/clients.js';
import { testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';

/**
 * The relay misbehaves on purpose, by rewriting its own storage between a send and a delivery.
 * Whatever it does, the application is never shown a wrong plaintext, a wrong sender, or a
 * message twice, and the session goes on working.
 */
describe('the SDK against a relay that misbehaves', () => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let pair = 0;

  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay('pglite', { trustedRoots: [net.root] });
  });
  afterAll(() => relay.stop());

  /** A sender online, a recipient created but offline (so the relay holds what is sent to it). */
  async function setup() {
    pair += 1;
    const sender = await startClient(
      relay.url,
      await net.authority('th-oag', 'TH').contactPoint(`s${pair}`).addDevice(),
      [net.root],
    );
    const recipientDevice = await net.authority('vn-spp', 'VN').contactPoint(`r${pair}`).addDevice();
    const offline = await startClient(relay.url, recipientDevice, [net.root]);
    await offline.client.close();
    const to = `vn-spp.r${pair}`;
    const online = async () => {
      const recipient = await startClient(relay.url, recipientDevice, [net.root], { connect: false });
      const errors: LiaisonError[] = [];
      recipient.client.on('error', (e) => {
        errors.push(e);
      });
      await recipient.client.connect();
      return { recipient, errors };
    };
    return { sender, to, recipientDevice, online };
  }
  const db = () => relay.relay.db;
  const settle = () => new Promise((r) => setTimeout(r, 300));

  it('replays an envelope already delivered: shown once', async () => {
    const { sender, to, online } = await setup();
    const { messageId } = await sender.client.send(to, { text: 'once' });
    const [row] = (await sql`select * from envelopes where message_id = ${messageId}`.execute(db())).rows as Record<
      string,
      unknown
    >[];
    const first = await online();
    await first.recipient.waitForMessages(1);
    await settle();
    await first.recipient.client.close();
    // The relay puts the acknowledged envelope back; the device, restarted, gets it again.
    const { seq: _, ...copy } = row as Record<string, unknown>;
    await db()
      .insertInto('envelopes')
      .values(copy as never)
      .execute();
    const second = await online();
    await settle();
    expect(first.recipient.messages.map((m) => m.text)).toEqual(['once']);
    expect(second.recipient.messages).toEqual([]);
    expect(
      Number(
        (
          await sql<{ n: number }>`select count(*)::int as n from envelopes where message_id = ${messageId}`.execute(
            db(),
          )
        ).rows[0]?.n,
      ),
    ).toBe(0);
    await second.recipient.client.close();
  });

  it('duplicates a ciphertext under a new message id: not shown twice', async () => {
    const { sender, to, online } = await setup();
    const { messageId } = await sender.client.send(to, { text: 'original' });
    const twin = crypto.randomUUID();
    await sql`insert into messages select ${twin}::uuid, sender_device, sender_contact_point, recipient_contact_point, priority, created_at, server_time, deadline from messages where message_id = ${messageId}`.execute(
      db(),
    );
    await sql`insert into envelopes (message_id, recipient_device, kind, ciphertext, escalation_level, expires_at) select ${twin}::uuid, recipient_device, kind, ciphertext, escalation_level, expires_at from envelopes where message_id = ${messageId}`.execute(
      db(),
    );
    const { recipient } = await online();
    await recipient.waitForMessages(1);
    await settle();
    expect(recipient.messages.map((m) => m.text)).toEqual(['original']);
    await sender.client.send(to, { text: 'and the session goes on' });
    expect((await recipient.waitForMessages(2)).at(-1)?.text).toBe('and the session goes on');
  });

  it('reorders and drops envelopes: what arrives decrypts, once, and the session goes on', async () => {
    const { sender, to, online } = await setup();
    const ids = [];
    for (const text of ['m1', 'm2', 'm3', 'm4']) ids.push((await sender.client.send(to, { text })).messageId);
    // Deliver in reverse order, and never m2.
    await sql`delete from envelopes where message_id = ${ids[1]}`.execute(db());
    await sql`update envelopes set seq = seq + 1000000 - 2 * seq where message_id in (${sql.join(ids)})`.execute(db());
    const { recipient, errors } = await online();
    await recipient.waitForMessages(3);
    expect(recipient.messages.map((m) => m.text)).toEqual(['m4', 'm3', 'm1']);
    expect(errors).toEqual([]);
    await sender.client.send(to, { text: 'm5' });
    expect((await recipient.waitForMessages(4)).at(-1)?.text).toBe('m5');
  });

  it('delivers garbage as ciphertext: reported, never shown, and the session is untouched', async () => {
    const { sender, to, online } = await setup();
    const { messageId } = await sender.client.send(to, { text: 'real' });
    const garbage = crypto.randomUUID();
    await sql`insert into messages select ${garbage}::uuid, sender_device, sender_contact_point, recipient_contact_point, priority, created_at, server_time, deadline from messages where message_id = ${messageId}`.execute(
      db(),
    );
    for (const bytes of [new Uint8Array(300).fill(1), Uint8Array.of(1, 1, ...new Uint8Array(60))]) {
      await sql`insert into envelopes (message_id, recipient_device, kind, ciphertext, escalation_level, expires_at) select ${garbage}::uuid, recipient_device, 'message', ${bytes}, 0, expires_at from envelopes where message_id = ${messageId}`
        .execute(db())
        .catch(() => undefined);
    }
    const { recipient, errors } = await online();
    await recipient.waitForMessages(1);
    await settle();
    expect(recipient.messages.map((m) => m.text)).toEqual(['real']);
    expect(errors.map((e) => e.code)).toEqual([
      expect.stringMatching(/INVALID_MESSAGE|DECRYPT_FAILED|TOO_MANY_SKIPPED/),
    ]);
    await sender.client.send(to, { text: 'still fine' });
    expect((await recipient.waitForMessages(2)).at(-1)?.text).toBe('still fine');
  });

  it('claims a false sender: the message is not shown as from someone who did not send it', async () => {
    const { sender, to, online } = await setup();
    const carol = await startClient(
      relay.url,
      await net.authority('ph-doj', 'PH').contactPoint(`c${pair}`).addDevice(),
      [net.root],
    );
    const { messageId } = await sender.client.send(to, { text: 'from the real sender' });
    await sql`update messages set sender_device = ${carol.client.deviceId}, sender_contact_point = ${carol.client.contactPointId} where message_id = ${messageId}`.execute(
      db(),
    );
    const { recipient, errors } = await online();
    await settle();
    await settle();
    expect(recipient.messages).toEqual([]);
    expect(errors.length).toBe(1);
    await carol.client.close();
  });

  it('strips the one-time prekeys from the bundle: the session starts without them', async () => {
    const { sender, to, recipientDevice, online } = await setup();
    await sql`delete from one_time_prekeys where device_id = ${recipientDevice.id}`.execute(db());
    await sender.client.send(to, { text: 'no one-time prekey' });
    const { recipient } = await online();
    expect((await recipient.waitForMessages(1))[0]?.text).toBe('no one-time prekey');
  });
});
