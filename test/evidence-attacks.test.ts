import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CaseRecord,
  decodeBase64url,
  type EvidenceReceipt,
  encodeBase64url,
  generateIdentityKeyPair,
  type LiaisonError,
  revoke,
} from '@liaison/client';
import { exportRecord } from '@liaison/client/records';
import {
  type Envelope,
  encodeRelayReceipt,
  type NetworkManifest,
  type RelayReceipt,
  type SendResult,
  type UnsignedEvidenceReceipt,
} from '@liaison/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { runLiaison } from './harness/commands.js';
import { bytesOf, type Connection, connect, http, register } from './harness/device-client.js';
import { ed25519Sign, readPlaintext, sha256, signedPlaintext, signedReceipt } from './harness/evidence-content.js';
import { manifestFor, ownManifestSettings } from './harness/federation.js';
import { buildSend } from './harness/messaging.js';
import { type TestDevice, testDeviceAddress, testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { type RelayFront, startRelayFront } from './harness/relay-front.js';
import { freePort } from './harness/relay-process.js';
import { until } from './harness/until.js';

/**
 * Requests with evidence (issue #24) under attack: a relay that signs with a key its network never
 * certified, contact points that send lying receipts, a device revoked before its receipt arrives,
 * a message signed by another key than its sender's, and case records changed on their way to a
 * court. In each, what a person would notice: the SDK refuses, reports it on `error` with a stable
 * code, keeps nothing as evidence and shows nothing; `liaison record verify` says where it fails.
 * A case marked `it.fails` is an attack that succeeds today: its comment says where and how.
 */

type Network = Awaited<ReturnType<typeof testNetwork>>;
const settle = () => new Promise((r) => setTimeout(r, 300));
const codes = (errors: LiaisonError[]) => errors.map((e) => e.code);
const receiptEntries = (record: CaseRecord) =>
  record.entries.flatMap((e) => (e.type === 'receipt' ? [[e.receipt.kind, e.receipt.by, e.receipt.messageId]] : []));

/** What a device's send answered: the relay's result, or its refusal. */
function accepted(ack: { ok: true; value: SendResult } | { ok: false; error: string }): SendResult {
  if (!ack.ok) throw new Error(`send refused: ${ack.error}`);
  return ack.value;
}

/** A device registered as the SDK registers one, connected by a bare socket: it seals what a test builds. */
async function wireDevice(url: string, device: TestDevice): Promise<Connection> {
  expect((await register(url, device)).status).toBe(200);
  return connect(url, device);
}

/** Sends `plaintext` from a bare device to every device of `to` (and its own others), sealed under `messageId`. */
async function sendSealed(
  url: string,
  from: { device: TestDevice; socket: Connection },
  to: string,
  messageId: string,
  plaintext: Uint8Array,
): Promise<SendResult> {
  const request = await buildSend(url, from.device, to, plaintext, { messageId });
  return accepted(await from.socket.call('send', request));
}

describe('a relay that signs "stored at" with a key its network\'s root did not certify', () => {
  let net: Network;
  let relay: TestRelay;
  let front: RelayFront;
  let alice: TestDevice;
  let bob: TestClient;
  let rogueKey: ReturnType<typeof generateIdentityKeyPair>;
  /** The relay's own manifest, signed by the impostor's root. */
  let served: NetworkManifest;
  let genuine: NetworkManifest;

  beforeAll(async () => {
    net = await testNetwork('seajust');
    // Someone else's root calling itself "seajust", which the relay's operator trusts beside the real one.
    const impostor = await testNetwork('seajust');
    rogueKey = generateIdentityKeyPair();
    const port = await freePort();
    served = manifestFor(impostor, `http://127.0.0.1:${port}`, rogueKey, []);
    relay = await startTestRelay('pglite', {
      port,
      now: Date.now,
      trustedRoots: [impostor.root, net.root],
      federation: ownManifestSettings(rogueKey, served),
      authAttemptsPerMinute: 10_000,
    });
    // The network's real manifest, signed by its root: it certifies another relay key than the one this relay signs with.
    genuine = manifestFor(net, `http://127.0.0.1:${port}`, generateIdentityKeyPair(), []);
    front = await startRelayFront(relay.relay.port, undefined, {
      answer: (method, path) => (method === 'GET' && path === '/v1/network/manifest' ? genuine : undefined),
    });
    alice = await net.authority('th-oag', 'TH').contactPoint('alice').addDevice('Office laptop');
    bob = await startClient(
      relay.url,
      await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice('Office desktop'),
      [net.root],
    );
  }, 60_000);
  afterAll(async () => {
    await bob?.client.close();
    await front?.close();
    await relay?.stop();
  });

  it('does sign each send result, with its own key, which the manifest it serves names', async () => {
    const witness = await net.authority('ph-doj', 'PH').contactPoint('witness').addDevice();
    const socket = await wireDevice(relay.url, witness);
    const messageId = crypto.randomUUID();
    const sealed = { version: 2, messageId, to: 'vn-spp.bob', priority: 'normal', sentAt: Date.now(), text: 'Hello' };
    const result = await sendSealed(
      relay.url,
      { device: witness, socket },
      'vn-spp.bob',
      messageId,
      signedPlaintext(witness.identity, sealed),
    );
    socket.close();
    const stored = result.stored as RelayReceipt;
    expect(stored).toMatchObject({ messageId, networkId: 'seajust', relayKey: encodeBase64url(rogueKey.publicKey) });
    // Ed25519 is deterministic: signing the same statement with that key gives the same signature.
    const { signature, ...body } = stored;
    expect(encodeBase64url(ed25519Sign(rogueKey, encodeRelayReceipt(body)))).toBe(signature);
    expect((await http(relay.url, 'GET', '/v1/network/manifest')).body).toEqual(served);
  });

  it.each([
    ['serving its own manifest, signed by another root that calls itself "seajust"', () => relay.url],
    ["serving the network's genuine manifest, which names another relay key", () => front.url],
  ])('%s: the request is sent, its "stored at" refused and not kept', async (_, url) => {
    const sender = await startClient(url(), alice, [net.root], { relayOrigin: relay.url });
    try {
      const { requestId } = await sender.client.requests.open('vn-spp.bob', {
        kind: 'preservation',
        legalBasis: 'Budapest Convention, art. 29',
        text: 'Please preserve the subscriber data of account 0042-118.',
      });
      await until(() => bob.messages.some((m) => m.messageId === requestId), 'the request, at Bob');
      await until(() => sender.evidence.some((r) => r.messageId === requestId), 'the delivery receipt, at the sender');
      await settle();
      expect(codes(sender.errors)).toEqual(['BAD_SIGNATURE']);
      expect(sender.errors[0]?.message).toContain(
        `the relay's receipt for message ${requestId} is signed by a key that no current manifest of the network's root certifies`,
      );
      const view = await sender.client.requests.get(requestId);
      expect(view?.history[0]?.storedAt).toBeUndefined();
      // Only the relay's word is refused: the recipient device's signed receipt is kept as ever.
      expect(view?.history[0]?.receipts.map((r) => r.kind)).toEqual(['delivered']);
      const { record } = await exportRecord(sender.client, { request: requestId });
      expect(record.entries.map((e) => e.type)).toEqual(['message', 'receipt']);
      expect(record.manifests).toEqual([]);
    } finally {
      await sender.client.close();
    }
  });
});

describe('evidence between devices, on a relay whose manifest certifies its key', () => {
  let net: Network;
  let relay: TestRelay;
  const url = () => relay.url;
  const clients: TestClient[] = [];
  const sockets: Connection[] = [];

  beforeAll(async () => {
    net = await testNetwork('seajust');
    const relayKey = generateIdentityKeyPair();
    const port = await freePort();
    relay = await startTestRelay('pglite', {
      port,
      // The relay's own clock, running: its "stored at" times are read beside the devices' in a record.
      now: Date.now,
      trustedRoots: [net.root],
      federation: ownManifestSettings(relayKey, manifestFor(net, `http://127.0.0.1:${port}`, relayKey, [])),
      authAttemptsPerMinute: 10_000,
    });
  }, 60_000);
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    for (const c of clients) await c.client.close();
    await relay?.stop();
  });

  async function client(device: TestDevice, options: Parameters<typeof startClient>[3] = {}): Promise<TestClient> {
    const started = await startClient(url(), device, [net.root], options);
    clients.push(started);
    return started;
  }
  async function bare(device: TestDevice): Promise<Connection> {
    const socket = await wireDevice(url(), device);
    sockets.push(socket);
    return socket;
  }

  describe('a colluding contact point sends the sender receipts that lie', () => {
    let alice: TestClient;
    let bob: TestClient;
    let carol: TestDevice;
    let carolSocket: Connection;
    /** What Alice sent Bob, as Bob holds it (he tells Carol its id and content hash). */
    let toBob: { messageId: string; contentHash: string };
    /** What Alice sent Carol, as Carol's device decrypted it. */
    let toCarol: { messageId: string; contentHash: string };
    /** Bob's own signed delivery receipt, from the record he exported. */
    let bobsReceipt: EvidenceReceipt;

    beforeAll(async () => {
      alice = await client(await net.authority('th-oag', 'TH').contactPoint('alice3').addDevice());
      bob = await client(await net.authority('vn-spp', 'VN').contactPoint('bob3').addDevice());
      carol = await net.authority('ph-doj', 'PH').contactPoint('carol3').addDevice('Office laptop');
      carolSocket = await bare(carol);
      await alice.client.send('vn-spp.bob3', { text: 'For Bob only: the account holder is under investigation.' });
      const [atBob] = await bob.waitForMessages(1);
      toBob = { messageId: atBob?.messageId as string, contentHash: atBob?.contentHash as string };
      await until(() => alice.evidence.length === 1, "Bob's delivery receipt");
      const { messageId } = await alice.client.send('ph-doj.carol3', { text: 'For Carol: a question on procedure.' });
      const [envelope] = (await carolSocket.waitForEnvelopes(1)) as Envelope[];
      const plaintext = await carol.cipher.decrypt(
        testDeviceAddress(envelope?.senderDevice as string),
        bytesOf(envelope?.ciphertext as string),
      );
      toCarol = { messageId, contentHash: readPlaintext(plaintext).hash };
      const { record } = await exportRecord(bob.client, { conversation: 'th-oag.alice3' });
      const entry = record.entries.find((e) => e.type === 'receipt');
      if (entry?.type !== 'receipt') throw new Error('Bob holds no receipt of his own');
      bobsReceipt = entry.receipt;
    }, 60_000);

    /** A receipt as Carol's device signs it: by default, a true one for the message sent to her. */
    const carolSigns = (change: Partial<UnsignedEvidenceReceipt> = {}) =>
      signedReceipt(carol.identity, {
        kind: 'delivered',
        ...toCarol,
        sender: 'th-oag.alice3',
        by: 'ph-doj.carol3',
        byDevice: carol.id,
        at: Date.now(),
        ...change,
      });
    /** Carol's device sends receipts back to Alice, end to end, as the SDK seals them. */
    async function carolSends(receipts: EvidenceReceipt[]): Promise<void> {
      const messageId = crypto.randomUUID();
      const content = { version: 2, messageId, receipts };
      await sendSealed(
        url(),
        { device: carol, socket: carolSocket },
        'th-oag.alice3',
        messageId,
        signedPlaintext(carol.identity, content),
      );
    }

    it('a true receipt of her device, for the message sent to her, is kept (what the lies below imitate)', async () => {
      await carolSends([carolSigns()]);
      await until(() => alice.evidence.length === 2, "Carol's receipt");
      expect(alice.evidence.at(-1)).toMatchObject({ kind: 'delivered', by: 'ph-doj.carol3', ...toCarol });
      expect(alice.errors).toEqual([]);
    });

    it.each<[string, () => EvidenceReceipt, string, string]>([
      [
        'a receipt for the message sent to Bob, with its content hash, which Bob told her',
        () => carolSigns(toBob),
        'INVALID_MESSAGE',
        'comes from a contact point the message was not for',
      ],
      [
        'an acknowledgement of the message sent to Bob, in his name',
        () => carolSigns({ ...toBob, kind: 'acknowledged', by: 'vn-spp.bob3' }),
        'INVALID_MESSAGE',
        'names another device than the one that sent it',
      ],
      [
        "a receipt naming Bob's device, signed by hers",
        () => carolSigns({ ...toBob, by: 'vn-spp.bob3', byDevice: bobsReceipt.byDevice }),
        'INVALID_MESSAGE',
        'names another device than the one that sent it',
      ],
      [
        "Bob's own signed receipt, passed on by her device",
        () => bobsReceipt,
        'INVALID_MESSAGE',
        'names another device than the one that sent it',
      ],
      [
        'a receipt for the message sent to her, with another content hash',
        () => carolSigns({ contentHash: toBob.contentHash }),
        'INVALID_MESSAGE',
        'is for other content than was sent',
      ],
      [
        'a receipt for the message sent to her, naming another sender',
        () => carolSigns({ sender: 'vn-spp.bob3' }),
        'INVALID_MESSAGE',
        'names another sender',
      ],
      [
        'a receipt whose time was changed after her device signed it',
        () => {
          const receipt = carolSigns();
          return { ...receipt, at: receipt.at + 1 };
        },
        'BAD_SIGNATURE',
        'is not signed by the device it names',
      ],
    ])('%s: refused, reported, not kept', async (_, forge, code, why) => {
      const errors = alice.errors.length;
      const kept = alice.evidence.length;
      const receipt = forge();
      await carolSends([receipt]);
      await until(() => alice.errors.length > errors, 'a refusal');
      await settle();
      expect(codes(alice.errors.slice(errors))).toEqual([code]);
      expect(alice.errors.at(-1)?.message).toContain(why);
      expect(alice.evidence.length).toBe(kept);
      // Nothing of it in either conversation's record: Bob's and Carol's true receipts alone.
      const withBob = (await exportRecord(alice.client, { conversation: 'vn-spp.bob3' })).record;
      const withCarol = (await exportRecord(alice.client, { conversation: 'ph-doj.carol3' })).record;
      expect(receiptEntries(withBob)).toEqual([['delivered', 'vn-spp.bob3', toBob.messageId]]);
      expect(receiptEntries(withCarol)).toEqual([['delivered', 'ph-doj.carol3', toCarol.messageId]]);
    });

    // The SDK checks a receipt's signer chain at the receipt's own time, as the record's verifier
    // does: a receipt dated before Carol's device was certified is refused, and the conversation
    // still exports.
    it('a true receipt, dated before her device was certified: not kept, and the record still exports', async () => {
      const [errors, kept] = [alice.errors.length, alice.evidence.length];
      await carolSends([carolSigns({ kind: 'acknowledged', at: Date.now() - 3600_000 })]);
      await until(() => alice.errors.length > errors || alice.evidence.length > kept, 'a refusal or a receipt');
      await settle();
      await expect(exportRecord(alice.client, { conversation: 'ph-doj.carol3' })).resolves.toBeDefined();
    });
  });

  it('a receipt from a device the sender knows was revoked: refused, reported, not kept', async () => {
    const aliceDevice = await net.authority('th-oag', 'TH').contactPoint('alice4').addDevice();
    const bobAccount = net.authority('vn-spp', 'VN').contactPoint('bob4');
    const bobDevice = await bobAccount.addDevice();
    await (await startClient(url(), bobDevice, [net.root])).client.close();
    // Alice opens a request while nobody has told her of a revocation, then goes offline.
    const before = await startClient(url(), aliceDevice, [net.root]);
    const { requestId } = await before.client.requests.open('vn-spp.bob4', {
      kind: 'extradition',
      legalBasis: 'Bilateral extradition treaty, art. 3',
      text: 'Request for the provisional arrest of the person named in the attached warrant.',
    });
    await before.client.close();
    // Bob's device receives it; its signed delivery receipt waits at the relay for Alice's device.
    const bob = await client(bobDevice);
    await bob.waitForMessages(1);
    const waiting = async () =>
      Number(
        (
          await sql<{
            n: number;
          }>`select count(*)::int as n from envelopes where recipient_device = ${aliceDevice.id}`.execute(
            relay.relay.db,
          )
        ).rows[0]?.n,
      );
    await until(async () => (await waiting()) === 1, "Bob's receipt, waiting for Alice");
    // Bob's device is then revoked (key compromise): Alice's application knows, the relay was never told.
    const revocation = revoke(bobAccount.accountKeys, {
      networkId: 'seajust',
      subject: 'device',
      subjectId: bobDevice.id,
      reason: 'key-compromise',
      revokedAt: Date.now(),
    });
    const alice = await client(aliceDevice, { revocations: [revocation] });
    await until(() => alice.errors.length > 0, 'a refusal');
    await settle();
    expect(codes(alice.errors)).toEqual(['REVOKED']);
    expect(alice.errors[0]?.message).toBe('device "Office laptop" of "vn-spp.bob4" was revoked');
    expect(alice.evidence).toEqual([]);
    const view = await alice.client.requests.get(requestId);
    expect(view?.history[0]?.receipts).toEqual([]);
    // The relay's own "stored at" for it is kept: only the revoked device's word is refused.
    expect(view?.history[0]?.storedAt).toBeGreaterThan(0);
    const { record } = await exportRecord(alice.client, { request: requestId });
    expect(record.entries.map((e) => e.type)).toEqual(['message', 'relay-receipt']);
    // Refused for good: the device acknowledged the envelope, and the relay dropped it.
    await until(async () => (await waiting()) === 0, 'the refused envelope dropped');
  });

  describe('a message whose content is not signed by the device that sends it', () => {
    let bob: TestClient;
    let signer: TestDevice;
    let sender: { device: TestDevice; socket: Connection };

    beforeAll(async () => {
      bob = await client(await net.authority('vn-spp', 'VN').contactPoint('bob5').addDevice());
      const alice = net.authority('th-oag', 'TH').contactPoint('alice5');
      signer = await alice.addDevice('Office laptop');
      await register(url(), signer);
      const device = await alice.addDevice('Phone');
      sender = { device, socket: await bare(device) };
    }, 60_000);

    const content = (messageId: string, text: string) => ({
      version: 2,
      messageId,
      to: 'vn-spp.bob5',
      priority: 'normal',
      sentAt: Date.now(),
      text,
    });
    const text = 'Please execute the attached freezing order today.';

    it.each<[string, (messageId: string) => Uint8Array]>([
      [
        'signed by another device of the same contact point',
        (messageId) => signedPlaintext(signer.identity, content(messageId, text)),
      ],
      [
        'signed by the sending device over other words',
        (messageId) =>
          signedPlaintext(
            sender.device.identity,
            content(messageId, text),
            content(messageId, 'Please do not execute the freezing order.'),
          ),
      ],
      ['not signed at all', (messageId) => new TextEncoder().encode(JSON.stringify(content(messageId, text)))],
    ])('%s: never shown, reported, not kept', async (_, seal) => {
      const errors = bob.errors.length;
      const messageId = crypto.randomUUID();
      await sendSealed(url(), sender, 'vn-spp.bob5', messageId, seal(messageId));
      await until(() => bob.errors.length > errors, 'a refusal');
      await settle();
      expect(bob.messages).toEqual([]);
      expect(codes(bob.errors.slice(errors))).toEqual(['INVALID_MESSAGE']);
      expect(bob.errors.at(-1)?.message).toBe(
        `message ${messageId} has no readable content signed by its sender's device`,
      );
      await expect(exportRecord(bob.client, { conversation: 'th-oag.alice5' })).resolves.toMatchObject({
        record: { entries: [] },
      });
    });

    it('the same, signed by the device that sends it, is shown, and kept with its signature', async () => {
      const messageId = crypto.randomUUID();
      const sealed = content(messageId, text);
      await sendSealed(url(), sender, 'vn-spp.bob5', messageId, signedPlaintext(sender.device.identity, sealed));
      const [shown] = await bob.waitForMessages(1);
      expect(shown).toMatchObject({
        messageId,
        text,
        sender: { contactPointId: 'th-oag.alice5', deviceId: sender.device.id },
        contentHash: encodeBase64url(sha256(new TextEncoder().encode(JSON.stringify(sealed)))),
      });
      const { record } = await exportRecord(bob.client, { conversation: 'th-oag.alice5' });
      expect(record.entries.map((e) => [e.type, e.type === 'message' ? e.messageId : e.receipt.messageId])).toEqual([
        ['message', messageId],
        ['receipt', messageId],
      ]);
    });
  });

  /**
   * A counterparty's own device seals, with its own key, content a genuine client never would. The
   * signature is hers, so it is hers to answer for; what must not happen is that Bob's device keeps
   * it as evidence his own export then refuses, leaving him no record of the conversation at all.
   */
  describe("a counterparty seals for Bob content that Bob's record could not verify", () => {
    let pairs = 0;
    /** Bob's client and a bare device of the counterparty, new for each case (a kept message stays kept). */
    async function pair() {
      pairs += 1;
      const bobId = `vn-spp.bob7-${pairs}`;
      const bob = await client(await net.authority('vn-spp', 'VN').contactPoint(`bob7-${pairs}`).addDevice());
      const device = await net.authority('th-oag', 'TH').contactPoint(`alice7-${pairs}`).addDevice();
      const sender = { device, socket: await bare(device) };
      /** Sends Bob content sealed and signed by her device: to Bob and dated now, unless changed. */
      const send = async (text: string, change: { to?: string; sentAt?: number } = {}) => {
        const messageId = crypto.randomUUID();
        const content = { version: 2, messageId, to: bobId, priority: 'normal', sentAt: Date.now(), text, ...change };
        await sendSealed(url(), sender, bobId, messageId, signedPlaintext(device.identity, content));
        return messageId;
      };
      /** Bob's record of the conversation, as his application exports it. */
      const exported = async () =>
        (await exportRecord(bob.client, { conversation: device.chain.contactPoint.contactPointId })).record;
      return { bob, bobId, send, exported };
    }

    it('a true message of hers is shown, and the record of their conversation exports', async () => {
      const { bob, send, exported } = await pair();
      await send('Our request of 3 March: any news?');
      await bob.waitForMessages(1);
      expect((await exported()).entries.map((e) => e.type)).toEqual(['message', 'receipt']);
    });

    // Content sealed for another contact point is not shown here (receiver.ts, `misaddressed`): it
    // would read as addressed to them, and its receipt would attest what was not sent to Bob.
    it('her signed message addressed to Carol: not shown, reported, and the record still exports', async () => {
      const { bob, bobId, send, exported } = await pair();
      await send('Our request of 3 March: any news?');
      await bob.waitForMessages(1);
      await send('Carol: as agreed, nothing for Bob.', { to: 'ph-doj.carol7' });
      await until(() => bob.errors.length > 0 || bob.messages.length > 1, 'a refusal or a message');
      await settle();
      expect(bob.messages.map((m) => m.to)).toEqual([bobId]);
      expect(codes(bob.errors)).toEqual([expect.stringMatching(/^(INVALID_MESSAGE|ENVELOPE_MISMATCH)$/)]);
      expect((await exported()).entries.map((e) => e.type)).toEqual(['message', 'receipt']);
    });

    // Content dated before the device was certified (a forged date, or a clock slower than the skew
    // allowed) is shown, but not kept as evidence, and reported: the verifier checks the chain at
    // the sender's own `sentAt`, and the conversation still exports.
    it('her signed message dated before her device was certified: not kept as evidence, and the record still exports', async () => {
      const { bob, send, exported } = await pair();
      await send('Our request of 3 March: any news?');
      await bob.waitForMessages(1);
      await send('Sent, it says, an hour ago.', { sentAt: Date.now() - 3600_000 });
      await until(() => bob.errors.length > 0 || bob.messages.length > 1, 'a refusal or a message');
      await settle();
      await expect(exported()).resolves.toBeDefined();
    });
  });

  describe('liaison record verify, on a record exported for a court', () => {
    const MARKUP = "</pre><script>alert('court')</script><img src=x onerror=alert(1)>";
    let dir: string;
    let record: CaseRecord;
    let requestId: string;
    const write = (name: string, value: unknown) => writeFile(join(dir, name), JSON.stringify(value, null, 2));
    const verify = (...args: string[]) => runLiaison(dir, 'record', 'verify', ...args);
    /** A copy of the record with one entry changed. */
    const tampered = (change: (entries: CaseRecord['entries']) => void): CaseRecord => {
      const copy = JSON.parse(JSON.stringify(record)) as CaseRecord;
      change(copy.entries);
      return copy;
    };
    const indexOf = (type: CaseRecord['entries'][number]['type']) => record.entries.findIndex((e) => e.type === type);

    let alice: TestClient;
    let bob: TestClient;
    let bobAccount: ReturnType<ReturnType<Network['authority']>['contactPoint']>;
    let bobDevice: TestDevice;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'liaison-record-'));
      alice = await client(await net.authority('th-oag', 'TH').contactPoint('alice6').addDevice());
      bobAccount = net.authority('vn-spp', 'VN').contactPoint('bob6');
      bobDevice = await bobAccount.addDevice('Office desktop');
      bob = await client(bobDevice);
      ({ requestId } = await alice.client.requests.open('vn-spp.bob6', {
        kind: 'mutual-legal-assistance',
        legalBasis: 'ASEAN Treaty on Mutual Legal Assistance in Criminal Matters, art. 6',
        subject: 'Bank records, account 0042-118',
        // Markup in a counterparty's words, which the court's HTML page must show as text.
        text: `Please obtain the bank records of account 0042-118 from 1 March to 30 June 2026.${MARKUP}`,
      }));
      await bob.waitForMessages(1);
      await bob.client.acknowledge(requestId);
      await until(async () => {
        const view = await alice.client.requests.get(requestId);
        return view?.history[0]?.receipts.length === 2;
      }, 'delivered and acknowledged');
      ({ record } = await exportRecord(alice.client, { request: requestId }));
      await write('record.json', record);
      await write('seajust.root.json', net.root);
    }, 60_000);
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('exits 0 and says in plain words what a real record establishes', async () => {
      const { code, stdout, stderr } = await verify('record.json', '--roots', 'seajust.root.json');
      expect([code, stderr]).toEqual([0, '']);
      const lines = stdout.split('\n');
      expect(lines[0]).toMatch(
        new RegExp(
          `^VERIFIED: the case record of request ${requestId} with "vn-spp.bob6", exported by Prosecutor alice6 \\("th-oag.alice6", Central authority of TH\\) on .*: 4 entries, every signature and certificate checked up to "seajust network"\\.$`,
        ),
      );
      expect(stdout).toContain(`sent message ${requestId} to "vn-spp.bob6"`);
      expect(stdout).toContain(`the relay of network "seajust" stored message ${requestId}`);
      expect(stdout).toContain(`received message ${requestId}, as sent (signed by that device)`);
      expect(stdout).toContain(`acknowledged message ${requestId}: a person confirmed having it`);
      expect(stdout).toContain('Status: open.');
      expect(stdout).toContain('not that a person read it');
    });

    it.each<[string, (entries: CaseRecord['entries']) => number, string]>([
      [
        "the request's text",
        (entries) => {
          const i = indexOf('message');
          const entry = entries[i];
          if (entry?.type !== 'message') throw new Error('no message');
          const text = new TextDecoder().decode(decodeBase64url(entry.content) as Uint8Array);
          entry.content = encodeBase64url(new TextEncoder().encode(text.replace('30 June', '30 July')));
          return i;
        },
        "is not what its sender's device signed: it was changed",
      ],
      [
        "the relay's stored time",
        (entries) => {
          const i = indexOf('relay-receipt');
          const entry = entries[i];
          if (entry?.type !== 'relay-receipt') throw new Error('no relay receipt');
          entry.receipt.storedAt -= 1;
          return i;
        },
        'is not what the relay key it names signed: it was changed',
      ],
      [
        'the time of the acknowledgement',
        (entries) => {
          const i = record.entries.findIndex((e) => e.type === 'receipt' && e.receipt.kind === 'acknowledged');
          const entry = entries[i];
          if (entry?.type !== 'receipt') throw new Error('no acknowledgement');
          entry.receipt.at += 1;
          return i;
        },
        'is not what the device it names signed: it was changed',
      ],
    ])('exits 1 with NOT VERIFIED and the entry, for a record with %s changed', async (_, change, why) => {
      let index = -1;
      await write(
        'tampered.json',
        tampered((entries) => {
          index = change(entries);
        }),
      );
      const { code, stdout } = await verify('tampered.json', '--roots', 'seajust.root.json');
      expect(code).toBe(1);
      expect(stdout).toMatch(new RegExp(`^NOT VERIFIED: entry ${index + 1}: .+\\.\\n$`));
      expect(stdout).toContain(why);
      await rm(join(dir, 'tampered.json'));
    });

    it('--html writes the page of a record that verifies, and none for one that does not', async () => {
      const ok = await verify('record.json', '--roots', 'seajust.root.json', '--html', 'record.html');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('The same, for people: record.html');
      const html = await readFile(join(dir, 'record.html'), 'utf8');
      expect(html).toContain('Bank records, account 0042-118');
      expect(html).toContain(requestId);
      // The markup in the request's text is shown as text, never run.
      expect(html).not.toContain('<script');
      expect(html).not.toContain('<img');
      expect(html).toContain(
        '&lt;/pre&gt;&lt;script&gt;alert(&#39;court&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;',
      );
      await write(
        'tampered.json',
        tampered((entries) => {
          entries.splice(1, 1);
        }),
      );
      const refused = await verify('tampered.json', '--roots', 'seajust.root.json', '--html', 'tampered.html');
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/^NOT VERIFIED: entry 2: it does not follow the entry before it: /);
      await expect(stat(join(dir, 'tampered.html'))).rejects.toMatchObject({ code: 'ENOENT' });
    });

    it('refuses, clearly, a file that is not JSON, JSON that is not a record, and a record checked against another root', async () => {
      await writeFile(join(dir, 'notes.txt'), 'Minutes of the meeting of 3 March.\n');
      const notJson = await verify('notes.txt', '--roots', 'seajust.root.json');
      expect([notJson.code, notJson.stdout, notJson.stderr]).toEqual([
        1,
        '',
        'liaison: cannot read the case record notes.txt: not a readable JSON file\n',
      ]);
      const notRecord = await verify('seajust.root.json', '--roots', 'seajust.root.json');
      expect(notRecord.code).toBe(1);
      expect(notRecord.stdout).toMatch(/^NOT VERIFIED: not a case record: format: /);
      const elsewhere = await testNetwork('seajust');
      await write('other.root.json', elsewhere.root);
      const otherRoot = await verify('record.json', '--roots', 'other.root.json');
      expect(otherRoot.code).toBe(1);
      expect(otherRoot.stdout).toMatch(
        /^NOT VERIFIED: entry 1: the sender of message \S+: the certificate of "th-oag" is not signed by the root of "seajust" \(BAD_SIGNATURE\)\.\n$/,
      );
    });

    it("with --revocations, refuses the acknowledgement Bob's device signed once it was revoked", async () => {
      const index = record.entries.findIndex((e) => e.type === 'receipt' && e.receipt.kind === 'acknowledged');
      const acknowledged = record.entries[index];
      if (acknowledged?.type !== 'receipt') throw new Error('no acknowledgement');
      // Revoked (key compromise) at the very time it signed the acknowledgement: what it signed from then on does not count.
      await write(
        'bob-device.revocation.json',
        revoke(bobAccount.accountKeys, {
          networkId: 'seajust',
          subject: 'device',
          subjectId: bobDevice.id,
          reason: 'key-compromise',
          revokedAt: acknowledged.receipt.at,
        }),
      );
      const { code, stdout } = await verify(
        'record.json',
        '--roots',
        'seajust.root.json',
        '--revocations',
        'bob-device.revocation.json',
      );
      expect(code).toBe(1);
      expect(stdout).toMatch(new RegExp(`^NOT VERIFIED: entry ${index + 1}: .*was revoked`));
    });

    // A refusal's grounds are multi-line text (tabs, CR and LF allowed): `liaison record verify`
    // prints them on the status line, quoted, with line breaks shown as ⏎, so the refusing side
    // cannot write lines that read as the verifier's own.
    it("prints a refusal's grounds so that they cannot pass for the verifier's own lines", async () => {
      const { requestId: refusedId } = await alice.client.requests.open('vn-spp.bob6', {
        kind: 'extradition',
        legalBasis: 'Bilateral extradition treaty, art. 3',
        text: 'Request for the extradition of the person named in the attached warrant.',
      });
      await until(() => bob.messages.some((m) => m.messageId === refusedId), 'the second request, at Bob');
      const forged = `  2026-01-05 09:00:00 UTC: "vn-spp.bob6" stated executed`;
      await bob.client.requests.update(refusedId, {
        status: 'refused',
        grounds: `Dual criminality is not met.\n${forged}\r${forged}`,
      });
      await until(
        async () => (await alice.client.requests.get(refusedId))?.status === 'refused',
        'the refusal, at Alice',
      );
      await write('refused.json', (await exportRecord(alice.client, { request: refusedId })).record);
      const { code, stdout } = await verify('refused.json', '--roots', 'seajust.root.json');
      expect(code).toBe(0);
      expect(stdout).toContain('Status: refused.');
      // Every line the verifier prints is its own: none says "executed", no carriage return rewrites one.
      expect(stdout).not.toContain('\r');
      const claiming = stdout.split('\n').filter((line) => line.includes('stated executed'));
      expect(claiming).toHaveLength(1);
      expect(claiming[0]).toMatch(/stated refused; grounds: “Dual criminality is not met\. ⏎ /);
    });
  });
});
