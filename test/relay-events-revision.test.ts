import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SOCKET_EVENTS_QUERY, SOCKET_EVENTS_REVISION } from '@liaison/protocol';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient } from './harness/clients.js';
import { connect, proof, register } from './harness/device-client.js';
import { testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { until } from './harness/until.js';

/**
 * A client declares in its handshake's query the revision of the socket events it speaks (review
 * 25b, findings 3 and 8). One that does not (an SDK from before the `envelopes` frames, a Liaison Web tab
 * opened before the relay was upgraded) would connect and never hear an envelope: the relay
 * refuses it at the door with a code that says to update or reload.
 */
describe('the socket events revision in the handshake', () => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay('pglite', { trustedRoots: [net.root] });
  });
  afterAll(() => relay.stop());

  /** A raw socket.io handshake with `auth` and this `events` query: the relay's refusal code, or CONNECTED. */
  const handshake = async (auth: object, events: string | undefined) => {
    const socket = io(relay.url, {
      transports: ['websocket'],
      reconnection: false,
      auth,
      ...(events !== undefined && { query: { [SOCKET_EVENTS_QUERY]: events } }),
    });
    const outcome = await new Promise<{ data?: { error?: string; message?: string } }>((resolve) => {
      socket.once('connect_error', resolve);
      socket.once('connect', () => resolve({ data: { error: 'CONNECTED' } }));
    });
    socket.close();
    return outcome.data;
  };

  it('refuses a device that proves its key but declares no revision, or another one, with UPGRADE_REQUIRED', async () => {
    const device = await net.authority('th-oag', 'TH').contactPoint('old').addDevice();
    expect((await register(relay.url, device)).status).toBe(200);
    for (const events of [undefined, '1', String(SOCKET_EVENTS_REVISION + 1), '', ' 2']) {
      const refusal = await handshake({ proof: await proof(relay.url, device, 'socket') }, events);
      expect(refusal, `events: ${JSON.stringify(events)}`).toMatchObject({
        error: 'UPGRADE_REQUIRED',
        message: expect.stringMatching(/update the client, or reload the page/),
      });
    }
    // The same device with the revision is let in: the refusal was about the events, nothing else.
    expect(
      await handshake({ proof: await proof(relay.url, device, 'socket') }, String(SOCKET_EVENTS_REVISION)),
    ).toEqual({ error: 'CONNECTED' });
  });

  // A rolling upgrade: this SDK's socket may land on a node still of revision 1, which pushes one
  // `envelope` per event and ignores the query (review 25b, finding 8). The node here is a socket.io
  // server of that revision in front of the real relay, which answers everything else.
  it('takes a message from a relay node not yet upgraded, which pushes one `envelope` per event', async () => {
    const http = createServer((req, res) => {
      const url = new URL(relay.url);
      const upstream = request({
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      });
      upstream.on('response', (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    const oldNode = new Server(http, { transports: ['websocket'] });
    const acked: string[][] = [];
    oldNode.on('connection', (socket) => {
      socket.on('envelopes:ack', (request: { messageIds: string[] }, ack: (answer: unknown) => void) => {
        acked.push(request.messageIds);
        ack({ ok: true, value: { deleted: request.messageIds.length } });
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const oldUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      const device = await net.authority('vn-spp', 'VN').contactPoint('during-upgrade').addDevice();
      const recipient = await startClient(oldUrl, device, [net.root], { relayOrigin: relay.url });
      const sender = await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint('s2').addDevice(), [
        net.root,
      ]);
      const { messageId } = await sender.client.send('vn-spp.during-upgrade', {
        text: 'sent while the relay upgrades',
      });
      // The envelope as the relay stored it, read by a device socket of the same device.
      const raw = await connect(relay.url, device);
      const [envelope] = await raw.waitForEnvelopes(1);
      raw.close();
      oldNode.emit('envelope', envelope);
      expect((await recipient.waitForMessages(1)).map((m) => m.text)).toEqual(['sent while the relay upgrades']);
      await until(() => acked.flat().includes(messageId), 'the acknowledgement of the revision 1 envelope');
      await Promise.all([recipient.client.close(), sender.client.close()]);
    } finally {
      await new Promise((resolve) => oldNode.close(resolve));
    }
  });

  it('lets the SDK in, which declares it, and its messages flow', async () => {
    const sender = await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint('s').addDevice(), [
      net.root,
    ]);
    const recipient = await startClient(relay.url, await net.authority('vn-spp', 'VN').contactPoint('r').addDevice(), [
      net.root,
    ]);
    await sender.client.send('vn-spp.r', { text: 'over the new events' });
    expect((await recipient.waitForMessages(1)).map((m) => m.text)).toEqual(['over the new events']);
    await sender.waitForReceipts((r) => r.some((x) => x.status === 'delivered'));
    await recipient.client.close();
    await sender.client.close();
  });
});
