import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, http, register, token } from './harness/device-client.js';
import { buildSend } from './harness/messaging.js';
import { testNetwork } from './harness/network.js';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';

describe('the relay as a process (npm start, configured by the environment)', () => {
  let relay: RelayProcess;
  let net: Awaited<ReturnType<typeof testNetwork>>;

  beforeAll(async () => {
    net = await testNetwork();
    relay = await spawnRelay([net.root], { LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('starts on embedded PGlite, reports ready, serves devices, logs no secrets, and stops on SIGTERM', async () => {
    const url = relay.url;
    expect(relay.output()).toContain(`Liaison relay listening on ${url}`);
    expect(await http(url, 'GET', '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    expect(await http(url, 'GET', '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });

    const alice = await net.authority('th-oag', 'TH').contactPoint('alice').addDevice();
    const bob = await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice();
    expect((await register(url, alice)).status).toBe(200);
    expect((await register(url, bob)).status).toBe(200);
    const secretToken = await token(url, alice);
    const a = await connect(url, alice);
    const request = await buildSend(url, alice, 'vn-spp.bob', 'LOGMARKER plaintext');
    expect((await a.call('send', request)).ok).toBe(true);
    a.close();

    const output = relay.output();
    for (const secret of ['LOGMARKER', secretToken, request.envelopes[0]?.ciphertext.slice(0, 40) as string]) {
      expect(output.includes(secret)).toBe(false);
    }
    for (const line of output
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))) {
      expect(() => JSON.parse(line)).not.toThrow();
    }
    expect(await relay.stop()).toBe(0);
    expect(relay.output()).toContain('relay stopped');
  });
});
