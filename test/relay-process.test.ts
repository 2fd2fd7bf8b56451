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
    relay = await spawnRelay([net.root], { LIAISON_LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('gives every HTTP request an id: in the response, in an error body, and on its log line, with no ids from the path', async () => {
    const given = 'lb-7f3a9c21e4';
    const response = await fetch(`${relay.url}/v1/contact-points/vn-spp.secret-name`, {
      headers: { 'x-request-id': given },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('x-request-id')).toBe(given);
    expect(await response.json()).toMatchObject({ error: 'UNAUTHENTICATED', requestId: given });
    const fresh = await fetch(`${relay.url}/healthz`, { headers: { 'x-request-id': 'not an id; drop table' } });
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const started = Date.now();
    while (!relay.output().includes(given) && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 50));
    const line = relay
      .output()
      .split('\n')
      .find((l) => l.includes(given));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      event: 'http.request',
      requestId: given,
      method: 'GET',
      status: 401,
    });
    expect(relay.output()).not.toContain('secret-name');
  });

  it('answers a path no endpoint has like any refusal: the error body, with the request id', async () => {
    const response = await fetch(`${relay.url}/v1/no-such-endpoint`, { headers: { 'x-request-id': 'lb-5e1f0a77' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: 'NOT_FOUND',
      message: 'no such endpoint',
      requestId: 'lb-5e1f0a77',
    });
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
