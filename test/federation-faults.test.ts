import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentityKeyPair, type ReceivedMessage } from '@liaison/client';
import { encodeBase64url, type ForwardedItem, type ForwardedMessage, type Receipt } from '@liaison/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { register } from './harness/device-client.js';
import { signedPlaintext } from './harness/evidence-content.js';
import {
  type Federation,
  federatedRelays,
  manifestFor,
  outsideNetwork,
  relayKeyFile,
  writeJson,
} from './harness/federation.js';
import { buildSend } from './harness/messaging.js';
import { relayCounter } from './harness/metrics.js';
import { type TestContactPoint, type TestDevice, testNetwork } from './harness/network.js';
import { type PeerRequest, sendPeerRequest, signPeerRequest } from './harness/peer-requests.js';
import { freePort, runRelayToExit } from './harness/relay-process.js';
import { postgresService } from './harness/services.js';
import { until } from './harness/until.js';

/**
 * Federation when things break, and when someone tries to break it: the CASC relay away for a
 * while, relays killed in the middle of a batch, and requests to the CASC relay's inbox that no
 * partner should be able to make. What counts is what the prosecutors see (every message once, in
 * order) and what the operators see in /metrics (outbox depth and age, forwards and refusals).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function received(c: TestClient, messageId: string): Promise<ReceivedMessage> {
  await until(() => c.messages.some((m) => m.messageId === messageId), `message ${messageId}`, 60_000);
  return c.messages.find((m) => m.messageId === messageId) as ReceivedMessage;
}

/** Ids as the application got them: each message once, so any repeat is a duplicate shown to a user. */
function idsOf(messages: readonly ReceivedMessage[]): string[] {
  return messages.map((m) => m.messageId);
}

postgresService.describe('federation faults: the CASC relay away, and relays killed in the middle of a batch', () => {
  let fed: Federation;
  let somchai: TestClient;
  let lilit: TestClient;
  const clients: TestClient[] = [];
  const a = () => fed.a.relay.url;
  const b = () => fed.b.relay.url;

  /** How many of these messages the CASC relay's database holds (one row per message id). */
  const storedOnB = async (ids: readonly string[]): Promise<number> => {
    const db = fed.b.database?.db;
    if (!db) throw new Error('the CASC relay runs on PostgreSQL here');
    const row = await db
      .selectFrom('messages')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('message_id', 'in', [...ids])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  };
  const outboxEmpty = (url: string) =>
    until(async () => (await relayCounter(url, 'liaison_federation_outbox_depth')) === 0, 'an empty outbox', 60_000);

  /**
   * Lilit's signed receipts for these messages back at Somchai, and the Thai relay's own receipts
   * about those envelopes gone out to the CASC relay: nothing in flight when the next fault begins.
   */
  const settled = async (ids: readonly string[]) => {
    await until(
      () => ids.every((id) => somchai.evidence.some((r) => r.messageId === id)),
      "Lilit's signed receipts, at Somchai",
      60_000,
    );
    await outboxEmpty(a());
    await sleep(500);
    await outboxEmpty(a());
  };

  beforeAll(async () => {
    // B behind a front at its origin: the last test holds B's answer to a batch.
    fed = await federatedRelays({ frontB: true });
    const start = async (url: string, device: TestDevice) => {
      const c = await startClient(url, device, fed.roots);
      clients.push(c);
      return c;
    };
    somchai = await start(a(), await fed.a.net.authority('th-oag', 'TH').contactPoint('somchai').addDevice());
    lilit = await start(b(), await fed.b.net.authority('am-pgo', 'AM').contactPoint('lilit').addDevice());
    // The case starts while both relays are up: Somchai's relay and client know Lilit's devices.
    const { messageId } = await somchai.client.send('am-pgo.lilit', { text: 'Opening the case file.' });
    await received(lilit, messageId);
    await settled([messageId]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await fed?.stop();
  });

  it('keeps messages at home while the CASC relay is down, then delivers each once, in order', async () => {
    const seen = lilit.messages.length;
    const failedBefore = await relayCounter(a(), 'liaison_federation_forwards_total', 'outcome="failed"');
    await fed.b.relay.kill();

    const sent: string[] = [];
    for (let n = 1; n <= 10; n++) {
      // Each send succeeds: the Thai relay stores it, and its outbox holds it for the CASC relay.
      const { messageId } = await somchai.client.send('am-pgo.lilit', { text: `Transfer record ${n} of 10.` });
      sent.push(messageId);
    }
    expect(await relayCounter(a(), 'liaison_federation_outbox_depth')).toBe(10);
    await until(
      async () => (await relayCounter(a(), 'liaison_federation_forwards_total', 'outcome="failed"')) > failedBefore,
      'a failed forward counted on the Thai relay',
      30_000,
    );
    const age = await relayCounter(a(), 'liaison_federation_outbox_oldest_seconds');
    await sleep(1500);
    const later = await relayCounter(a(), 'liaison_federation_outbox_oldest_seconds');
    expect(age).toBeGreaterThan(0);
    expect(later).toBeGreaterThanOrEqual(age + 1);
    expect(await relayCounter(a(), 'liaison_federation_outbox_depth')).toBe(10);
    expect(lilit.messages.length).toBe(seen);

    await fed.b.relay.restart();
    await lilit.waitForMessages(seen + 10, 60_000);
    expect(idsOf(lilit.messages.slice(seen))).toEqual(sent);
    expect(lilit.messages.slice(seen).map((m) => m.text)).toEqual(
      sent.map((_, i) => `Transfer record ${i + 1} of 10.`),
    );
    expect(await storedOnB(sent)).toBe(10);
    // Somchai sees them delivered, the receipts coming back from the CASC relay once it is up.
    await somchai.waitForReceipts(
      (rs) => sent.every((id) => rs.some((r) => r.messageId === id && r.status === 'delivered')),
      60_000,
    );
    // Only once Lilit's signed receipts are in and the relay's receipts about them have gone out is
    // the outbox still: checked before, it raced their forwards (0.011 s old, under load).
    await settled(sent);
    expect(await relayCounter(a(), 'liaison_federation_outbox_oldest_seconds')).toBe(0);
  }, 180_000);

  it('loses and doubles nothing when the CASC relay is killed while it stores a batch', async () => {
    const seen = lilit.messages.length;
    // Sixty long statements queue while the CASC relay is down, so that they leave in one batch.
    await fed.b.relay.kill();
    const page = 'The account holder moved the funds through three intermediary companies. '.repeat(500);
    const sent: string[] = [];
    for (let n = 1; n <= 60; n++) {
      const { messageId } = await somchai.client.send('am-pgo.lilit', { text: `Statement ${n}. ${page}` });
      sent.push(messageId);
    }
    expect(await relayCounter(a(), 'liaison_federation_outbox_depth')).toBe(60);

    await fed.b.relay.restart();
    await until(async () => (await storedOnB(sent)) > 0, 'the batch arriving on the CASC relay', 60_000);
    await fed.b.relay.kill();
    const storedAtKill = await storedOnB(sent);
    // Killed part-way: the Thai relay cannot have had an answer for the batch.
    expect(storedAtKill).toBeLessThan(sent.length);
    expect(await relayCounter(a(), 'liaison_federation_outbox_depth')).toBe(60);

    await fed.b.relay.restart();
    await lilit.waitForMessages(seen + 60, 90_000);
    await outboxEmpty(a());
    expect(idsOf(lilit.messages.slice(seen))).toEqual(sent);
    expect(await storedOnB(sent)).toBe(60);
    // The batch came again whole: what was stored before the kill is answered duplicate, the rest stored once.
    expect(await relayCounter(b(), 'liaison_federation_received_total', 'kind="message",outcome="stored"')).toBe(
      60 - storedAtKill,
    );
    expect(
      await relayCounter(b(), 'liaison_federation_received_total', 'kind="message",outcome="duplicate"'),
    ).toBeGreaterThanOrEqual(storedAtKill);
    await settled(sent);
  }, 240_000);

  it('answers duplicate when the Thai relay dies after the CASC relay stored its batch, and shows it once', async () => {
    const front = fed.b.front;
    if (!front) throw new Error('the CASC relay has a front here');
    await outboxEmpty(a());
    // The CASC relay stores the batch and answers; the Thai relay dies before it hears the answer,
    // so the message is still in its outbox when it comes back.
    const held = front.holdNextInboxAnswer(() => fed.a.relay.kill());
    const { messageId } = await somchai.client.send('am-pgo.lilit', { text: 'Please confirm the order was served.' });
    expect(await held).toBe(200);
    await received(lilit, messageId);
    const duplicatesBefore = await relayCounter(
      b(),
      'liaison_federation_received_total',
      'kind="message",outcome="duplicate"',
    );

    await fed.a.relay.restart();
    // Sent again once the dead process's lease of the CASC outbox runs out.
    await until(
      async () => (await relayCounter(a(), 'liaison_federation_forwards_total', 'outcome="duplicate"')) === 1,
      'the Thai relay told the message is a duplicate',
      90_000,
    );
    await outboxEmpty(a());
    expect(await relayCounter(b(), 'liaison_federation_received_total', 'kind="message",outcome="duplicate"')).toBe(
      duplicatesBefore + 1,
    );
    expect(await storedOnB([messageId])).toBe(1);
    // Somchai's client is back on his relay and sees it delivered; Lilit has the message once.
    await somchai.waitForReceipts(
      (rs) => rs.some((r) => r.messageId === messageId && r.status === 'delivered'),
      60_000,
    );
    expect(lilit.messages.filter((m) => m.messageId === messageId)).toHaveLength(1);
  }, 180_000);
});

postgresService.describe('federation attacks: requests to the CASC relay that no partner may make', () => {
  let fed: Federation;
  let somchai: TestClient;
  let lilit: TestClient;
  let somchaiCp: TestContactPoint;
  /** A device of Somchai's that the test drives by hand, to build genuine messages the Thai relay would forward. */
  let tablet: TestDevice;
  let lilitDevice: TestDevice;
  /** Lilit's colleague at the Armenian prosecutor's office, on the same relay. */
  let aram: TestClient;
  /** WACAP: a network of its own, with a valid manifest naming CASC, that CASC does not name. */
  let wacap: Awaited<ReturnType<typeof outsideNetwork>>;
  let awa: TestDevice;
  const clients: TestClient[] = [];
  const inbox = () => `${fed.b.origin}/federation/v1/inbox`;
  const b = () => fed.b.relay.url;

  const refusals = (reason: string) => relayCounter(b(), 'liaison_federation_refused_total', `reason="${reason}"`);
  const receivedItems = (outcome: string) =>
    relayCounter(b(), 'liaison_federation_received_total', `kind="message",outcome="${outcome}"`);
  const storedOnB = async (messageId: string): Promise<boolean> => {
    const db = fed.b.database?.db;
    if (!db) throw new Error('the CASC relay runs on PostgreSQL here');
    return (
      (await db.selectFrom('messages').select('message_id').where('message_id', '=', messageId).execute()).length > 0
    );
  };

  /** A message from Somchai's tablet to Lilit, encrypted for her device, as the Thai relay forwards it. */
  const fromSomchai = async (text: string): Promise<ForwardedMessage> => {
    const messageId = crypto.randomUUID();
    // Sealed and signed as the SDK seals a message's content: Lilit's client reads it like any other.
    const content = { version: 2, messageId, to: 'am-pgo.lilit', priority: 'normal', text, sentAt: Date.now() };
    const request = await buildSend(
      fed.a.relay.url,
      tablet,
      'am-pgo.lilit',
      signedPlaintext(tablet.identity, content),
      {
        messageId,
      },
    );
    const envelopes = request.envelopes.filter((e) => e.recipientDevice === lilitDevice.id);
    return { kind: 'message', sender: tablet.chain, request: { ...request, envelopes } };
  };
  /** A message to Lilit whose sender's chain is the one given (its ciphertext never gets to be read). */
  const fromChain = (sender: TestDevice): ForwardedMessage => ({
    kind: 'message',
    sender: sender.chain,
    request: {
      messageId: crypto.randomUUID(),
      recipient: 'am-pgo.lilit',
      priority: 'normal',
      createdAt: Date.now(),
      envelopes: [
        {
          recipientDevice: lilitDevice.id,
          kind: 'message',
          ciphertext: encodeBase64url(crypto.getRandomValues(new Uint8Array(120))),
          escalationLevel: 0,
        },
      ],
    },
  });
  const batch = (...items: ForwardedItem[]) => ({ items });
  const thaiSigned = (body: unknown, options?: Parameters<typeof signPeerRequest>[3]): PeerRequest =>
    signPeerRequest(fed.a.relayKey, inbox(), body, options);

  /** Sends a request the CASC relay must refuse for `reason`: exactly one more refusal of that reason counted. */
  const refusedFor = async (reason: string, peer: PeerRequest, override?: Parameters<typeof sendPeerRequest>[2]) => {
    const before = await refusals(reason);
    const answer = await sendPeerRequest(b(), peer, override);
    expect(await refusals(reason)).toBe(before + 1);
    return answer;
  };

  beforeAll(async () => {
    fed = await federatedRelays();
    const start = async (url: string, device: TestDevice) => {
      const c = await startClient(url, device, fed.roots);
      clients.push(c);
      return c;
    };
    somchaiCp = fed.a.net.authority('th-oag', 'TH').contactPoint('somchai');
    somchai = await start(fed.a.relay.url, await somchaiCp.addDevice('Office laptop'));
    const armenian = fed.b.net.authority('am-pgo', 'AM');
    lilitDevice = await armenian.contactPoint('lilit').addDevice('Office laptop');
    lilit = await start(b(), lilitDevice);
    aram = await start(b(), await armenian.contactPoint('aram').addDevice('Office laptop'));
    tablet = await somchaiCp.addDevice('Tablet');
    expect((await register(fed.a.relay.url, tablet)).status).toBe(200);
    wacap = await outsideNetwork('wacap', [fed.b.net]);
    awa = await wacap.net.authority('sn-pj', 'SN').contactPoint('awa').addDevice();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await fed?.stop();
  });

  it('stores a batch the Thai relay signed, once: the same signed request again is refused as a replay', async () => {
    const item = await fromSomchai('Request 1: the bank records of Mr K.');
    const signed = thaiSigned(batch(item));
    const storedBefore = await receivedItems('stored');
    const first = await sendPeerRequest(b(), signed);
    expect(first).toEqual({ status: 200, body: { outcomes: [{ outcome: 'stored' }] } });
    const again = await refusedFor('replay', signed);
    expect(again.status).toBe(401);
    expect(again.body.error).toBe('BAD_CHALLENGE');
    const message = await received(lilit, item.request.messageId);
    expect(message.text).toBe('Request 1: the bank records of Mr K.');
    expect(message.sender.contactPointId).toBe('th-oag.somchai');
    expect(await receivedItems('stored')).toBe(storedBefore + 1);
  });

  it('refuses a relay of a network CASC does not name, though its manifest names CASC', async () => {
    const item = fromChain(awa);
    const answer = await refusedFor('not-partner', signPeerRequest(wacap.relayKey, inbox(), batch(item)));
    expect(answer.status).toBe(403);
    expect(answer.body.error).toBe('FORBIDDEN');
    expect(await storedOnB(item.request.messageId)).toBe(false);
  });

  it('refuses a forged signature: a body changed after signing, or a signature by another key', async () => {
    const item = await fromSomchai('Request 2: the land registry extract.');
    const signed = thaiSigned(batch(item));
    const changed = await fromSomchai('Request 2: release the frozen funds.');
    const tampered = await refusedFor('bad-signature', signed, {
      body: new TextEncoder().encode(JSON.stringify(batch(changed))),
    });
    expect(tampered.status).toBe(403);
    expect(tampered.body.error).toBe('BAD_SIGNATURE');

    // The Thai relay's key id, signed by WACAP's relay key.
    const impostor = { publicKey: fed.a.relayKey.publicKey, privateKey: wacap.relayKey.privateKey };
    const other = await fromSomchai('Request 3: the company register.');
    const forged = await refusedFor('bad-signature', signPeerRequest(impostor, inbox(), batch(other)));
    expect(forged.status).toBe(403);
    expect(forged.body.error).toBe('BAD_SIGNATURE');

    for (const id of [item, changed, other].map((i) => i.request.messageId)) expect(await storedOnB(id)).toBe(false);
  });

  it('refuses a request signed too long ago, or too far ahead', async () => {
    const tenMinutes = 10 * 60 * 1000;
    for (const createdAt of [Date.now() - tenMinutes, Date.now() + tenMinutes]) {
      const item = await fromSomchai('Request 4: the customs declarations.');
      const answer = await refusedFor('stale', thaiSigned(batch(item), { createdAt }));
      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('EXPIRED');
      expect(await storedOnB(item.request.messageId)).toBe(false);
    }
  });

  it('refuses a request the Thai relay signed for another relay', async () => {
    const item = await fromSomchai('Request 5: the vessel tracking data.');
    // Signed for the Thai relay's own origin, say for a relay of a third partner, and brought here.
    const elsewhere = signPeerRequest(fed.a.relayKey, `${fed.a.origin}/federation/v1/inbox`, batch(item));
    const asIs = await refusedFor('wrong-target', elsewhere, { host: new URL(fed.a.origin).host });
    expect(asIs.status).toBe(403);
    expect(asIs.body.error).toBe('FORBIDDEN');
    // Addressed to this relay instead: the signature covers the target, so it no longer verifies.
    const readdressed = await refusedFor('bad-signature', elsewhere, { host: new URL(fed.b.origin).host });
    expect(readdressed.body.error).toBe('BAD_SIGNATURE');
    expect(await storedOnB(item.request.messageId)).toBe(false);
  });

  it('refuses a message the Thai relay forwards from a contact point of a third network, signed with its real key', async () => {
    const item = fromChain(awa);
    const refusedBefore = await receivedItems('refused');
    const answer = await refusedFor('foreign-claim', thaiSigned(batch(item)));
    expect(answer.status).toBe(200);
    expect(answer.body.outcomes).toEqual([
      { outcome: 'refused', code: 'CHAIN_MISMATCH', message: expect.stringContaining('wacap') },
    ]);
    expect(await receivedItems('refused')).toBe(refusedBefore + 1);
    expect(await storedOnB(item.request.messageId)).toBe(false);
  });

  it('refuses receipts the Thai relay sends about contact points that are not of its network', async () => {
    const { messageId } = await lilit.client.send('th-oag.somchai', { text: 'Here is the account statement.' });
    await received(somchai, messageId);
    await lilit.waitForReceipts((rs) => rs.some((r) => r.messageId === messageId && r.status === 'delivered'), 60_000);
    const claim = (contactPointId: string, id: number): ForwardedItem => {
      const receipt: Receipt = { messageId, status: 'acknowledged', contactPointId, at: Date.now() };
      return { kind: 'receipt', id, receipt };
    };
    const before = await refusals('foreign-claim');
    // Lilit's own duty prosecutor (a CASC contact point), and one of WACAP.
    const answer = await sendPeerRequest(
      b(),
      thaiSigned(batch(claim('am-pgo.aram', 900_001), claim(awa.chain.contactPoint.contactPointId, 900_002))),
    );
    expect(answer.status).toBe(200);
    expect(answer.body.outcomes).toEqual([
      { outcome: 'refused', code: 'NOT_FOUND', message: expect.any(String) },
      { outcome: 'refused', code: 'NOT_FOUND', message: expect.any(String) },
    ]);
    expect(await refusals('foreign-claim')).toBe(before + 2);
    const db = fed.b.database?.db;
    const acknowledged = await db
      ?.selectFrom('receipts')
      .selectAll()
      .where('message_id', '=', messageId)
      .where('status', '=', 'acknowledged')
      .execute();
    expect(acknowledged).toEqual([]);
    expect(lilit.receipts.filter((r) => r.messageId === messageId).map((r) => r.status)).not.toContain('acknowledged');
  });

  it('refuses to register a device of the Thai network on the CASC relay: it belongs on its own', async () => {
    const phone = await somchaiCp.addDevice('Phone');
    await expect(startClient(b(), phone, fed.roots)).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringContaining("register on their own network's relay"),
    });
    const db = fed.b.database?.db;
    expect(await db?.selectFrom('devices').select('device_id').where('device_id', '=', phone.id).execute()).toEqual([]);
  });

  it('refuses a receipt the Thai relay sends for a message it was never given', async () => {
    // Between two Armenian colleagues: nothing of it goes to the Thai relay.
    const { messageId } = await lilit.client.send('am-pgo.aram', { text: 'The Thai request is with the court.' });
    await received(aram, messageId);
    const receipt: Receipt = { messageId, status: 'acknowledged', contactPointId: 'th-oag.somchai', at: Date.now() };
    const answer = await sendPeerRequest(b(), thaiSigned(batch({ kind: 'receipt', id: 900_003, receipt })));
    expect(answer.status).toBe(200);
    expect(answer.body.outcomes).toEqual([
      { outcome: 'refused', code: expect.any(String), message: expect.any(String) },
    ]);
    const stored = await fed.b.database?.db
      .selectFrom('receipts')
      .select('status')
      .where('message_id', '=', messageId)
      .where('contact_point_id', '=', 'th-oag.somchai')
      .execute();
    expect(stored).toEqual([]);
    await sleep(500);
    expect(lilit.receipts.filter((r) => r.messageId === messageId && r.contactPointId === 'th-oag.somchai')).toEqual(
      [],
    );
  });

  // Last: it restarts the CASC relay.
  it('still refuses a replayed request after the CASC relay has restarted', async () => {
    const item = await fromSomchai('Request 6: the phone subscriber records.');
    const signed = thaiSigned(batch(item));
    expect(await sendPeerRequest(b(), signed)).toEqual({ status: 200, body: { outcomes: [{ outcome: 'stored' }] } });
    await fed.b.relay.restart();
    // Well within the minutes a signed request passes the time check: only its nonce can stop it.
    const again = await refusedFor('replay', signed);
    expect(again.status).toBe(401);
    expect(again.body.error).toBe('BAD_CHALLENGE');
  });
});

describe('federation set-up: a partnership named by one side only', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'liaison-not-mutual-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('the Thai relay refuses to start when the CASC manifest does not name SEAJust, naming LIAISON_NETWORK_MANIFESTS', async () => {
    const [seajust, casc] = [await testNetwork('seajust'), await testNetwork('casc')];
    const thaiKey = generateIdentityKeyPair();
    const port = await freePort();
    // SEAJust names CASC; CASC's secretariat has not (yet) named SEAJust.
    const ours = manifestFor(seajust, `http://127.0.0.1:${port}`, thaiKey, [casc]);
    const theirs = manifestFor(casc, 'http://127.0.0.1:9', generateIdentityKeyPair(), []);
    const exit = await runRelayToExit({
      LIAISON_PORT: String(port),
      LIAISON_TRUSTED_ROOTS: [
        await writeJson(dir, 'seajust.root.json', seajust.root),
        await writeJson(dir, 'casc.root.json', casc.root),
      ].join(','),
      LIAISON_RELAY_KEY: await writeJson(dir, 'relay-key.json', relayKeyFile(thaiKey)),
      LIAISON_NETWORK_MANIFESTS: [
        await writeJson(dir, 'seajust.manifest.json', ours),
        await writeJson(dir, 'casc.manifest.json', theirs),
      ].join(','),
    });
    expect(exit.code).toBe(1);
    const fatal = exit.logLines.filter((l) => l.level === 60);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]?.variable).toBe('LIAISON_NETWORK_MANIFESTS');
    // What was found, then what is expected: a partner's manifest that names this network back.
    expect(fatal[0]?.msg).toBe(
      'LIAISON_NETWORK_MANIFESTS: found the manifest of "casc" (the manifest of "casc" does not name "seajust" with our root key as a partner); ' +
        'expected only manifests of partner networks, each named by ours, signed by the root key ours names for it, and naming "seajust" back with our root key',
    );
    expect(exit.output).not.toContain(relayKeyFile(thaiKey).seed);
  });
});
