import { certifyDevice, type LiaisonError } from '@liaison/client';
import { exportRecord } from '@liaison/client/records';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient } from './harness/clients.js';
import { testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { until } from './harness/until.js';

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
    // Many devices authenticate from this one address in a few seconds.
    relay = await startTestRelay('pglite', { trustedRoots: [net.root], authAttemptsPerMinute: 10_000 });
  });
  afterAll(() => relay.stop());

  /** A sender online, a recipient created but offline (so the relay holds what is sent to it). */
  async function setup() {
    pair += 1;
    const senderDevice = await net.authority('th-oag', 'TH').contactPoint(`s${pair}`).addDevice();
    const sender = await startClient(relay.url, senderDevice, [net.root]);
    const recipientContactPoint = net.authority('vn-spp', 'VN').contactPoint(`r${pair}`);
    const recipientDevice = await recipientContactPoint.addDevice();
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
    return { sender, senderDevice, to, recipientContactPoint, recipientDevice, online };
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

  it('alters a signed receipt on its way back to the sender: not kept, reported; the one it left alone is kept', async () => {
    const { sender, senderDevice, to, online } = await setup();
    const { messageId } = await sender.client.send(to, { text: 'a request, to be receipted' });
    await sender.client.close();
    // The recipient's device receives it and signs receipts back; they wait at the relay for the sender.
    const { recipient } = await online();
    await recipient.waitForMessages(1);
    const waiting = async () =>
      (
        await sql<{
          message_id: string;
          ciphertext: Uint8Array;
        }>`select message_id, ciphertext from envelopes where recipient_device = ${senderDevice.id} order by seq`.execute(
          db(),
        )
      ).rows;
    await until(async () => (await waiting()).length === 1, 'the delivery receipt, waiting for the sender');
    await recipient.client.acknowledge(messageId);
    await until(async () => (await waiting()).length === 2, 'the acknowledgement, waiting for the sender');
    await recipient.client.close();
    // One bit of the envelope carrying the delivery receipt is flipped.
    const [delivered] = await waiting();
    const altered = Uint8Array.from(delivered?.ciphertext ?? []);
    const last = altered.length - 1;
    altered[last] = (altered[last] as number) ^ 1;
    await sql`update envelopes set ciphertext = ${altered} where message_id = ${delivered?.message_id} and recipient_device = ${senderDevice.id}`.execute(
      db(),
    );
    const back = await startClient(relay.url, senderDevice, [net.root]);
    await until(() => back.errors.length > 0 && back.evidence.length > 0, 'a refusal and a receipt');
    await settle();
    expect(errorCodes(back.errors)).toEqual(['DECRYPT_FAILED']);
    expect(back.evidence.map((r) => [r.kind, r.messageId])).toEqual([['acknowledged', messageId]]);
    const { record } = await exportRecord(back.client, { conversation: to });
    expect(record.entries.flatMap((e) => (e.type === 'receipt' ? [e.receipt.kind] : []))).toEqual(['acknowledged']);
    await back.client.close();
  });

  it('strips the one-time prekeys from the bundle: the session starts without them', async () => {
    const { sender, to, recipientDevice, online } = await setup();
    await sql`delete from one_time_prekeys where device_id = ${recipientDevice.id}`.execute(db());
    await sender.client.send(to, { text: 'no one-time prekey' });
    const { recipient } = await online();
    expect((await recipient.waitForMessages(1))[0]?.text).toBe('no one-time prekey');
  });

  /** What the relay holds for a device, to show that a refused send left nothing behind. */
  const envelopesFor = async (deviceId: string) =>
    (
      await sql<{ n: number }>`select count(*)::int as n from envelopes where recipient_device = ${deviceId}`.execute(
        db(),
      )
    ).rows[0]?.n;

  it('strips the KEM prekeys of a device certified for hybrid sessions: the send is refused, nothing is sent', async () => {
    const { sender, to, recipientDevice, online } = await setup();
    await sql`delete from one_time_kem_prekeys where device_id = ${recipientDevice.id}`.execute(db());
    await sql`delete from last_resort_kem_prekeys where device_id = ${recipientDevice.id}`.execute(db());
    const refused = await sender.client.send(to, { text: 'never classical' }).catch((e: LiaisonError) => e);
    expect((refused as LiaisonError).code).toBe('DOWNGRADE_REFUSED');
    expect(await envelopesFor(recipientDevice.id)).toBe(0);
    expect((await sender.client.sessions(to))[0]?.protection).toBe('none');
    // Once the device is back and has published its KEM prekeys again, it is reached, hybrid.
    const { recipient } = await online();
    await sender.client.send(to, { text: 'hybrid' });
    expect((await recipient.waitForMessages(1))[0]?.text).toBe('hybrid');
    expect((await sender.client.sessions(to))[0]?.protection).toBe('hybrid');
  });

  it('serves the certificate from before the device spoke hybrid sessions and strips its KEM prekeys: still refused', async () => {
    const { sender, to, recipientContactPoint, recipientDevice } = await setup();
    // The sender's application showed this contact point: its SDK verified the pq-hybrid certificate.
    expect((await sender.client.sessions(to))[0]?.speaksHybrid).toBe(true);
    // The certificate the device had before it was certified for hybrid sessions: genuine, same key, still valid.
    const { capabilities: _, signature: __, ...body } = recipientDevice.chain.device;
    const older = certifyDevice(recipientContactPoint.accountKeys, {
      ...body,
      notBefore: body.notBefore - 1000,
    });
    await sql`update devices set certificate = ${JSON.stringify(older)} where device_id = ${recipientDevice.id}`.execute(
      db(),
    );
    await sql`delete from one_time_kem_prekeys where device_id = ${recipientDevice.id}`.execute(db());
    await sql`delete from last_resort_kem_prekeys where device_id = ${recipientDevice.id}`.execute(db());
    const refused = await sender.client.send(to, { text: 'never classical' }).catch((e: LiaisonError) => e);
    expect((refused as LiaisonError).code).toBe('DOWNGRADE_REFUSED');
    expect(await envelopesFor(recipientDevice.id)).toBe(0);
  });

  it("substitutes the KEM prekey (another key under its signature, another device's signed key): refused, nothing is sent", async () => {
    const { sender, to, recipientDevice } = await setup();
    const stranger = await net.authority('ph-doj', 'PH').contactPoint(`stranger${pair}`).addDevice();
    await startClient(relay.url, stranger, [net.root]).then((c) => c.client.close());
    const strangers = (
      await sql<{ public_key: string; signature: string }>`
        select public_key, signature from last_resort_kem_prekeys where device_id = ${stranger.id}`.execute(db())
    ).rows[0];
    if (!strangers) throw new Error('the stranger has no last-resort KEM prekey');
    for (const table of ['one_time_kem_prekeys', 'last_resort_kem_prekeys']) {
      await sql`update ${sql.table(table)} set public_key = ${strangers.public_key} where device_id = ${recipientDevice.id}`.execute(
        db(),
      );
    }
    const anotherKey = await sender.client.send(to, { text: 'x' }).catch((e: LiaisonError) => e);
    expect((anotherKey as LiaisonError).code).toBe('BAD_SIGNATURE');
    for (const table of ['one_time_kem_prekeys', 'last_resort_kem_prekeys']) {
      await sql`update ${sql.table(table)} set signature = ${strangers.signature} where device_id = ${recipientDevice.id}`.execute(
        db(),
      );
    }
    const anotherDevice = await sender.client.send(to, { text: 'x' }).catch((e: LiaisonError) => e);
    expect((anotherDevice as LiaisonError).code).toBe('BAD_SIGNATURE');
    expect(await envelopesFor(recipientDevice.id)).toBe(0);
    expect((await sender.client.sessions(to))[0]?.protection).toBe('none');
  });

  /** Another real, registered contact point of the network: the one the relay pretends sent things. */
  async function otherContactPoint(name: string) {
    const contactPoint = net.authority('ph-doj', 'PH').contactPoint(`${name}${pair}`);
    const device = await contactPoint.addDevice();
    const client = await startClient(relay.url, device, [net.root]);
    return { contactPoint, device, client };
  }
  const errorCodes = (errors: LiaisonError[]) => errors.map((e) => e.code);

  describe("unknown key-share: a colluding contact point certifies the sender's device key as its own", () => {
    /** The relay lists the sender's device under the colluder, with the colluder's valid certificate, and relabels the message. */
    async function passOff(
      senderDevice: string,
      colluder: Awaited<ReturnType<typeof otherContactPoint>>,
      messageId: string,
    ) {
      const now = Date.now();
      const borrowed = certifyDevice(colluder.contactPoint.accountKeys, {
        contactPointId: colluder.contactPoint.id,
        deviceId: senderDevice,
        deviceName: 'Office laptop',
        notBefore: now - 60_000,
        notAfter: now + 24 * 3600_000,
      });
      await sql`update devices set contact_point_id = ${colluder.contactPoint.id}, certificate = ${JSON.stringify(borrowed)}::jsonb where device_id = ${senderDevice}`.execute(
        db(),
      );
      await sql`update messages set sender_contact_point = ${colluder.contactPoint.id} where message_id = ${messageId}`.execute(
        db(),
      );
    }

    it("a first message: never shown under the colluder's verified name", async () => {
      const { sender, to, online } = await setup();
      const colluder = await otherContactPoint('c');
      const { messageId } = await sender.client.send(to, { text: 'words of the real sender' });
      await passOff(sender.client.deviceId, colluder, messageId);
      const { recipient, errors } = await online();
      await until(() => errors.length + recipient.messages.length > 0, 'a message or a refusal');
      await settle();
      expect(recipient.messages).toEqual([]);
      expect(errorCodes(errors)).toEqual(['DECRYPT_FAILED']);
      await colluder.client.client.close();
    });

    it('within a session: the device stays its first contact point’s, and the relabelled message is refused', async () => {
      const { sender, to, online } = await setup();
      const colluder = await otherContactPoint('d');
      await sender.client.send(to, { text: 'first, genuine' });
      const first = await online();
      await first.recipient.waitForMessages(1);
      await settle();
      await first.recipient.client.close();
      const { messageId } = await sender.client.send(to, { text: 'second, to be passed off' });
      await passOff(sender.client.deviceId, colluder, messageId);
      const { recipient, errors } = await online();
      await until(() => errors.length + recipient.messages.length > 0, 'a message or a refusal');
      await settle();
      expect(first.recipient.messages.map((m) => [m.sender.contactPointId, m.text])).toEqual([
        [sender.client.contactPointId, 'first, genuine'],
      ]);
      expect(recipient.messages).toEqual([]);
      expect(errorCodes(errors)).toEqual(['UNTRUSTED_IDENTITY']);
      await colluder.client.client.close();
    });
  });

  it('re-sends a kept message under another sender: the kept text is not shown as theirs', async () => {
    const { sender, to, recipientDevice, online } = await setup();
    const carol = await otherContactPoint('e');
    const { messageId } = await sender.client.send(to, { text: 'kept while the application failed' });
    // The application fails on the message: the SDK keeps the plaintext and does not acknowledge it.
    const failing = await startClient(relay.url, recipientDevice, [net.root], { connect: false });
    failing.client.on('message', () => {
      throw new Error('the application could not store it');
    });
    const failures: LiaisonError[] = [];
    failing.client.on('error', (e) => {
      failures.push(e);
    });
    await failing.client.connect();
    await until(() => failures.length > 0, 'the application failure');
    await failing.client.close();
    // The relay re-sends the id as from Carol's real device, with bytes of its own.
    await sql`update messages set sender_device = ${carol.device.id}, sender_contact_point = ${carol.contactPoint.id} where message_id = ${messageId}`.execute(
      db(),
    );
    await sql`update envelopes set ciphertext = ${new Uint8Array(300).fill(7)} where message_id = ${messageId}`.execute(
      db(),
    );
    const { recipient, errors } = await online();
    await until(() => errors.length + recipient.messages.length > 0, 'a message or a refusal');
    await settle();
    expect(recipient.messages).toEqual([]);
    expect(errorCodes(errors)).toEqual([
      expect.stringMatching(/NO_SESSION|INVALID_MESSAGE|UNSUPPORTED_VERSION|DECRYPT_FAILED/),
    ]);
    await carol.client.client.close();
  });

  describe("rewrites what the sender sealed: the envelope's id, priority, deadline or level", () => {
    const rewrites: [string, (messageId: string) => Promise<unknown>, boolean][] = [
      [
        'another message id',
        async (messageId) => {
          const other = crypto.randomUUID();
          await sql`insert into messages select ${other}::uuid, sender_device, sender_contact_point, recipient_contact_point, priority, created_at, server_time, deadline from messages where message_id = ${messageId}`.execute(
            db(),
          );
          await sql`update envelopes set message_id = ${other} where message_id = ${messageId}`.execute(db());
        },
        false,
      ],
      [
        'a normal message made urgent, with an invented deadline',
        (messageId) =>
          Promise.all([
            sql`update messages set priority = 'urgent', deadline = ${Date.now() + 60_000} where message_id = ${messageId}`.execute(
              db(),
            ),
            sql`update envelopes set deadline = ${Date.now() + 60_000} where message_id = ${messageId}`.execute(db()),
          ]),
        false,
      ],
      [
        'an urgent message made normal',
        (messageId) =>
          Promise.all([
            sql`update messages set priority = 'normal', deadline = null where message_id = ${messageId}`.execute(db()),
            sql`update envelopes set deadline = null where message_id = ${messageId}`.execute(db()),
          ]),
        true,
      ],
      [
        'an urgent copy moved to another escalation level',
        (messageId) => sql`update envelopes set escalation_level = 1 where message_id = ${messageId}`.execute(db()),
        true,
      ],
    ];
    it.each(rewrites)('%s: refused, not shown', async (_, rewrite, urgent) => {
      const { sender, to, online } = await setup();
      const { messageId } = await sender.client.send(
        to,
        { text: 'sealed' },
        urgent ? { urgent: { acknowledgeWithin: 600_000 } } : {},
      );
      await rewrite(messageId);
      const { recipient, errors } = await online();
      await until(() => errors.length + recipient.messages.length > 0, 'a message or a refusal');
      await settle();
      expect(recipient.messages).toEqual([]);
      expect(errorCodes(errors)).toEqual(['ENVELOPE_MISMATCH']);
      // Nothing else was harmed: the next message arrives as sent.
      await sender.client.send(to, { text: 'next' });
      expect((await recipient.waitForMessages(1))[0]).toMatchObject({
        text: 'next',
        priority: 'normal',
        sender: { contactPointId: sender.client.contactPointId },
      });
    });
  });
});
