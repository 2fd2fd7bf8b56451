import { randomBytes } from 'node:crypto';
import { certifyDevice, fromBytes, isLiaisonError } from '@liaison/client';
import {
  type Attachment,
  type DirectoryEntry,
  encodeBase64url,
  type ForwardedItem,
  MAX_TIMESTAMP,
  type SendRequest,
} from '@liaison/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { type Connection, connect, register } from './harness/device-client.js';
import { type Federation, federatedRelays } from './harness/federation.js';
import { buildSend } from './harness/messaging.js';
import { relayCounter } from './harness/metrics.js';
import type { TestDevice } from './harness/network.js';
import { type PartnerNetworks, partnerNetworks } from './harness/partner-networks.js';
import { sendPeerRequest, signPeerRequest } from './harness/peer-requests.js';
import type { RelayProcess } from './harness/relay-process.js';
import { postgresService } from './harness/services.js';
import { answerJson, type StandInRelay, startStandInRelay } from './harness/stand-in-relay.js';
import { until } from './harness/until.js';

/**
 * What a partner network's relay may speak for: its own network's contact points, under the
 * authorities its manifest owns, and the messages we forwarded to it. Each attack below was a
 * working proof of concept of the security review of federation; each must fail now.
 */

const refusals = (url: string, reason: string) =>
  relayCounter(url, 'liaison_federation_refused_total', `reason="${reason}"`);

postgresService.describe('federation ownership: what the CASC relay may not claim on the Thai relay', () => {
  let fed: Federation;
  let somchai: TestClient;
  let lilit: TestClient;
  let somchaiDevice: TestDevice;
  const clients: TestClient[] = [];
  const inbox = () => `${fed.a.origin}/federation/v1/inbox`;
  const asCasc = (path: string, body?: unknown, method: 'GET' | 'POST' = 'POST') =>
    sendPeerRequest(fed.a.relay.url, signPeerRequest(fed.b.relayKey, `${fed.a.origin}${path}`, body, { method }));

  beforeAll(async () => {
    fed = await federatedRelays();
    somchaiDevice = await fed.a.net.authority('th-oag', 'TH').contactPoint('somchai').addDevice();
    somchai = await startClient(fed.a.relay.url, somchaiDevice, fed.roots);
    const armenian = fed.b.net.authority('am-pgo', 'AM');
    lilit = await startClient(fed.b.relay.url, await armenian.contactPoint('lilit').addDevice(), fed.roots);
    clients.push(
      somchai,
      lilit,
      await startClient(fed.b.relay.url, await armenian.contactPoint('aram').addDevice(), fed.roots),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await fed?.stop();
  });

  it('refuses a message from a CASC-certified contact point under a Thai authority id, which CASC does not own', async () => {
    // CASC's root certifies "th-oag" and "th-oag.duty": an id of the Thai office, that Somchai would trust as his colleague's.
    const impostor = await fed.b.net.authority('th-oag', 'TH').contactPoint('duty').addDevice();
    const before = await refusals(fed.a.relay.url, 'foreign-claim');
    const request: SendRequest = {
      messageId: crypto.randomUUID(),
      recipient: 'th-oag.somchai',
      priority: 'normal',
      createdAt: Date.now(),
      envelopes: [{ recipientDevice: somchaiDevice.id, kind: 'message', ciphertext: 'AAAA', escalationLevel: 0 }],
    };
    const answer = await sendPeerRequest(
      fed.a.relay.url,
      signPeerRequest(fed.b.relayKey, inbox(), { items: [{ kind: 'message', sender: impostor.chain, request }] }),
    );
    expect(answer.body.outcomes).toEqual([{ outcome: 'refused', code: 'CHAIN_MISMATCH', message: expect.any(String) }]);
    expect(await refusals(fed.a.relay.url, 'foreign-claim')).toBe(before + 1);
    // Nor can CASC's own relay register it: its manifest does not own "th-oag".
    const registered = await register(fed.b.relay.url, impostor);
    expect([registered.status, (registered.body as { error?: string }).error]).toEqual([403, 'FORBIDDEN']);
    // And Somchai's relay never routes "th-oag.duty" to CASC.
    const reply = await somchai.client.send('th-oag.duty', { text: 'Here is the file' }).then(
      () => 'sent',
      (error) => (isLiaisonError(error) ? error.code : String(error)),
    );
    expect(reply).toBe('NOT_FOUND');
  });

  it('records no receipt about a contact point the message did not go to, and no urgent state for a normal message', async () => {
    const { messageId } = await somchai.client.send('am-pgo.lilit', { text: 'Request for Lilit only' });
    await until(() => lilit.messages.some((m) => m.messageId === messageId), 'Lilit has it', 30_000);
    const forged: ForwardedItem[] = [
      ...Array.from({ length: 5 }, (_, i) => ({
        kind: 'receipt' as const,
        id: 1_000_000 + i,
        receipt: {
          messageId,
          status: 'acknowledged' as const,
          contactPointId: 'am-pgo.aram',
          deviceId: encodeBase64url(new Uint8Array(randomBytes(32))),
          at: Date.now(),
        },
      })),
      // About Lilit, but dated a year before the message was sent.
      {
        kind: 'receipt',
        id: 1_000_010,
        receipt: {
          messageId,
          status: 'acknowledged',
          contactPointId: 'am-pgo.lilit',
          at: Date.now() - 365 * 86_400_000,
        },
      },
      {
        kind: 'urgent',
        state: {
          messageId,
          senderContactPoint: 'th-oag.somchai',
          status: 'acknowledged',
          level: 0,
          acknowledgeWithinMs: 60_000,
          levels: [{ level: 0, contactPointId: 'am-pgo.lilit', devices: 1, releasedAt: Date.now() }],
          acknowledged: {
            contactPointId: 'am-pgo.lilit',
            deviceId: encodeBase64url(new Uint8Array(32)),
            at: Date.now(),
          },
          updatedAt: MAX_TIMESTAMP,
        },
      },
    ];
    const answer = await asCasc('/federation/v1/inbox', { items: forged });
    expect(answer.body.outcomes.map((o: { outcome: string }) => o.outcome)).toEqual(forged.map(() => 'refused'));
    // Lilit's real receipts still come through; none of the forged ones does.
    await somchai.waitForReceipts(
      (rs) => rs.some((r) => r.messageId === messageId && r.status === 'delivered'),
      30_000,
    );
    expect(somchai.receipts.filter((r) => r.messageId === messageId && r.status === 'acknowledged')).toEqual([]);
    expect(somchai.urgent.filter((s) => s.messageId === messageId)).toEqual([]);
  });

  it('hands a partner no more prekey bundles of one contact point a minute than one device of ours may fetch', async () => {
    const victim = await fed.a.net.authority('th-oag', 'TH').contactPoint('victim').addDevice();
    expect((await register(fed.a.relay.url, victim, 10)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 70; i++) {
      // A made-up requester each time: the partner's word, so it does not decide the limit.
      const requester = encodeBase64url(new Uint8Array(randomBytes(32)));
      const answer = await asCasc(
        `/federation/v1/contact-points/th-oag.victim/bundles?requester=${requester}&hybrid=true`,
        undefined,
        'GET',
      );
      statuses.push(answer.status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.slice(60)).toEqual(Array(10).fill(429));
  });
});

describe('federation ownership: a device of ours certified by a partner contact point', () => {
  let networks: PartnerNetworks;
  let standIn: StandInRelay;
  let origin: string;
  let somchai: TestClient;
  let niran: TestClient;
  let niranDevice: TestDevice;
  let mole: TestDevice;
  let poisoned: DirectoryEntry | undefined;
  const asCasc = (method: 'GET' | 'POST', path: string, body?: unknown) =>
    sendPeerRequest(origin, signPeerRequest(networks.net('casc').relayKey, `${origin}${path}`, body, { method }));

  beforeAll(async () => {
    networks = await partnerNetworks([
      { id: 'seajust', partners: ['casc'] },
      { id: 'casc', partners: ['seajust'], standIn: true },
    ]);
    const seajust = networks.net('seajust').net;
    const casc = networks.net('casc');
    origin = networks.net('seajust').origin;
    const moleCp = casc.net.authority('am-pgo', 'AM').contactPoint('mole');
    mole = await moleCp.addDevice();
    // A stand-in for CASC's relay, with its real key: it answers a lookup of Mole with an entry
    // listing Niran's device (certified by Mole's account key, over Niran's public key).
    standIn = await startStandInRelay(casc.port, (request, res) => {
      if (request.path.startsWith('/federation/v1/contact-points/am-pgo.mole') && poisoned) answerJson(res, poisoned);
    });
    const relay = networks.relay('seajust');
    const thai = seajust.authority('th-oag', 'TH');
    niranDevice = await thai.contactPoint('niran').addDevice();
    somchai = await startClient(relay.url, await thai.contactPoint('somchai').addDevice(), networks.roots);
    niran = await startClient(relay.url, niranDevice, networks.roots);
    const now = Date.now();
    const forged = certifyDevice(moleCp.accountKeys, {
      contactPointId: moleCp.id,
      deviceId: niranDevice.id,
      deviceName: 'Office laptop',
      notBefore: now - 60_000,
      notAfter: now + 86_400_000,
    });
    poisoned = {
      authority: moleCp.authority,
      contactPoint: moleCp.certificate,
      devices: [mole.chain.device, forged],
      availability: { status: 'available' },
    };
  }, 120_000);

  afterAll(async () => {
    await Promise.all([somchai, niran].map((c) => c?.client.close()));
    await standIn?.close();
    await networks?.stop();
  });

  it('never lets the partner read, or delete, an attachment Somchai sent Niran, both of SEAJust', async () => {
    const file = new TextEncoder().encode('Witness statement, SEAJust internal'.repeat(100));
    const { messageId } = await somchai.client.send(
      'th-oag.niran',
      { text: 'attached' },
      { attachments: [fromBytes('w.txt', 'text/plain', file)] },
    );
    await until(() => niran.messages.some((m) => m.messageId === messageId), 'Niran has the message', 30_000);
    const received = niran.messages.find((m) => m.messageId === messageId);
    const attachment = received?.attachments?.[0] as Attachment;
    const { blobId } = attachment;
    // Mole writes to Niran: the Thai relay looks Mole up at CASC, and is shown Niran's device as Mole's.
    const request: SendRequest = {
      messageId: crypto.randomUUID(),
      recipient: 'th-oag.niran',
      priority: 'normal',
      createdAt: Date.now(),
      envelopes: [{ recipientDevice: niranDevice.id, kind: 'message', ciphertext: 'AAAA', escalationLevel: 0 }],
    };
    const sent = await asCasc('POST', '/federation/v1/inbox', {
      items: [{ kind: 'message', sender: mole.chain, request }],
    });
    expect(sent.body.outcomes).toEqual([{ outcome: 'stored' }]);
    await new Promise((r) => setTimeout(r, 500));
    for (const [method, path] of [
      ['GET', `/federation/v1/blobs/${blobId}?reader=${niranDevice.id}`],
      ['GET', `/federation/v1/blobs/${blobId}/chunks/0?reader=${niranDevice.id}`],
      ['POST', `/federation/v1/blobs/${blobId}/downloaded?reader=${niranDevice.id}`],
    ] as const) {
      expect((await asCasc(method, path, method === 'POST' ? {} : undefined)).status).toBe(404);
    }
    const parts: Uint8Array[] = [];
    await niran.client.download(attachment, (chunk) => void parts.push(chunk));
    expect(Buffer.compare(Buffer.concat(parts), Buffer.from(file))).toBe(0);
  });
});

describe('federation ownership: a partner relay that does not answer', () => {
  let networks: PartnerNetworks;
  let blackhole: StandInRelay;
  let relay: RelayProcess;
  let mallory: Connection;
  let somchai: Connection;
  let somchaiDevice: TestDevice;

  beforeAll(async () => {
    networks = await partnerNetworks([
      { id: 'seajust', partners: ['casc'] },
      { id: 'casc', partners: ['seajust'], standIn: true },
    ]);
    // CASC's relay takes every request and never answers.
    blackhole = await startStandInRelay(networks.net('casc').port, () => new Promise<void>(() => undefined));
    relay = networks.relay('seajust');
    const seajust = networks.net('seajust').net;
    const thai = seajust.authority('th-oag', 'TH');
    const malloryDevice = await thai.contactPoint('mallory').addDevice();
    somchaiDevice = await thai.contactPoint('somchai').addDevice();
    const niranDevice = await thai.contactPoint('niran').addDevice();
    for (const d of [malloryDevice, somchaiDevice, niranDevice])
      expect((await register(relay.url, d)).status).toBe(200);
    mallory = await connect(relay.url, malloryDevice);
    somchai = await connect(relay.url, somchaiDevice);
  }, 120_000);

  afterAll(async () => {
    mallory?.close();
    somchai?.close();
    await blackhole?.close();
    await networks?.stop();
  });

  const emit = (c: Connection, request: SendRequest) =>
    (c.socket.timeout(60_000).emitWithAck as unknown as (e: string, p: unknown) => Promise<{ error?: string }>)(
      'send',
      request,
    );

  it("answers a send to a CASC id it never saw at once, and holds nobody's send to a colleague behind the lookup", async () => {
    const local = await buildSend(relay.url, somchaiDevice, 'th-oag.niran', 'Request 7');
    const ghost = emit(mallory, {
      messageId: crypto.randomUUID(),
      recipient: 'am-pgo.ghost',
      priority: 'normal',
      createdAt: Date.now(),
      envelopes: [
        {
          recipientDevice: encodeBase64url(new Uint8Array(32).fill(7)),
          kind: 'message',
          ciphertext: 'AAAA',
          escalationLevel: 0,
        },
      ],
    });
    const answers = await Promise.all([ghost, emit(somchai, local)]);
    expect(answers[0].error).toBe('NOT_FOUND');
    expect(answers[1].error).toBeUndefined();
    // Both were answered while the lookup of the ghost was still waiting on CASC's relay.
    await until(() => blackhole.requests.length > 0, 'the lookup behind the send reached CASC', 10_000);
  });
});
