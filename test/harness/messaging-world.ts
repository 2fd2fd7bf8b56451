import { expect } from 'vitest';
import { type Connection, connect, register } from './device-client.js';
import { type TestDevice, testNetwork } from './network.js';
import { type Backend, startTestRelay, type TestRelay } from './relay.js';

/**
 * An in-process relay and four registered devices of three contact points in three countries:
 * Alice's office and phone (th-oag.alice), Bob's (vn-spp.bob) and Carol's (ph-doj.carol).
 */
export interface MessagingWorld {
  relay: TestRelay;
  net: Awaited<ReturnType<typeof testNetwork>>;
  alice1: TestDevice;
  alice2: TestDevice;
  bob: TestDevice;
  carol: TestDevice;
  /** Connects `device`; `close` closes every connection opened here. */
  online(device: TestDevice): Promise<Connection>;
  close(): Promise<void>;
}

export async function startMessagingWorld(
  backend: Backend,
  options: { persistent?: boolean } = {},
): Promise<MessagingWorld> {
  const net = await testNetwork();
  // The test harness authenticates and fetches bundles for every send (the SDK caches both), so lift those limits here.
  const relay = await startTestRelay(
    backend,
    {
      trustedRoots: [net.root],
      bundleFetchesPerMinute: 100_000,
      authAttemptsPerMinute: 100_000,
      sendsPerMinute: 100_000,
    },
    options,
  );
  const alice = net.authority('th-oag', 'TH').contactPoint('alice');
  const alice1 = await alice.addDevice('Alice office');
  const alice2 = await alice.addDevice('Alice phone');
  const bob = await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice();
  const carol = await net.authority('ph-doj', 'PH').contactPoint('carol').addDevice();
  for (const device of [alice1, alice2, bob, carol]) expect((await register(relay.url, device, 20)).status).toBe(200);
  const open: Connection[] = [];
  return {
    relay,
    net,
    alice1,
    alice2,
    bob,
    carol,
    async online(device) {
      const connection = await connect(relay.url, device);
      open.push(connection);
      return connection;
    },
    async close() {
      for (const connection of open) connection.close();
      await relay.stop();
    },
  };
}
