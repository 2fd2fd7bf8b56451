import {
  certifyDevice,
  currentSignedPrekey,
  generateIdentityKeyPair,
  isLiaisonError,
  LiaisonError,
  PEER_CACHE_LIMITS,
  revoke,
} from '@liaison/client';
import { encodeBase64url } from '@liaison/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { http } from './harness/device-client.js';
import { relayCounter } from './harness/metrics.js';
import { testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';
import { until } from './harness/until.js';

describe('LiaisonClient against a relay process', () => {
  let relay: RelayProcess;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  const clients: TestClient[] = [];
  const start = async (...args: Parameters<typeof startClient>) => {
    const c = await startClient(...args);
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    net = await testNetwork();
    relay = await spawnRelay([net.root]);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await relay.stop();
  });

  it('gives every device of both contact points every message once, in order, with the sender verified', async () => {
    const alice = net.authority('th-oag', 'TH').contactPoint('alice', { displayName: 'Alice Chai' });
    const bob = net.authority('vn-spp', 'VN').contactPoint('bob');
    const [a1, a2, b1, b2] = await Promise.all([
      alice.addDevice('Alice office').then((d) => start(relay.url, d, [net.root])),
      alice.addDevice('Alice phone').then((d) => start(relay.url, d, [net.root])),
      bob.addDevice('Bob office').then((d) => start(relay.url, d, [net.root])),
      bob.addDevice('Bob phone').then((d) => start(relay.url, d, [net.root])),
    ]);
    const texts = ['Request for assistance: bank records', 'Annex A follows', 'Please confirm receipt'];
    for (const text of texts) {
      await a1.client.send('vn-spp.bob', {
        text,
        subject: 'MLA 2026/114',
        reference: 'TH-OAG-114',
        handling: ['purpose-limited'],
      });
    }
    for (const b of [b1, b2]) {
      const got = await b.waitForMessages(3);
      expect(got.map((m) => m.text)).toEqual(texts);
      expect(got[0]).toMatchObject({
        direction: 'incoming',
        to: 'vn-spp.bob',
        subject: 'MLA 2026/114',
        reference: 'TH-OAG-114',
        handling: ['purpose-limited'],
        sender: {
          contactPointId: 'th-oag.alice',
          displayName: 'Alice Chai',
          country: 'TH',
          networkId: 'seajust',
          deviceName: 'Alice office',
          identity: 'new',
        },
      });
    }
    const copies = await a2.waitForMessages(3);
    expect(copies.map((m) => [m.direction, m.to, m.text])).toEqual(texts.map((t) => ['outgoing', 'vn-spp.bob', t]));

    await b1.client.send('th-oag.alice', { text: 'Received, we are on it' });
    for (const a of [a1, a2])
      expect((await a.waitForMessages(a === a1 ? 1 : 4)).at(-1)?.text).toBe('Received, we are on it');
    expect((await b2.waitForMessages(4)).at(-1)).toMatchObject({
      direction: 'outgoing',
      text: 'Received, we are on it',
    });

    // Receipts: every device of bob delivered; a person acknowledged.
    const first = b1.messages[0]?.messageId as string;
    await b1.client.acknowledge(first);
    await a1.waitForReceipts((r) => r.some((x) => x.status === 'acknowledged' && x.messageId === first));
    const delivered = a1.receipts
      .filter((r) => r.messageId === first && r.status === 'delivered')
      .map((r) => r.deviceId);
    expect(new Set(delivered)).toEqual(new Set([b1.client.deviceId, b2.client.deviceId]));
    for (const c of [a1, a2, b1, b2]) await c.client.close();
  });

  it('delivers what was queued while the recipient was offline, in order, across a relay restart', async () => {
    const sender = await start(relay.url, await net.authority('th-oag', 'TH').contactPoint('s1').addDevice(), [
      net.root,
    ]);
    const offlineDevice = await net.authority('ph-doj', 'PH').contactPoint('r1').addDevice();
    const recipient = await start(relay.url, offlineDevice, [net.root]);
    await recipient.client.close();
    for (let i = 0; i < 5; i++) await sender.client.send('ph-doj.r1', { text: `queued ${i}` });
    await relay.restart();
    const again = await start(relay.url, offlineDevice, [net.root]);
    expect((await again.waitForMessages(5)).map((m) => m.text)).toEqual([0, 1, 2, 3, 4].map((i) => `queued ${i}`));
    // The sender's client reconnected by itself (with a fresh proof) and sends live again.
    await sender.client.send('ph-doj.r1', { text: 'after the restart' });
    expect((await again.waitForMessages(6)).at(-1)?.text).toBe('after the restart');
    for (const c of [sender, again]) await c.client.close();
  });

  it('redelivers to a recipient that died before acknowledging, and shows the message once', async () => {
    const sender = await start(relay.url, await net.authority('th-oag', 'TH').contactPoint('s2').addDevice(), [
      net.root,
    ]);
    const device = await net.authority('ph-doj', 'PH').contactPoint('r2').addDevice();
    const first = await startClient(relay.url, device, [net.root]);
    let shown = 0;
    first.client.on('message', () => {
      shown += 1;
      // The process dies right after the application got the message, before the relay hears of it.
      (first.client as unknown as { connection: { close(): void } }).connection.close();
    });
    await sender.client.send('ph-doj.r2', { text: 'only once' });
    await first.waitForMessages(1);
    const second = await start(relay.url, device, [net.root]);
    second.client.on('message', () => {
      shown += 1;
    });
    await sender.client.send('ph-doj.r2', { text: 'and then this' });
    expect((await second.waitForMessages(1)).map((m) => m.text)).toEqual(['and then this']);
    expect(shown).toBe(2);
    await sender.client.close();
  });

  it('never acknowledges what its key store failed to keep: the relay offers it again and it is shown', async () => {
    const sender = await start(relay.url, await net.authority('th-oag', 'TH').contactPoint('s5').addDevice(), [
      net.root,
    ]);
    const device = await net.authority('ph-doj', 'PH').contactPoint('r5').addDevice();
    // The store refuses the first write of a received message (closed for a lock screen, or full).
    const setState = device.store.setState.bind(device.store);
    let refused = 0;
    device.store.setState = async (name, value) => {
      if (name.startsWith('inbox:') && refused === 0) {
        refused += 1;
        throw new LiaisonError('KEY_STORE_LOCKED', 'this key store was closed; open it again');
      }
      return setState(name, value);
    };
    const first = await startClient(relay.url, device, [net.root]);
    const errors: string[] = [];
    first.client.on('error', (error) => errors.push(error.code));
    await sender.client.send('ph-doj.r5', { text: 'kept until stored' });
    await until(() => refused === 1 && errors.includes('KEY_STORE_LOCKED'), 'the refused write, reported');
    // Envelopes are handled and acknowledged in order: once the next one is shown, whatever the
    // client was to say of the first is said.
    await sender.client.send('ph-doj.r5', { text: 'the next one' });
    expect((await first.waitForMessages(1)).map((m) => m.text)).toEqual(['the next one']);
    await first.client.close();
    // The application opens the store again and reconnects: the relay still holds the envelope.
    const again = await start(relay.url, device, [net.root]);
    expect((await again.waitForMessages(1)).map((m) => m.text)).toEqual(['kept until stored']);
  });

  it('never acknowledges a message whose session record it cannot read (a newer SDK wrote it): offered again once it reads', async () => {
    const senderDevice = await net.authority('th-oag', 'TH').contactPoint('s6').addDevice();
    const sender = await start(relay.url, senderDevice, [net.root]);
    const device = await net.authority('ph-doj', 'PH').contactPoint('r6').addDevice();
    const first = await startClient(relay.url, device, [net.root]);
    await sender.client.send('ph-doj.r6', { text: 'the session begins' });
    await first.waitForMessages(1);
    // The receiver's signed receipt has reached the sender: its session record is saved and settled.
    await until(() => sender.evidence.length > 0, "the receiver's receipt");
    await first.client.close();
    // A newer SDK opened this key store and wrote the record in a format this one does not know.
    const setFormat = async (format: number) => {
      const bytes = (await device.store.getSession(senderDevice.id)) as Uint8Array;
      bytes[3] = format;
      await device.store.putSession(senderDevice.id, bytes);
    };
    await setFormat(4);
    const second = await startClient(relay.url, device, [net.root]);
    await sender.client.send('ph-doj.r6', { text: 'kept while unreadable' });
    await until(() => second.errors.some((e) => e.code === 'KEY_STORE_UNREADABLE'), 'the unreadable record, reported');
    expect(second.messages).toEqual([]);
    await second.client.close();
    // The record reads again (the newer SDK is back): the relay still holds the envelope.
    await setFormat(3);
    const again = await start(relay.url, device, [net.root]);
    expect((await again.waitForMessages(1)).map((m) => m.text)).toEqual(['kept while unreadable']);
  });

  it('wipes the session secrets it kept decoded when closed, as a lock screen needs', async () => {
    const senderDevice = await net.authority('th-oag', 'TH').contactPoint('s7').addDevice();
    const sender = await start(relay.url, senderDevice, [net.root]);
    const receiver = await startClient(relay.url, await net.authority('ph-doj', 'PH').contactPoint('r7').addDevice(), [
      net.root,
    ]);
    await sender.client.send('ph-doj.r7', { text: 'before the lock screen' });
    await receiver.waitForMessages(1);
    await until(() => sender.evidence.length > 0, "the receiver's receipt");
    // The client's session cipher is private: read here on purpose, it is what memory would show.
    const cipher = (receiver.client as unknown as { cipher: { decoded: Map<string, Kept> } }).cipher;
    type Kept = { bytes: Uint8Array; record: { current?: { ratchet: { rootKey: Uint8Array } } } };
    const kept = cipher.decoded.get(senderDevice.id);
    const bytes = kept?.bytes as Uint8Array;
    const rootKey = kept?.record.current?.ratchet.rootKey as Uint8Array;
    expect(bytes.some((b) => b !== 0) && rootKey.some((b) => b !== 0)).toBe(true);
    await receiver.client.close();
    expect(cipher.decoded.size).toBe(0);
    expect(bytes.every((b) => b === 0) && rootKey.every((b) => b === 0)).toBe(true);
  });

  it('reaches a device added mid-conversation, from the moment it is added', async () => {
    const sender = await start(relay.url, await net.authority('th-oag', 'TH').contactPoint('s3').addDevice(), [
      net.root,
    ]);
    const bobCp = net.authority('vn-spp', 'VN').contactPoint('r3');
    const first = await start(relay.url, await bobCp.addDevice('Office'), [net.root]);
    await sender.client.send('vn-spp.r3', { text: 'before' });
    await first.waitForMessages(1);
    const added = await start(relay.url, await bobCp.addDevice('Phone, added later'), [net.root]);
    // The sender's cached device list is now stale: the relay's DEVICE_MISMATCH makes it refresh and resend.
    await sender.client.send('vn-spp.r3', { text: 'after' });
    expect((await added.waitForMessages(1)).map((m) => m.text)).toEqual(['after']);
    expect((await first.waitForMessages(2)).map((m) => m.text)).toEqual(['before', 'after']);
    // And what the new device sends, the older one sees as sent by its contact point.
    await added.client.send('th-oag.s3', { text: 'from the new phone' });
    expect((await first.waitForMessages(3)).at(-1)).toMatchObject({
      direction: 'outgoing',
      text: 'from the new phone',
    });
    for (const c of [sender, first, added]) await c.client.close();
  });

  it('decrypts both first messages when both sides start a session at once', async () => {
    const a = await start(relay.url, await net.authority('th-oag', 'TH').contactPoint('sim-a').addDevice(), [net.root]);
    const b = await start(relay.url, await net.authority('vn-spp', 'VN').contactPoint('sim-b').addDevice(), [net.root]);
    await Promise.all([
      a.client.send('vn-spp.sim-b', { text: 'from a' }),
      b.client.send('th-oag.sim-a', { text: 'from b' }),
    ]);
    expect((await b.waitForMessages(1))[0]?.text).toBe('from a');
    expect((await a.waitForMessages(1))[0]?.text).toBe('from b');
    await a.client.send('vn-spp.sim-b', { text: 'again from a' });
    await b.client.send('th-oag.sim-a', { text: 'again from b' });
    expect((await b.waitForMessages(2))[1]?.text).toBe('again from a');
    expect((await a.waitForMessages(2))[1]?.text).toBe('again from b');
    expect(await a.client.safetyNumber('vn-spp.sim-b')).toBe(await b.client.safetyNumber('th-oag.sim-a'));
    expect(await a.client.safetyNumber('vn-spp.sim-b')).toMatch(/^(\d{5} ){11}\d{5}$/);
  });

  it('stops trusting a peer device revoked while it runs: refused on the next send within the bound, and what it sent not shown', async () => {
    // A client that verified a device once used to trust it until the application restarted; now
    // it asks the relay again within the bound (docs/client.md). Alice's clock is the test's to
    // move: the bound passes without waiting for it.
    let skew = 0;
    const aliceDevice = await net.authority('th-oag', 'TH').contactPoint('rv-alice').addDevice('Alice office');
    const alice = await start(relay.url, aliceDevice, [net.root], { now: () => Date.now() + skew });
    const bob = net.authority('vn-spp', 'VN').contactPoint('rv-bob');
    const office = await start(relay.url, await bob.addDevice('Bob office'), [net.root]);
    const laptopDevice = await bob.addDevice('Bob laptop');
    const laptop = await start(relay.url, laptopDevice, [net.root]);
    const errors: LiaisonError[] = [];
    alice.client.on('error', (e) => {
      errors.push(e);
    });

    // Both of Bob's devices and Alice know each other: every verification is cached on both sides.
    await laptop.client.send('th-oag.rv-alice', { text: 'from the laptop' });
    await alice.waitForMessages(1);
    await office.client.send('th-oag.rv-alice', { text: 'from the office' });
    expect((await alice.waitForMessages(2)).map((m) => [m.text, m.sender.deviceName])).toEqual([
      ['from the laptop', 'Bob laptop'],
      ['from the office', 'Bob office'],
    ]);
    await alice.client.send('vn-spp.rv-bob', { text: 'noted' });
    const shown = (c: TestClient, text: string) => until(() => c.messages.some((m) => m.text === text), text);
    await Promise.all([shown(office, 'noted'), shown(laptop, 'noted')]);
    // The laptop's signed receipt for it reaches Alice before the laptop is revoked: still on its
    // way, it would meet the revocation too and be refused, a second error (it did, on a loaded machine).
    await until(() => alice.evidence.some((r) => r.byDevice === laptopDevice.id), "the laptop's receipt at Alice");

    // Alice's application is busy with a message while the laptop sends one more; the laptop is
    // then stolen, and Bob revokes it before Alice's client gets to that message.
    let release = () => {};
    const busy = new Promise<void>((resolve) => {
      release = resolve;
    });
    alice.client.on('message', async (m) => {
      if (m.text === 'hold on') await busy;
    });
    await office.client.send('th-oag.rv-alice', { text: 'hold on' });
    await alice.waitForMessages(3);
    await laptop.client.send('th-oag.rv-alice', { text: 'sent from the stolen laptop' });
    const revocation = revoke(bob.accountKeys, {
      networkId: 'seajust',
      subject: 'device',
      subjectId: laptopDevice.id,
      reason: 'key-compromise',
      revokedAt: Date.now(),
    });
    expect((await http(relay.url, 'POST', '/v1/revocations', revocation)).body).toEqual({ applied: true });

    skew += PEER_CACHE_LIMITS.maxAgeMs;
    release();
    await until(() => errors.length > 0 || alice.messages.length > 3, "the laptop's last message handled");
    expect(alice.messages.map((m) => m.text)).toEqual(['from the laptop', 'from the office', 'hold on']);
    expect(errors.map((e) => e.code)).toEqual(['UNTRUSTED_IDENTITY']);
    expect(errors[0]?.message).toContain(laptopDevice.id);
    // Alice's signed delivery receipts for the three messages she showed reached Bob's office
    // (each send of them may have met the revocation): what follows is her next send alone.
    await until(() => office.evidence.length >= 3, "Alice's receipts at Bob's office");

    // Alice's next send is for the office alone: her client no longer encrypts for the laptop,
    // so the relay has nothing to refuse.
    // Bob's office is offline meanwhile, so that the count is of Alice's send alone (the office's
    // own receipts may still name the laptop it has not heard is revoked).
    await office.client.close();
    const refusedBefore = await relayCounter(relay.url, 'liaison_errors_total', 'code="DEVICE_MISMATCH"');
    await alice.client.send('vn-spp.rv-bob', { text: 'after the revocation' });
    expect(await relayCounter(relay.url, 'liaison_errors_total', 'code="DEVICE_MISMATCH"')).toBe(refusedBefore);
    await office.client.connect();
    await shown(office, 'after the revocation');
    expect(laptop.messages.map((m) => m.text)).not.toContain('after the revocation');
    expect(alice.messages.map((m) => m.text)).toEqual(['from the laptop', 'from the office', 'hold on']);
  });
});

describe('LiaisonClient against a hostile relay', () => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay('pglite', { trustedRoots: [net.root], logLevel: 'error' });
  });
  afterAll(() => relay.stop());

  async function refusal(promise: Promise<unknown>): Promise<LiaisonError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!isLiaisonError(error)) throw new Error(`expected a LiaisonError, got ${String(error)}`);
    return error;
  }

  it('refuses to sign a challenge bound to another relay than the one it talks to', async () => {
    const device = await net.authority('th-oag', 'TH').contactPoint('origin').addDevice();
    const client = await startClient(relay.url, device, [net.root], {
      connect: false,
      relayOrigin: 'https://another-relay.example',
    });
    const error = await refusal(client.client.connect());
    expect([error.code, error.message]).toEqual([
      'BAD_CHALLENGE',
      expect.stringContaining('https://another-relay.example'),
    ]);
  });

  it('refuses to encrypt to a device key the relay substituted', async () => {
    const sender = await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint('k1').addDevice(), [
      net.root,
    ]);
    const target = await net.authority('vn-spp', 'VN').contactPoint('k2').addDevice();
    await (await startClient(relay.url, target, [net.root])).client.close();
    // The relay swaps in a device certificate for a key of its own, signed by a key of its own.
    const forged = certifyDevice(generateIdentityKeyPair(), {
      ...target.chain.device,
      deviceId: encodeBase64url(new Uint8Array(32).fill(9)),
    });
    await sql`update devices set certificate = ${JSON.stringify(forged)}::jsonb where device_id = ${target.id}`.execute(
      relay.relay.db,
    );
    const error = await refusal(sender.client.send('vn-spp.k2', { text: 'must not leave' }));
    expect([error.code, error.message]).toEqual(['BAD_SIGNATURE', expect.stringContaining('account key')]);
    expect(
      Number((await sql<{ n: number }>`select count(*)::int as n from envelopes`.execute(relay.relay.db)).rows[0]?.n),
    ).toBe(0);
    await sender.client.close();
  });

  it('refuses a contact point whose chain ends at a root it does not trust', async () => {
    const sender = await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint('k3').addDevice(), [
      net.root,
    ]);
    const target = await net.authority('vn-spp', 'VN').contactPoint('k4').addDevice();
    await (await startClient(relay.url, target, [net.root])).client.close();
    const rogue = await testNetwork('seajust-official');
    const fake = rogue.authority('vn-spp', 'VN').contactPoint('k4');
    await sql`update contact_points set authority_certificate = ${JSON.stringify(fake.authority)}::jsonb, certificate = ${JSON.stringify(fake.certificate)}::jsonb where contact_point_id = 'vn-spp.k4'`.execute(
      relay.relay.db,
    );
    expect((await refusal(sender.client.send('vn-spp.k4', { text: 'x' }))).code).toBe('UNKNOWN_ROOT');
    const search = await sender.client.directory.search({ country: 'VN' });
    expect(search.rejected).toContainEqual(
      expect.objectContaining({ contactPointId: 'vn-spp.k4', code: 'UNKNOWN_ROOT' }),
    );
    expect(search.entries.map((e) => e.contactPoint.contactPoint.contactPointId)).not.toContain('vn-spp.k4');
    await sender.client.close();
  });

  it("blocks sending when a verified peer's key changes, until the user accepts it", async () => {
    const senderDevice = await net.authority('th-oag', 'TH').contactPoint('k5').addDevice();
    const sender = await startClient(relay.url, senderDevice, [net.root]);
    const vn = net.authority('vn-spp', 'VN');
    const target = vn.contactPoint('k6');
    const targetDevice = await target.addDevice();
    const recipient = await startClient(relay.url, targetDevice, [net.root]);
    await sender.client.send('vn-spp.k6', { text: 'hello' });
    await recipient.waitForMessages(1);
    await sender.client.verify('vn-spp.k6');
    await sender.client.close();
    await recipient.client.close();

    // Re-designated (by the real authority) with a new account key, devices re-certified: a valid chain, a new identity.
    const successor = vn.contactPoint('k6');
    const device = await successor.addDevice();
    await sql`update contact_points set certificate = ${JSON.stringify(successor.certificate)}::jsonb, account_key = ${successor.certificate.accountKey} where contact_point_id = 'vn-spp.k6'`.execute(
      relay.relay.db,
    );
    const db = relay.relay.db;
    await db.deleteFrom('one_time_prekeys').where('device_id', '=', targetDevice.id).execute();
    await db.deleteFrom('signed_prekeys').where('device_id', '=', targetDevice.id).execute();
    await db.deleteFrom('devices').where('device_id', '=', targetDevice.id).execute();
    await db
      .insertInto('devices')
      .values({
        device_id: device.id,
        contact_point_id: 'vn-spp.k6',
        certificate: JSON.stringify(device.chain.device),
        not_after: device.chain.device.notAfter,
        registered_at: Date.now(),
      })
      .execute();
    const spk = await currentSignedPrekey(device.store);
    await db
      .insertInto('signed_prekeys')
      .values({
        device_id: device.id,
        prekey_id: spk.id,
        public_key: spk.publicKey,
        created_at: spk.createdAt,
        signature: spk.signature,
      })
      .execute();

    const again = await startClient(relay.url, senderDevice, [net.root]);
    const changes: string[] = [];
    again.client.on('identityChanged', ({ contactPointId }) => {
      changes.push(contactPointId);
    });
    const error = await refusal(again.client.send('vn-spp.k6', { text: 'blocked' }));
    expect(error.code).toBe('UNTRUSTED_IDENTITY');
    expect(error.message).toContain('since you verified it');
    expect(changes).toEqual(['vn-spp.k6']);
    const before = await again.client.safetyNumber('vn-spp.k6');
    const after = await again.client.safetyNumberForNewKey('vn-spp.k6');
    expect(after).not.toBe(before);
    // Until the person accepts it, the recorded key's number is the one shown as the safety number.
    expect(await again.client.safetyNumber('vn-spp.k6')).toBe(before);
    // A number compared for another key (the relay changed it again meanwhile) does not accept this one.
    expect((await refusal(again.client.acceptIdentity('vn-spp.k6', before))).code).toBe('UNTRUSTED_IDENTITY');
    await again.client.acceptIdentity('vn-spp.k6', after);
    expect(await again.client.safetyNumber('vn-spp.k6')).toBe(after);
    await again.client.close();
  });
});
