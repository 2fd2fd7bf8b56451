import { createPublicKey, verify } from 'node:crypto';
import {
  encodeBase64url,
  encodeRelayReceipt,
  manifestSignedBy,
  type NetworkManifest,
  type RelayReceipt,
  type SendResult,
} from '@liaison/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesOf, type Connection, connect, http, register } from './harness/device-client.js';
import { type ManifestRelay, relayWithManifest } from './harness/federation.js';
import { buildSend } from './harness/messaging.js';
import { type TestDevice, testNetwork } from './harness/network.js';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';

/**
 * The relay's signed "stored at" (issue #24), as a sender's tool receives it: a relay whose
 * network's manifest certifies its key signs each send's result, and serves that manifest; a
 * relay without a key signs nothing and has no manifest to serve.
 */

/**
 * Ed25519 as a court's own tool would check it: Node's OpenSSL, not the relay's libsodium, so the
 * signature is shown to be plain Ed25519 over the protocol's bytes, not a quirk both sides share.
 */
function ed25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: encodeBase64url(publicKey) }, format: 'jwk' });
  return verify(null, message, key, signature);
}

/** Whether the receipt is signed by the relay key it names, over `encodeRelayReceipt` of the rest. */
function receiptVerifies(receipt: RelayReceipt): boolean {
  const { signature, ...body } = receipt;
  return ed25519(bytesOf(receipt.relayKey), encodeRelayReceipt(body), bytesOf(signature));
}

type SendAck = { ok: true; value: SendResult } | { ok: false; error: string };

function accepted(ack: SendAck): SendResult {
  if (!ack.ok) throw new Error(`send refused: ${ack.error}`);
  return ack.value;
}

describe('a relay with its key and its own network manifest, federating with nobody', () => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let relay: ManifestRelay;
  let alice: TestDevice;
  let bob: TestDevice;
  let aliceOnline: Connection;
  const url = () => relay.relay.url;

  beforeAll(async () => {
    net = await testNetwork('seajust');
    relay = await relayWithManifest(net);
    alice = await net.authority('th-oag', 'TH').contactPoint('alice').addDevice('Office laptop');
    bob = await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice('Office laptop');
    for (const device of [alice, bob]) expect((await register(url(), device)).status).toBe(200);
    aliceOnline = await connect(url(), alice);
  }, 60_000);

  afterAll(async () => {
    aliceOnline?.close();
    await relay?.stop();
  });

  it('serves the manifest of its network, which the network root signed', async () => {
    const { status, body } = await http(url(), 'GET', '/v1/network/manifest');
    expect(status).toBe(200);
    expect(body).toEqual(relay.manifest);
    expect(manifestSignedBy(body, net.root.publicKey, ed25519)).toBe(true);
  });

  it('signs what it stored, from whom and when, with a key that manifest certifies', async () => {
    const request = await buildSend(url(), alice, 'vn-spp.bob', 'Request for bank records, case 2026/114');
    const result = accepted(await aliceOnline.call('send', request));
    expect(result.duplicate).toBe(false);
    expect(result.stored).toEqual({
      messageId: request.messageId,
      senderContactPoint: 'th-oag.alice',
      senderDevice: alice.id,
      storedAt: result.serverTime,
      networkId: 'seajust',
      relayKey: encodeBase64url(relay.relayKey.publicKey),
      signature: expect.any(String),
    });
    const stored = result.stored as RelayReceipt;
    expect(receiptVerifies(stored)).toBe(true);
    // The key is one the root-signed manifest names for the network's relays, as a court would check.
    const manifest: NetworkManifest = (await http(url(), 'GET', '/v1/network/manifest')).body;
    expect(manifestSignedBy(manifest, net.root.publicKey, ed25519)).toBe(true);
    expect(manifest.networkId).toBe(stored.networkId);
    expect(manifest.relays.map((r) => r.signingKey)).toContain(stored.relayKey);
    // The signature holds for these facts only: another time or another sender does not verify.
    expect(receiptVerifies({ ...stored, storedAt: stored.storedAt + 1 })).toBe(false);
    expect(receiptVerifies({ ...stored, senderContactPoint: 'vn-spp.bob' })).toBe(false);
    expect(relay.relay.output()).not.toContain(stored.signature);
  });

  it('answers the same message id again as a duplicate with the first stored time, still signed', async () => {
    const request = await buildSend(url(), alice, 'vn-spp.bob', 'Follow-up on case 2026/114');
    const first = accepted(await aliceOnline.call('send', request));
    // Later by the relay's clock, so that a receipt made from the retry's own time would differ.
    await new Promise((r) => setTimeout(r, 20));
    const again = accepted(await aliceOnline.call('send', request));
    expect(again.duplicate).toBe(true);
    expect(again.serverTime).toBe(first.serverTime);
    expect(again.stored?.storedAt).toBe(first.serverTime);
    expect(receiptVerifies(again.stored as RelayReceipt)).toBe(true);
    // Ed25519 is deterministic: the same statement, signed again, is the same receipt.
    expect(again.stored).toEqual(first.stored);
  });

  it('signs the result of an urgent send too', async () => {
    const request = await buildSend(url(), alice, 'vn-spp.bob', 'Urgent: freeze the account today', {
      acknowledgeWithinMs: 600_000,
    });
    const result = accepted(await aliceOnline.call('send', request));
    expect(result.stored).toMatchObject({ messageId: request.messageId, storedAt: result.serverTime });
    expect(receiptVerifies(result.stored as RelayReceipt)).toBe(true);
  });

  it('registers only contact points of the authorities its manifest names, as any federated relay', async () => {
    const outsider = await net.authority('la-mfa', 'LA').contactPoint('khamla').addDevice();
    const { status, body } = await register(url(), outsider);
    expect([status, body.error]).toEqual([403, 'FORBIDDEN']);
  });
});

describe('a relay without a relay key', () => {
  let relay: RelayProcess;
  let alice: TestDevice;
  let aliceOnline: Connection;

  beforeAll(async () => {
    const net = await testNetwork('seajust');
    relay = await spawnRelay([net.root]);
    alice = await net.authority('th-oag', 'TH').contactPoint('alice').addDevice();
    const bob = await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice();
    for (const device of [alice, bob]) expect((await register(relay.url, device)).status).toBe(200);
    aliceOnline = await connect(relay.url, alice);
  }, 60_000);

  afterAll(async () => {
    aliceOnline?.close();
    await relay?.stop();
  });

  it('stores and answers sends with no "stored at" receipt', async () => {
    const request = await buildSend(relay.url, alice, 'vn-spp.bob', 'Request for bank records');
    const result = accepted(await aliceOnline.call('send', request));
    expect(result).toEqual({ messageId: request.messageId, serverTime: expect.any(Number), duplicate: false });
  });

  it('has no manifest to serve', async () => {
    const { status, body } = await http(relay.url, 'GET', '/v1/network/manifest');
    expect([status, body.error]).toEqual([404, 'NOT_FOUND']);
    expect(body.message).toMatch(/no relay key and manifest of its network/);
  });
});
