import { certifyDevice, registerWebhook, revoke } from '@liaison/client';
import { CLIENT_EVENTS, encodeBase64url } from '@liaison/protocol';
import { ROUTES } from '@liaison/server';
import { sql } from 'kysely';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, connect, EVENTS_QUERY, http, proof, register, token } from './harness/device-client.js';
import { buildSend } from './harness/messaging.js';
import { type TestDevice, testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';

/**
 * Every endpoint and every socket event against every wrong identity. The lists come from the
 * relay's route table and the protocol's event list: an endpoint or event added without an entry
 * here fails this test.
 */
describe('authorization matrix', () => {
  let relay: TestRelay;
  let owner: TestDevice;
  let other: TestDevice;
  let revoked: TestDevice;
  let expired: TestDevice;
  let stranger: TestDevice;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let th: ReturnType<typeof net.authority>;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay('pglite', { trustedRoots: [net.root], bundleFetchesPerMinute: 10_000 });
    th = net.authority('th-oag', 'TH');
    owner = await th.contactPoint('owner').addDevice();
    other = await net.authority('vn-spp', 'VN').contactPoint('other').addDevice();
    stranger = await net.authority('ph-doj', 'PH').contactPoint('stranger').addDevice();
    const revokedCp = th.contactPoint('revoked');
    revoked = await revokedCp.addDevice();
    const expiringCp = th.contactPoint('expiring');
    expired = await expiringCp.addDevice();
    // A device certificate valid for one more minute only.
    expired.chain = {
      ...expired.chain,
      device: certifyDevice(expiringCp.accountKeys, { ...expired.chain.device, notAfter: relay.clock.now + 60_000 }),
    };
    for (const device of [owner, other, stranger, revoked, expired])
      expect((await register(relay.url, device)).status).toBe(200);
    for (const [name, device] of Object.entries({ owner, other, stranger, revoked, expired }))
      tokens[name] = await token(relay.url, device);
    const revocation = revoke(revokedCp.accountKeys, {
      networkId: 'seajust',
      subject: 'device',
      subjectId: revoked.id,
      reason: 'key-compromise',
      revokedAt: Date.now(),
    });
    expect((await http(relay.url, 'POST', '/v1/revocations', revocation)).status).toBe(200);
    relay.clock.now += 2 * 60_000;
  });
  afterAll(() => relay.stop());

  const concrete = (path: string) =>
    path
      .replace(':contactPointId', 'th-oag.owner')
      .replace(':messageId', crypto.randomUUID())
      .replace(':blobId', crypto.randomUUID())
      .replace(':index', '0');

  /** A complete one-chunk blob uploaded by "owner" for "stranger" to read: what "other" must not touch. */
  let ownerBlob: Promise<{ blobId: string; path: string }> | undefined;
  const blobOfOwner = () => {
    ownerBlob ??= (async () => {
      const blobId = crypto.randomUUID();
      const create = { blobId, messageId: crypto.randomUUID(), size: 100, readers: [stranger.id] };
      expect((await http(relay.url, 'POST', '/v1/blobs', create, tokens.owner)).status).toBe(200);
      const put = await http(relay.url, 'PUT', `/v1/blobs/${blobId}/chunks/0`, new Uint8Array(100), tokens.owner);
      expect(put.body.complete).toBe(true);
      return { blobId, path: `/v1/blobs/${blobId}` };
    })();
    return ownerBlob;
  };
  const blobState = async () => {
    const { blobId } = await blobOfOwner();
    const { rows } = await sql`select b.stored_chunks, r.device_id, r.downloaded_at from blobs b
      join blob_readers r using (blob_id) where blob_id = ${blobId}`.execute(relay.relay.db);
    return rows;
  };
  const wrongTokens = () => ({
    none: undefined,
    garbage: 'A'.repeat(43),
    'revoked device': tokens.revoked,
    'expired certificate': tokens.expired,
  });

  /** What each unauthenticated endpoint must refuse, by wrong identity. */
  const OPEN_ROUTES: Record<string, () => Promise<void>> = {
    'post /v1/auth/challenge': async () => {
      // Asking for a challenge proves nothing and grants nothing; only a signed answer does.
      expect((await http(relay.url, 'POST', '/v1/auth/challenge', {})).body.error).toBe('INVALID_INPUT');
    },
    'post /v1/auth/token': async () => {
      expect((await http(relay.url, 'POST', '/v1/auth/token', {})).body.error).toBe('INVALID_INPUT');
      expect(
        (await http(relay.url, 'POST', '/v1/auth/token', await proof(relay.url, revoked, 'token'))).body.error,
      ).toBe('UNAUTHENTICATED');
      expect(
        (await http(relay.url, 'POST', '/v1/auth/token', await proof(relay.url, expired, 'token'))).body.error,
      ).toBe('EXPIRED');
      const stolen = { ...(await proof(relay.url, other, 'token')), deviceId: owner.id };
      expect((await http(relay.url, 'POST', '/v1/auth/token', stolen)).status).toBe(401);
    },
    'post /v1/devices': async () => {
      expect((await register(relay.url, revoked)).body.error).toBe('REVOKED');
      expect((await register(relay.url, expired)).body.error).toBe('EXPIRED');
      const impersonation = await register(relay.url, { ...other, chain: owner.chain });
      expect(impersonation.body.error).toBe('FORBIDDEN');
    },
    'post /v1/webhooks': async () => {
      expect((await http(relay.url, 'POST', '/v1/webhooks', {})).body.error).toBe('INVALID_INPUT');
      // Only the authority's own key registers its webhook: not a device of it, not another authority.
      const body = {
        networkId: 'seajust',
        authorityId: 'th-oag',
        url: 'https://alerts.th-oag.example/liaison',
        secret: encodeBase64url(new Uint8Array(32).fill(7)),
        issuedAt: relay.clock.now,
      };
      for (const keys of [owner.identity, net.authority('vn-spp', 'VN').keys]) {
        const forged = registerWebhook(keys, body);
        expect((await http(relay.url, 'POST', '/v1/webhooks', forged)).body.error).toBe('BAD_SIGNATURE');
      }
      expect((await http(relay.url, 'POST', '/v1/webhooks', registerWebhook(th.keys, body))).status).toBe(200);
    },
    'get /v1/network/manifest': async () => {
      // A public statement its root signed: no identity gets more or less. This relay has no key, so none.
      for (const t of [undefined, tokens.owner, tokens.revoked]) {
        const { status, body } = await http(relay.url, 'GET', '/v1/network/manifest', undefined, t);
        expect([status, body.error]).toEqual([404, 'NOT_FOUND']);
      }
    },
    'post /v1/revocations': async () => {
      // Revocations are public statements; only the issuer above the subject can make one that counts.
      const { body } = await http(relay.url, 'POST', '/v1/revocations', {});
      expect(body.error).toBe('INVALID_INPUT');
    },
  };

  /** What an authenticated device must not reach through each endpoint: the state of another contact point. */
  const OWNED: Record<string, () => Promise<void>> = {
    'post /v1/prekeys': async () => {
      const before = (await http(relay.url, 'GET', '/v1/prekeys/count', undefined, tokens.owner)).body.oneTimePrekeys;
      await http(
        relay.url,
        'POST',
        '/v1/prekeys',
        { oneTimePrekeys: [{ id: 424242, publicKey: owner.id }] },
        tokens.other,
      );
      expect((await http(relay.url, 'GET', '/v1/prekeys/count', undefined, tokens.owner)).body.oneTimePrekeys).toBe(
        before,
      );
    },
    'get /v1/prekeys/count': async () => {
      await http(relay.url, 'GET', '/v1/contact-points/th-oag.owner/bundles', undefined, tokens.other);
      const mine = (await http(relay.url, 'GET', '/v1/prekeys/count', undefined, tokens.other)).body;
      const theirs = (await http(relay.url, 'GET', '/v1/prekeys/count', undefined, tokens.owner)).body;
      expect(mine.oneTimePrekeys).not.toBe(theirs.oneTimePrekeys);
    },
    'put /v1/availability': async () => {
      await http(relay.url, 'PUT', '/v1/availability', { status: 'away' }, tokens.other);
      const entry = (await http(relay.url, 'GET', '/v1/contact-points/th-oag.owner', undefined, tokens.owner)).body;
      expect(entry.availability).toEqual({ status: 'available' });
    },
    'get /v1/receipts': async () => {
      const c = await connect(relay.url, owner);
      expect((await c.call('send', await buildSend(relay.url, owner, 'vn-spp.other', 'x'))).ok).toBe(true);
      c.close();
      expect(
        (await http(relay.url, 'GET', '/v1/receipts', undefined, tokens.owner)).body.receipts.length,
      ).toBeGreaterThan(0);
      expect((await http(relay.url, 'GET', '/v1/receipts', undefined, tokens.other)).body.receipts).toEqual([]);
    },
    'get /v1/urgent/:messageId': async () => {
      const c = await connect(relay.url, owner);
      const request = await buildSend(relay.url, owner, 'vn-spp.other', 'urgent', {
        acknowledgeWithinMs: 30 * 60_000,
      });
      expect((await c.call('send', request)).ok).toBe(true);
      c.close();
      const state = (t: string | undefined) => http(relay.url, 'GET', `/v1/urgent/${request.messageId}`, undefined, t);
      expect((await state(tokens.owner)).body.status).toBe('escalating');
      expect((await state(tokens.other)).body.status).toBe('escalating');
      expect((await state(tokens.stranger)).body.error).toBe('NOT_FOUND');
    },
    'post /v1/blobs': async () => {
      // A blob id is taken by its first uploader; another device cannot take it over.
      const { blobId } = await blobOfOwner();
      const before = await blobState();
      const create = { blobId, messageId: crypto.randomUUID(), size: 100, readers: [other.id] };
      expect((await http(relay.url, 'POST', '/v1/blobs', create, tokens.other)).body.error).toBe('CONFLICT');
      expect(await blobState()).toEqual(before);
    },
    'get /v1/blobs/:blobId': async () => {
      const { path } = await blobOfOwner();
      expect((await http(relay.url, 'GET', path, undefined, tokens.other)).body.error).toBe('NOT_FOUND');
      expect((await http(relay.url, 'GET', path, undefined, tokens.stranger)).body.complete).toBe(true);
    },
    'put /v1/blobs/:blobId/readers': async () => {
      const { path } = await blobOfOwner();
      const before = await blobState();
      const { body } = await http(relay.url, 'PUT', `${path}/readers`, { readers: [other.id] }, tokens.other);
      expect(body.error).toBe('NOT_FOUND');
      expect(await blobState()).toEqual(before);
    },
    'put /v1/blobs/:blobId/chunks/:index': async () => {
      const { path } = await blobOfOwner();
      const before = await blobState();
      const { body } = await http(relay.url, 'PUT', `${path}/chunks/0`, new Uint8Array(100).fill(1), tokens.other);
      expect(body.error).toBe('NOT_FOUND');
      expect(await blobState()).toEqual(before);
      expect((await http(relay.url, 'GET', `${path}/chunks/0`, undefined, tokens.stranger)).body).toEqual(
        new Uint8Array(100),
      );
    },
    'get /v1/blobs/:blobId/chunks/:index': async () => {
      const { path } = await blobOfOwner();
      expect((await http(relay.url, 'GET', `${path}/chunks/0`, undefined, tokens.other)).body.error).toBe('NOT_FOUND');
    },
    'post /v1/blobs/:blobId/downloaded': async () => {
      const { path } = await blobOfOwner();
      const before = await blobState();
      expect((await http(relay.url, 'POST', `${path}/downloaded`, undefined, tokens.other)).body.error).toBe(
        'NOT_FOUND',
      );
      expect(await blobState()).toEqual(before);
    },
    // Readable by any verified device, by design: the directory and prekey bundles are public to members.
    'get /v1/contact-points/:contactPointId/bundles': async () => {},
    'get /v1/contact-points/:contactPointId': async () => {},
    'get /v1/directory': async () => {},
  };

  it('covers every endpoint of the route table', () => {
    const keys = ROUTES.map((r) => `${r.method} ${r.path}`);
    for (const key of keys) expect(key in OPEN_ROUTES || key in OWNED, key).toBe(true);
    expect(
      ROUTES.filter((r) => !r.authenticated)
        .map((r) => `${r.method} ${r.path}`)
        .sort(),
    ).toEqual(Object.keys(OPEN_ROUTES).sort());
  });

  for (const route of ROUTES.filter((r) => r.authenticated)) {
    it(`${route.method.toUpperCase()} ${route.path}: refused without a valid, current device`, async () => {
      for (const [who, t] of Object.entries(wrongTokens())) {
        const { status, body } = await http(
          relay.url,
          route.method.toUpperCase(),
          concrete(route.path),
          route.method === 'get' ? undefined : {},
          t,
        );
        expect([status, body.error], who).toEqual([401, 'UNAUTHENTICATED']);
      }
      await OWNED[`${route.method} ${route.path}`]?.();
    });
  }

  for (const route of ROUTES.filter((r) => !r.authenticated)) {
    it(`${route.method.toUpperCase()} ${route.path}: refuses wrong identities`, async () => {
      await OPEN_ROUTES[`${route.method} ${route.path}`]?.();
    });
  }

  it('refuses a socket to anyone but a current device proving its key', async () => {
    const refusal = async (auth: unknown) => {
      const socket = io(relay.url, {
        transports: ['websocket'],
        reconnection: false,
        auth: auth as object,
        query: EVENTS_QUERY,
      });
      const error = await new Promise<{ data?: { error?: string } }>((resolve) => {
        socket.once('connect_error', resolve);
        socket.once('connect', () => resolve({ data: { error: 'CONNECTED' } }));
      });
      socket.close();
      return error.data?.error;
    };
    expect(await refusal({})).toBe('UNAUTHENTICATED');
    expect(await refusal({ proof: { deviceId: owner.id, nonce: 'A'.repeat(43), signature: 'A'.repeat(86) } })).toBe(
      'BAD_CHALLENGE',
    );
    expect(await refusal({ proof: await proof(relay.url, revoked, 'socket') })).toBe('UNAUTHENTICATED');
    expect(await refusal({ proof: await proof(relay.url, expired, 'socket') })).toBe('EXPIRED');
    expect(await refusal({ proof: { ...(await proof(relay.url, other, 'socket')), deviceId: owner.id } })).toBe(
      'BAD_CHALLENGE',
    );
  });

  /** For each event: what a device of another contact point must not be able to do to a message not addressed to it. */
  const EVENTS: Record<
    (typeof CLIENT_EVENTS)[number],
    (c: { sender: Connection; outsider: Connection; messageId: string }) => Promise<void>
  > = {
    send: async ({ sender, outsider }) => {
      // The sender is always the authenticated device: taken from the socket, never from the payload.
      expect((await outsider.call('send', await buildSend(relay.url, other, 'th-oag.owner', 'hello'))).ok).toBe(true);
      const [envelope] = await sender.waitForEnvelopes(1);
      expect(envelope?.senderDevice).toBe(other.id);
    },
    'envelopes:ack': async ({ outsider, messageId }) => {
      expect(await outsider.call('envelopes:ack', { messageIds: [messageId] })).toEqual({
        ok: true,
        value: { deleted: 0 },
      });
    },
    acknowledge: async ({ outsider, messageId }) => {
      expect(await outsider.call('acknowledge', { messageId })).toMatchObject({ ok: false, error: 'NOT_FOUND' });
    },
  };

  it("covers every socket event, and none reaches another contact point's messages", async () => {
    expect(Object.keys(EVENTS).sort()).toEqual([...CLIENT_EVENTS].sort());
    const sender = await connect(relay.url, owner);
    const outsider = await connect(relay.url, other);
    for (const event of CLIENT_EVENTS) {
      // A message from "owner" to "stranger": "other" is an outsider to it.
      const request = await buildSend(relay.url, owner, 'ph-doj.stranger', `probe ${event}`);
      expect((await sender.call('send', request)).ok).toBe(true);
      await EVENTS[event]({ sender, outsider, messageId: request.messageId });
    }
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from envelopes where recipient_device = ${stranger.id}`.execute(relay.relay.db);
    expect(rows[0]?.n).toBe(CLIENT_EVENTS.length);
    sender.close();
    outsider.close();
  });
});
