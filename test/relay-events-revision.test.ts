import { SOCKET_EVENTS_REVISION } from '@liaison/protocol';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient } from './harness/clients.js';
import { proof, register } from './harness/device-client.js';
import { testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';

/**
 * A client declares in its handshake the revision of the socket events it speaks (review 25b,
 * finding 3). One that does not (an SDK from before the `envelopes` frames, a Liaison Web tab
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

  /** A raw socket.io handshake with `auth`: the relay's refusal code, or CONNECTED. */
  const handshake = async (auth: object) => {
    const socket = io(relay.url, { transports: ['websocket'], reconnection: false, auth });
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
    for (const events of [undefined, 1, SOCKET_EVENTS_REVISION + 1, String(SOCKET_EVENTS_REVISION), null]) {
      const refusal = await handshake({ proof: await proof(relay.url, device, 'socket'), events });
      expect(refusal, `events: ${JSON.stringify(events)}`).toMatchObject({
        error: 'UPGRADE_REQUIRED',
        message: expect.stringMatching(/update the client, or reload the page/),
      });
    }
    // The same device with the revision is let in: the refusal was about the events, nothing else.
    expect(
      await handshake({ proof: await proof(relay.url, device, 'socket'), events: SOCKET_EVENTS_REVISION }),
    ).toEqual({ error: 'CONNECTED' });
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
