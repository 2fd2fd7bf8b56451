import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateIdentityKeyPair, type IdentityKeyPair, ready } from '@liaison/client';
import { signRequest } from '@liaison/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { token as bearerToken, type Connection, connect, http, register } from './harness/device-client.js';
import { manifestFor, relayKeyFile, type TestNetwork, writeJson } from './harness/federation.js';
import { relayCounter } from './harness/metrics.js';
import { type TestDevice, testNetwork } from './harness/network.js';
import { type PartnerNetworks, partnerNetworks } from './harness/partner-networks.js';
import { sendPeerRequest, signPeerRequest } from './harness/peer-requests.js';
import { freePort, runRelayToExit } from './harness/relay-process.js';
import { answerJson, type StandInRelay, startStandInRelay } from './harness/stand-in-relay.js';
import { until } from './harness/until.js';

/**
 * The attacks of the federation security review (issue #23), each made as the review made it (a
 * hostile partner relay, an outsider, a client of our own relay), and each asserting that it now
 * fails. Each group names the finding it guards.
 */

describe('manifests (review #23, finding 14): only the newest version of a network counts, and a relay belongs to one network', () => {
  let fed: PartnerNetworks;
  let rotated: IdentityKeyPair;
  const lookup = (key: IdentityKeyPair) =>
    sendPeerRequest(
      fed.relay('seajust').url,
      signPeerRequest(key, `${fed.net('seajust').origin}/federation/v1/contact-points/th-oag.nobody`, undefined, {
        method: 'GET',
      }),
    );

  beforeAll(async () => {
    await ready();
    rotated = generateIdentityKeyPair();
    // CASC rotated its relay key in version 2; the Thai operator added the new file beside the old.
    fed = await partnerNetworks([
      {
        id: 'seajust',
        partners: ['casc'],
        env: async (net, dir) => {
          const [seajust, casc] = [net('seajust'), net('casc')];
          const v2 = manifestFor(casc.net, casc.origin, rotated, [seajust.net], 2);
          const files = [seajust.manifestFile, await writeJson(dir, 'casc.v2.manifest.json', v2), casc.manifestFile];
          return { LIAISON_NETWORK_MANIFESTS: files.join(',') };
        },
      },
      { id: 'casc', partners: ['seajust'], standIn: true },
    ]);
  }, 120_000);
  afterAll(() => fed?.stop());

  it('refuses the relay key CASC retired in version 2, though the file of version 1 is still given, and says so at start', async () => {
    const url = fed.relay('seajust').url;
    const before = await relayCounter(url, 'liaison_federation_refused_total', 'reason="not-partner"');
    const retired = await lookup(fed.net('casc').relayKey);
    expect(retired.status).toBe(403);
    expect(retired.body.error).toBe('FORBIDDEN');
    expect(await relayCounter(url, 'liaison_federation_refused_total', 'reason="not-partner"')).toBe(before + 1);
    // The current key is CASC's: it is heard, and told there is no such contact point.
    expect((await lookup(rotated)).body.error).toBe('NOT_FOUND');
    const warning = fed
      .relay('seajust')
      .output()
      .split('\n')
      .find((line) => line.includes('federation.manifest-replaced'));
    expect(JSON.parse(warning ?? '{}').msg).toContain('"casc" version 1 is replaced by version 2');
  });

  describe('a relay named by two networks', () => {
    let dir: string;
    let nets: TestNetwork[];
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'liaison-shared-relay-'));
      nets = await Promise.all(['seajust', 'casc', 'wacap'].map((id) => testNetwork(id)));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    /**
     * The Thai relay (SEAJust, partnered with CASC and WACAP) started with the manifests of CASC's
     * and WACAP's relays as given: it must refuse to start. What it says.
     */
    const refusal = async (
      relays: (ours: { origin: string; key: IdentityKeyPair }) => { origin: string; key: IdentityKeyPair }[],
    ) => {
      const [seajust, casc, wacap] = nets as [TestNetwork, TestNetwork, TestNetwork];
      const port = await freePort();
      const ours = { origin: `http://127.0.0.1:${port}`, key: generateIdentityKeyPair() };
      const [ofCasc, ofWacap] = relays(ours) as [typeof ours, typeof ours];
      const manifests = [
        manifestFor(seajust, ours.origin, ours.key, [casc, wacap]),
        manifestFor(casc, ofCasc.origin, ofCasc.key, [seajust]),
        manifestFor(wacap, ofWacap.origin, ofWacap.key, [seajust]),
      ];
      const files = async (values: unknown[], name: string) =>
        (await Promise.all(values.map((v, i) => writeJson(dir, `${name}-${i}.json`, v)))).join(',');
      const exit = await runRelayToExit(
        {
          LIAISON_PORT: String(port),
          LIAISON_TRUSTED_ROOTS: await files(
            nets.map((n) => n.root),
            'root',
          ),
          LIAISON_RELAY_KEY: await writeJson(dir, 'relay-key.json', relayKeyFile(ours.key)),
          LIAISON_NETWORK_MANIFESTS: await files(manifests, 'manifest'),
        },
        {},
        30_000,
      );
      expect(exit.code).toBe(1);
      const fatal = exit.logLines.find((l) => l.level === 60);
      expect(fatal?.variable).toBe('LIAISON_NETWORK_MANIFESTS');
      return String(fatal?.msg);
    };

    it("refuses to start when WACAP's manifest names CASC's relay key: CASC's requests would be taken as WACAP's", async () => {
      const cascKey = generateIdentityKeyPair();
      const said = await refusal(() => [
        { origin: 'https://relay.casc.example', key: cascKey },
        { origin: 'https://relay.wacap.example', key: cascKey },
      ]);
      expect(said).toContain('relay signing key');
      expect(said).toContain('named by the manifests of both "casc" and "wacap"');
    }, 60_000);

    it('refuses to start when a partner manifest names our own origin for its relay', async () => {
      const said = await refusal((ours) => [
        { origin: ours.origin, key: generateIdentityKeyPair() },
        { origin: 'https://relay.wacap.example', key: generateIdentityKeyPair() },
      ]);
      expect(said).toContain('relay origin http://127.0.0.1:');
      expect(said).toContain('named by the manifests of both "seajust" and "casc"');
    }, 60_000);
  });
});

describe("a partner relay's answers (review #23, finding 2): read up to a cap, never whole", () => {
  let fed: PartnerNetworks;
  let token: string;
  const SIZE = 200 * 1024 * 1024;
  /** How the stand-in CASC relay answers every request: 200 MB of JSON, with or without Content-Length. */
  let declared = true;
  let written = 0;

  beforeAll(async () => {
    fed = await partnerNetworks([
      { id: 'seajust', partners: ['casc'] },
      { id: 'casc', partners: ['seajust'], standIn: true },
    ]);
    const block = Buffer.alloc(1024 * 1024, 0x20);
    stop.push(
      await startStandInRelay(fed.net('casc').port, async (_request, res) => {
        res.writeHead(200, { 'content-type': 'application/json', ...(declared && { 'content-length': String(SIZE) }) });
        let closed = false;
        res.once('close', () => {
          closed = true;
        });
        for (let sent = 0; sent < SIZE && !closed; sent += block.length) {
          if (!res.write(block))
            await new Promise((r) => (closed ? r(undefined) : res.once('drain', r).once('close', r)));
          written += block.length;
        }
        res.end();
      }),
    );
    const device = await fed.net('seajust').net.authority('th-oag', 'TH').contactPoint('somchai').addDevice();
    expect((await register(fed.relay('seajust').url, device)).status).toBe(200);
    token = await bearerToken(fed.relay('seajust').url, device);
  }, 120_000);
  const stop: StandInRelay[] = [];
  afterAll(async () => {
    await Promise.all(stop.map((s) => s.close()));
    await fed?.stop();
  });

  /** Somchai looks up a CASC contact point; the relay's memory meanwhile, and what it answered. */
  const lookUp = async (id: string) => {
    const relay = fed.relay('seajust');
    const rss = async () =>
      Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${relay.pid()}/status`, 'utf8'))?.[1]) / 1024;
    const before = await rss();
    let peak = before;
    let looking = true;
    const watch = (async () => {
      while (looking) {
        peak = Math.max(peak, await rss());
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    written = 0;
    const started = Date.now();
    const answer = await http(relay.url, 'GET', `/v1/contact-points/${id}`, undefined, token);
    const ms = Date.now() - started;
    looking = false;
    await watch;
    return { answer, ms, grewMb: peak - before };
  };

  it('refuses an answer whose Content-Length is over the cap before reading it, and counts it', async () => {
    declared = true;
    const failures = () =>
      relayCounter(fed.relay('seajust').url, 'liaison_federation_peer_failures_total', 'reason="too-large"');
    const before = await failures();
    const { answer, ms, grewMb } = await lookUp('am-pgo.huge');
    expect([404, 503]).toContain(answer.status);
    expect(ms).toBeLessThan(5000);
    expect(grewMb).toBeLessThan(50);
    // Only what the connection buffers left the stand-in: the relay hung up at the headers.
    expect(written).toBeLessThan(32 * 1024 * 1024);
    expect(await failures()).toBe(before + 1);
  });

  it('stops reading an answer that passes the cap when no Content-Length announces it', async () => {
    declared = false;
    const { answer, grewMb } = await lookUp('am-pgo.endless');
    expect([404, 503]).toContain(answer.status);
    expect(grewMb).toBeLessThan(100);
    expect(written).toBeLessThan(64 * 1024 * 1024);
    expect(fed.relay('seajust').alive()).toBe(true);
  });
});

describe('requests to /federation/v1 (review #23, finding 5): authenticated from their headers before any body is read', () => {
  let fed: PartnerNetworks;
  const relayUrl = () => fed.relay('seajust').url;
  const inbox = () => `${fed.net('seajust').origin}/federation/v1/inbox`;
  const MIB = 1024 * 1024;

  beforeAll(async () => {
    fed = await partnerNetworks([
      { id: 'seajust', partners: ['casc'] },
      { id: 'casc', partners: ['seajust'], standIn: true },
    ]);
  }, 120_000);
  afterAll(() => fed?.stop());

  const rss = async () =>
    Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${fed.relay('seajust').pid()}/status`, 'utf8'))?.[1]) / 1024;
  /** The relay's memory while `work` runs: how much it grew at most, in MB. */
  const growth = async (work: () => Promise<unknown>) => {
    const before = await rss();
    let peak = before;
    let running = true;
    const watch = (async () => {
      while (running) {
        peak = Math.max(peak, await rss());
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await work().finally(() => {
      running = false;
    });
    await watch;
    return peak - before;
  };

  it('answers an unsigned request at once, without waiting for the 12 MiB its headers announce', async () => {
    const answered = await new Promise<string>((done) => {
      const req = request(
        `${relayUrl()}/federation/v1/inbox`,
        { method: 'POST', headers: { 'content-length': String(12 * MIB - 1), host: new URL(inbox()).host } },
        (res) => done(`answered ${res.statusCode}`),
      );
      req.on('error', () => undefined);
      req.write(Buffer.alloc(1024, 0x20));
      setTimeout(() => {
        done('no answer after 2 s with 1 KiB of 12 MiB sent');
        req.destroy();
      }, 2000);
    });
    expect(answered).toBe('answered 401');
  });

  it('holds nothing for sixty unsigned 12 MiB posts at once, as anyone could send', async () => {
    const body = Buffer.alloc(12 * MIB - 1, 0x20);
    const statuses: (number | string)[] = [];
    const grew = await growth(() =>
      Promise.all(
        Array.from({ length: 60 }, () =>
          fetch(`${relayUrl()}/federation/v1/inbox`, { method: 'POST', body }).then(
            (r) => statuses.push(r.status),
            // The relay hangs up on a body it will not read: the client may see that first.
            () => statuses.push('connection closed'),
          ),
        ),
      ),
    );
    expect(statuses.filter((s) => s !== 401 && s !== 'connection closed')).toEqual([]);
    expect(grew).toBeLessThan(100);
  });

  it("refuses a partner's compressed body without inflating it, and a body where none is expected", async () => {
    const casc = fed.net('casc').relayKey;
    const zipped = gzipSync(Buffer.from(JSON.stringify({ items: [] })));
    // Signed as sent: the digest is of the compressed bytes.
    const headers = signRequest(
      casc,
      { method: 'POST', targetUri: inbox(), body: zipped },
      { created: Math.floor(Date.now() / 1000), nonce: randomBytes(16) },
    );
    const compressed = await sendPeerRequest(relayUrl(), {
      method: 'POST',
      targetUri: inbox(),
      headers: { ...headers, 'content-encoding': 'gzip' },
      body: zipped,
    });
    expect(compressed.status).toBe(400);
    expect(compressed.body.error).toBe('INVALID_INPUT');
    // A lookup carries no body: a large one is refused, not read.
    const padded = await sendPeerRequest(
      relayUrl(),
      signPeerRequest(
        casc,
        `${fed.net('seajust').origin}/federation/v1/contact-points/th-oag.nobody`,
        { padding: 'x'.repeat(64 * 1024) },
        { method: 'GET' },
      ),
    );
    expect(padded.status).toBe(413);
    expect(padded.body.error).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe("budgets (review #23, finding 6): lookups cannot starve deliveries, and one device cannot spend its relay's lookups at a partner", () => {
  let fed: PartnerNetworks;
  let somchai: TestClient;
  let somchaiDevice: TestDevice;
  let lilit: TestClient;
  const a = () => fed.relay('seajust').url;
  const b = () => fed.relay('casc').url;

  beforeAll(async () => {
    // Small budgets, so that spending them takes a few requests, not thousands.
    fed = await partnerNetworks([
      { id: 'seajust', partners: ['casc'], env: { LIAISON_REMOTE_BLOB_REQUESTS_PER_MINUTE: '10' } },
      { id: 'casc', partners: ['seajust'], env: { LIAISON_FEDERATION_LOOKUPS_PER_MINUTE: '30' } },
    ]);
    const thai = fed.net('seajust').net.authority('th-oag', 'TH');
    somchaiDevice = await thai.contactPoint('somchai').addDevice();
    somchai = await startClient(a(), somchaiDevice, fed.roots);
    lilit = await startClient(
      b(),
      await fed.net('casc').net.authority('am-pgo', 'AM').contactPoint('lilit').addDevice(),
      fed.roots,
    );
    // The case is under way: the Thai relay knows Lilit's devices.
    await somchai.client.send('am-pgo.lilit', { text: 'Request 1' });
    await lilit.waitForMessages(1, 30_000);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([somchai, lilit].map((c) => c?.client.close()));
    await fed?.stop();
  });

  it('limits per device the lookups of attachments not stored here, which each ask the partner relays', async () => {
    const mallory = await fed.net('seajust').net.authority('th-oag', 'TH').contactPoint('mallory').addDevice();
    expect((await register(a(), mallory)).status).toBe(200);
    const token = await bearerToken(a(), mallory);
    const asked = () => fed.relay('casc').output().split('"route":"/blobs/:blobId"').length - 1;
    const before = asked();
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      statuses.push((await http(a(), 'GET', `/v1/blobs/${crypto.randomUUID()}`, undefined, token)).status);
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(404));
    expect(statuses.slice(10)).toEqual(Array(5).fill(429));
    expect(asked() - before).toBe(10);
  });

  it("delivers while the Thai relay's lookups at CASC are spent, and tells its users the partner is unavailable, not that nothing exists", async () => {
    // Whatever spends them (the Thai relay's users, or someone holding its key): lookups until CASC says enough.
    const lookup = () =>
      sendPeerRequest(
        b(),
        signPeerRequest(
          fed.net('seajust').relayKey,
          `${fed.net('casc').origin}/federation/v1/contact-points/am-pgo.nobody`,
          undefined,
          {
            method: 'GET',
          },
        ),
      );
    let answer = await lookup();
    for (let i = 0; i < 40 && answer.status !== 429; i++) answer = await lookup();
    expect(answer.body.error).toBe('RATE_LIMITED');
    // Deliveries have their own budget.
    const t0 = Date.now();
    const { messageId } = await somchai.client.send('am-pgo.lilit', { text: 'Request 2' });
    await until(() => lilit.messages.some((m) => m.messageId === messageId), 'request 2 at Lilit', 15_000);
    expect(Date.now() - t0).toBeLessThan(15_000);
    // Somchai asks for an attachment the Thai relay does not hold: CASC refuses to look, which is not "no such attachment".
    const limited = () => relayCounter(a(), 'liaison_federation_peer_failures_total', 'reason="rate-limited"');
    const before = await limited();
    const token = await bearerToken(a(), somchaiDevice);
    const blob = await http(a(), 'GET', `/v1/blobs/${crypto.randomUUID()}`, undefined, token);
    expect(blob.status).toBe(503);
    expect(blob.body.error).toBe('UNAVAILABLE');
    expect(await limited()).toBe(before + 1);
  });
});

describe('forwarding (review #23, finding 7): one slow partner does not hold up forwarding to the others', () => {
  let fed: PartnerNetworks;
  let wacap: StandInRelay;
  let somchai: TestClient;
  let lilit: TestClient;
  let niran: Connection;
  let niranDevice: TestDevice;
  let fatou: TestDevice;

  beforeAll(async () => {
    fed = await partnerNetworks([
      { id: 'seajust', partners: ['casc', 'wacap'] },
      { id: 'casc', partners: ['seajust'] },
      { id: 'wacap', partners: ['seajust'], standIn: true },
    ]);
    fatou = await fed.net('wacap').net.authority('sn-pj', 'SN').contactPoint('fatou').addDevice();
    const fatouEntry = {
      authority: fatou.chain.authority,
      contactPoint: fatou.chain.contactPoint,
      devices: [fatou.chain.device],
      availability: { status: 'available' },
    };
    // WACAP's relay answers Fatou's lookups at once, and every batch it is sent in 9 s: under the
    // 10 s timeout, so never a failure, always a wait.
    wacap = await startStandInRelay(fed.net('wacap').port, async (request, res) => {
      if (request.path === '/federation/v1/contact-points/sn-pj.fatou') return answerJson(res, fatouEntry);
      if (request.path !== '/federation/v1/inbox') return;
      const { items } = JSON.parse(request.body.toString('utf8')) as { items: unknown[] };
      await new Promise((r) => setTimeout(r, 9000));
      answerJson(res, { outcomes: items.map(() => ({ outcome: 'stored' })) });
    });
    const thai = fed.net('seajust').net.authority('th-oag', 'TH');
    somchai = await startClient(fed.relay('seajust').url, await thai.contactPoint('somchai').addDevice(), fed.roots);
    lilit = await startClient(
      fed.relay('casc').url,
      await fed.net('casc').net.authority('am-pgo', 'AM').contactPoint('lilit').addDevice(),
      fed.roots,
    );
    niranDevice = await thai.contactPoint('niran').addDevice();
    expect((await register(fed.relay('seajust').url, niranDevice)).status).toBe(200);
    niran = await connect(fed.relay('seajust').url, niranDevice);
    // Niran's device takes whatever comes, as any client does: each delivery queues a receipt for WACAP.
    niran.socket.on(
      'envelopes',
      (pushed) => void niran.call('envelopes:ack', { messageIds: pushed.map((e) => e.messageId) }),
    );
  }, 120_000);
  afterAll(async () => {
    niran?.close();
    await Promise.all([somchai, lilit].map((c) => c?.client.close()));
    await wacap?.close();
    await fed?.stop();
  });

  /** A message from Fatou (WACAP) to Niran, as WACAP's relay delivers it to the Thai relay. */
  const fromWacap = async () => {
    const request = {
      messageId: crypto.randomUUID(),
      recipient: 'th-oag.niran',
      priority: 'normal',
      createdAt: Date.now(),
      envelopes: [{ recipientDevice: niranDevice.id, kind: 'message', ciphertext: 'AAAA', escalationLevel: 0 }],
    };
    const inbox = `${fed.net('seajust').origin}/federation/v1/inbox`;
    const items = [{ kind: 'message', sender: fatou.chain, request }];
    return sendPeerRequest(fed.relay('seajust').url, signPeerRequest(fed.net('wacap').relayKey, inbox, { items }));
  };

  it("delivers Somchai's message to Lilit at once while WACAP's relay keeps its outbox busy, answering each batch in 9 s", async () => {
    const { messageId: first } = await somchai.client.send('am-pgo.lilit', { text: 'Request 1' });
    await until(() => lilit.messages.some((m) => m.messageId === first), 'request 1 at Lilit', 20_000);
    // WACAP sends Niran a message every 3 s: each delivery puts a receipt in its outbox at the Thai relay.
    let sending = true;
    const pump = (async () => {
      while (sending) {
        expect((await fromWacap()).status).toBe(200);
        await new Promise((r) => setTimeout(r, 3000));
      }
    })();
    try {
      await until(() => wacap.requests.some((r) => r.path === '/federation/v1/inbox'), 'a batch at WACAP', 20_000);
      await new Promise((r) => setTimeout(r, 2000));
      const started = Date.now();
      const { messageId } = await somchai.client.send('am-pgo.lilit', { text: 'Request 2' });
      await until(() => lilit.messages.some((m) => m.messageId === messageId), 'request 2 at Lilit', 20_000);
      // Not behind WACAP's 9 s batches.
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      sending = false;
      await pump;
    }
  }, 90_000);
});
