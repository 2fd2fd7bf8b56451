import { isLiaisonError } from '@liaison/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { testNetwork } from './harness/network.js';
import { freePort, type RelayProcess, spawnRelay } from './harness/relay-process.js';

describe('a relay known by several origins (LIAISON_PUBLIC_ORIGIN as a list)', () => {
  let relay: RelayProcess;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let port: number;
  const clients: TestClient[] = [];
  beforeAll(async () => {
    net = await testNetwork();
    port = await freePort();
    relay = await spawnRelay([net.root], {
      LIAISON_PORT: String(port),
      LIAISON_PUBLIC_ORIGIN: `http://127.0.0.1:${port}, http://localhost:${port}`,
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await relay.stop();
  });

  it('lets clients in by either name, and they exchange a message', async () => {
    const alice = await net.authority('th-oag', 'TH').contactPoint('alice').addDevice();
    const bob = await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice();
    const a = await startClient(`http://127.0.0.1:${port}`, alice, [net.root]);
    const b = await startClient(`http://localhost:${port}`, bob, [net.root]);
    clients.push(a, b);
    await a.client.send(bob.address.contactPointId, { text: 'by two names' });
    expect((await b.waitForMessages(1)).map((m) => m.text)).toEqual(['by two names']);
  });

  it('takes the first listed origin as the one challenges name by default', async () => {
    const dave = await net.authority('my-agc', 'MY').contactPoint('dave').addDevice();
    const d = await startClient(`http://127.0.0.1:${port}`, dave, [net.root]);
    clients.push(d);
    expect(d.client.deviceId).toBe(dave.id);
  });

  it('refuses a client that addresses it by an origin not listed, naming both origins', async () => {
    const carol = await net.authority('ph-doj', 'PH').contactPoint('carol').addDevice();
    const error = await startClient(`http://127.0.0.1:${port}`, carol, [net.root], {
      relayOrigin: 'https://relay.example.org',
    }).catch((e: unknown) => e);
    expect(isLiaisonError(error, 'BAD_CHALLENGE')).toBe(true);
    expect((error as Error).message).toContain(`http://127.0.0.1:${port}`);
    expect((error as Error).message).toContain('https://relay.example.org');
  });
});
