import { certifyDevice, revoke } from '@liaison/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, EVENTS_QUERY, http, proof, register, token } from './harness/device-client.js';
import { testNetwork } from './harness/network.js';
import { describeEachBackend, startTestRelay, type TestRelay } from './harness/relay.js';

describeEachBackend('relay registration and authentication (%s)', (backend) => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let relay: TestRelay;
  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay(backend, { trustedRoots: [net.root] });
  });
  afterAll(() => relay.stop());

  it('registers a device whose chain verifies, and refuses one under an unknown root', async () => {
    const th = net.authority('th-oag', 'TH');
    const device = await th.contactPoint('somchai').addDevice();
    const ok = await register(relay.url, device);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ deviceId: device.id, contactPointId: 'th-oag.somchai' });

    const rogue = await (await testNetwork('seajust')).authority('th-oag', 'TH').contactPoint('fake').addDevice();
    const refused = await register(relay.url, rogue);
    expect([refused.status, refused.body.error]).toEqual([403, 'BAD_SIGNATURE']);
    const elsewhere = await (await testNetwork('ejn')).authority('fr', 'FR').contactPoint('marie').addDevice();
    expect((await register(relay.url, elsewhere)).body.error).toBe('UNKNOWN_ROOT');
  });

  it('re-registration replaces prekeys, never the identity; a designation cannot be taken over', async () => {
    const vn = net.authority('vn-spp', 'VN');
    const lan = vn.contactPoint('lan');
    const device = await lan.addDevice();
    await register(relay.url, device, 10);
    const t = await token(relay.url, device);
    expect((await http(relay.url, 'GET', '/v1/prekeys/count', undefined, t)).body.oneTimePrekeys).toBe(10);
    await register(relay.url, device, 3);
    expect((await http(relay.url, 'GET', '/v1/prekeys/count', undefined, t)).body).toMatchObject({
      oneTimePrekeys: 3,
      low: true,
    });
    // Same contact point id, designated with another account key: refused.
    const impostor = await vn.contactPoint('lan').addDevice();
    expect((await register(relay.url, impostor)).body.error).toBe('CONFLICT');
  });

  it("registers a contact point's first devices at the same moment, all of them", async () => {
    const la = net.authority('la-opp', 'LA').contactPoint('noy');
    const devices = [await la.addDevice('Laptop'), await la.addDevice('Phone'), await la.addDevice('Desk')];
    const answers = await Promise.all(devices.map((device) => register(relay.url, device)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    const rows = await relay.relay.db
      .selectFrom('devices')
      .select('device_id')
      .where('contact_point_id', '=', 'la-opp.noy')
      .execute();
    expect(rows.map((r) => r.device_id).sort()).toEqual(devices.map((d) => d.id).sort());
  });

  it('refuses a device key already registered under another contact point, though both chains verify', async () => {
    const kh = net.authority('kh-moj', 'KH');
    const owner = kh.contactPoint('sokha');
    const other = kh.contactPoint('dara');
    const device = await owner.addDevice();
    expect((await register(relay.url, device)).status).toBe(200);
    // The same device key, certified by another contact point's account key (both chains verify).
    const certifiedByOther = await other.addDevice();
    const borrowed = {
      ...device,
      chain: {
        ...certifiedByOther.chain,
        device: certifyDevice(other.accountKeys, {
          contactPointId: other.id,
          deviceId: device.id,
          deviceName: 'Borrowed laptop',
          notBefore: device.chain.device.notBefore,
          notAfter: device.chain.device.notAfter,
        }),
      },
    };
    const refused = await register(relay.url, borrowed);
    expect([refused.status, refused.body.error]).toEqual([409, 'CONFLICT']);
    const t = await token(relay.url, device);
    const entryOf = async (id: string) =>
      (await http(relay.url, 'GET', `/v1/contact-points/${id}`, undefined, t)).body as {
        devices?: { deviceId: string }[];
      };
    expect((await entryOf(owner.id)).devices?.map((d) => d.deviceId)).toEqual([device.id]);
    expect((await entryOf(other.id)).devices?.map((d) => d.deviceId) ?? []).not.toContain(device.id);
  });

  it('refuses a proof signed by another key, a replayed one, a stale one and one for another purpose', async () => {
    const device = await net.authority('th-oag', 'TH').contactPoint('a1').addDevice();
    await register(relay.url, device);
    const other = await net.authority('th-oag', 'TH').contactPoint('a2').addDevice();

    const forged = { ...(await proof(relay.url, other, 'token')), deviceId: device.id };
    expect((await http(relay.url, 'POST', '/v1/auth/token', forged)).body.error).toBe('BAD_CHALLENGE');
    const { body: challenge } = await http(relay.url, 'POST', '/v1/auth/challenge', {
      deviceId: device.id,
      purpose: 'token',
    });
    const wrongKey = { ...(await proof(relay.url, other, 'token')), deviceId: device.id, nonce: challenge.nonce };
    expect((await http(relay.url, 'POST', '/v1/auth/token', wrongKey)).body.error).toBe('UNAUTHENTICATED');

    const good = await proof(relay.url, device, 'token');
    expect((await http(relay.url, 'POST', '/v1/auth/token', good)).status).toBe(200);
    expect((await http(relay.url, 'POST', '/v1/auth/token', good)).body.error).toBe('BAD_CHALLENGE');

    const stale = await proof(relay.url, device, 'token');
    relay.clock.now += 61_000;
    expect((await http(relay.url, 'POST', '/v1/auth/token', stale)).body.error).toBe('BAD_CHALLENGE');
    relay.clock.now -= 61_000;

    const forSocket = await proof(relay.url, device, 'socket');
    expect((await http(relay.url, 'POST', '/v1/auth/token', forSocket)).body).toMatchObject({
      error: 'BAD_CHALLENGE',
      message: expect.stringContaining('"socket"'),
    });
    const socketReplay = await proof(relay.url, device, 'socket');
    const { io } = await import('socket.io-client');
    const first = io(relay.url, {
      transports: ['websocket'],
      reconnection: false,
      auth: { proof: socketReplay },
      query: EVENTS_QUERY,
    });
    await new Promise((resolve) => first.once('connect', () => resolve(undefined)));
    first.close();
    const second = io(relay.url, {
      transports: ['websocket'],
      reconnection: false,
      auth: { proof: socketReplay },
      query: EVENTS_QUERY,
    });
    const error = await new Promise<{ data?: { error?: string } }>((resolve) => second.once('connect_error', resolve));
    second.close();
    expect(error.data?.error).toBe('BAD_CHALLENGE');
    // Unregistered devices cannot connect at all.
    await expect(connect(relay.url, other)).rejects.toMatchObject({ body: { error: 'UNAUTHENTICATED' } });
  });

  it('hands out each one-time prekey once under 50 concurrent bundle fetches', async () => {
    const b = await net.authority('th-oag', 'TH').contactPoint('popular').addDevice();
    await register(relay.url, b, 30);
    const bOnline = await connect(relay.url, b);
    const low = new Promise<{ oneTimePrekeys: number; low: boolean }>((resolve) =>
      bOnline.socket.once('prekeys:low', resolve),
    );
    const a = await net.authority('vn-spp', 'VN').contactPoint('fetcher').addDevice();
    await register(relay.url, a);
    const t = await token(relay.url, a);
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        http(relay.url, 'GET', '/v1/contact-points/th-oag.popular/bundles', undefined, t),
      ),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    const ids = results.map((r) => r.body.bundles[0].oneTimePrekey?.id).filter((id) => id !== undefined);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    expect(results.filter((r) => r.body.bundles[0].oneTimePrekey === undefined)).toHaveLength(20);
    // The device was told its one-time prekeys ran low.
    expect((await low).low).toBe(true);
    bOnline.close();
    // Rate limited past the configured bundle fetches per minute.
    const more = await Promise.all(
      Array.from({ length: 15 }, () =>
        http(relay.url, 'GET', '/v1/contact-points/th-oag.popular/bundles', undefined, t),
      ),
    );
    const limited = more.find((r) => r.status === 429);
    expect(limited?.body).toMatchObject({ error: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number) } });
  });

  it('searches the directory, with certificates for the client to verify, and availability', async () => {
    const ph = net.authority('ph-doj', 'PH');
    const maria = ph.contactPoint('maria', {
      displayName: 'Maria Santos',
      languages: ['en', 'tl'],
      competences: ['mla', 'cybercrime-24-7'],
    });
    const device = await maria.addDevice();
    await register(relay.url, device);
    const t = await token(relay.url, device);
    const byCountry = await http(relay.url, 'GET', '/v1/directory?country=PH', undefined, t);
    expect(
      byCountry.body.entries.map((e: { contactPoint: { contactPointId: string } }) => e.contactPoint.contactPointId),
    ).toEqual(['ph-doj.maria']);
    expect(byCountry.body.entries[0]).toMatchObject({
      authority: { country: 'PH' },
      devices: [{ deviceId: device.id }],
    });
    for (const query of [
      'language=tl',
      'competence=cybercrime-24-7',
      'q=santos',
      'q=SANT',
      'network=seajust&country=PH',
    ]) {
      const { body } = await http(relay.url, 'GET', `/v1/directory?${query}`, undefined, t);
      expect(
        body.entries.map((e: { contactPoint: { contactPointId: string } }) => e.contactPoint.contactPointId),
        query,
      ).toContain('ph-doj.maria');
    }
    expect((await http(relay.url, 'GET', '/v1/directory?q=%25', undefined, t)).body.entries).toEqual([]);
    expect((await http(relay.url, 'GET', '/v1/directory?country=ph', undefined, t)).body.error).toBe('INVALID_INPUT');
    expect((await http(relay.url, 'GET', '/v1/directory?country=PH')).status).toBe(401);

    const away = { status: 'away', delegate: 'ph-doj.deputy', until: Date.now() + 3_600_000 };
    expect((await http(relay.url, 'PUT', '/v1/availability', away, t)).status).toBe(200);
    const after = await http(relay.url, 'GET', '/v1/directory?country=PH', undefined, t);
    expect(after.body.entries[0].availability).toEqual(away);
  });

  it('applies a revocation from the right issuer only: the revoked device can no longer authenticate', async () => {
    const id = net.authority('id-ago', 'ID');
    const budi = id.contactPoint('budi');
    const device = await budi.addDevice();
    await register(relay.url, device);
    const connection = await connect(relay.url, device);
    const byStranger = revoke(net.rootKeys, {
      networkId: 'seajust',
      subject: 'device',
      subjectId: device.id,
      reason: 'other',
      revokedAt: Date.now(),
    });
    expect((await http(relay.url, 'POST', '/v1/revocations', byStranger)).body.error).toBe('FORBIDDEN');
    const byAccount = revoke(budi.accountKeys, {
      networkId: 'seajust',
      subject: 'device',
      subjectId: device.id,
      reason: 'key-compromise',
      revokedAt: Date.now(),
    });
    const tampered = { ...byAccount, reason: 'other' };
    expect((await http(relay.url, 'POST', '/v1/revocations', tampered)).body.error).toBe('BAD_SIGNATURE');
    const replaced = new Promise<{ reason: string }>((resolve) => connection.socket.once('session:replaced', resolve));
    expect((await http(relay.url, 'POST', '/v1/revocations', byAccount)).body).toEqual({ applied: true });
    expect((await replaced).reason).toContain('revoked');
    await expect(token(relay.url, device)).rejects.toThrow(/UNAUTHENTICATED|REVOKED/);
    expect((await register(relay.url, device)).body.error).toBe('REVOKED');
  });

  it('records a revocation published before any device of its subject registered here, so none can register', async () => {
    const my = net.authority('my-agc', 'MY');
    const aisyah = my.contactPoint('aisyah');
    const laptop = await aisyah.addDevice();
    const now = Date.now();
    const designationRevoked = revoke(my.keys, {
      networkId: 'seajust',
      subject: 'contact-point',
      subjectId: aisyah.id,
      reason: 'left-post',
      revokedAt: now,
    });
    // Alone, the relay cannot tell who is above a subject it has never seen.
    expect((await http(relay.url, 'POST', '/v1/revocations', designationRevoked)).body.error).toBe('NOT_FOUND');
    // An issuer certificate of an untrusted network, or one that does not match the signer: refused.
    const foreign = (await testNetwork('ejn')).authority('my-agc', 'MY').certificate;
    const submit = (issuer: Record<string, unknown>, revocation = designationRevoked) =>
      http(relay.url, 'POST', '/v1/revocations', { revocation, issuer });
    expect((await submit({ authority: foreign })).body.error).toBe('CHAIN_MISMATCH');
    const other = net.authority('sg-agc', 'SG').certificate;
    expect((await submit({ authority: other })).body.error).toBe('FORBIDDEN');
    expect((await submit({ authority: aisyah.authority })).body).toEqual({ applied: true });
    expect((await register(relay.url, laptop)).body.error).toBe('REVOKED');

    // A device's revocation comes with the designation that certified it.
    const hafiz = my.contactPoint('hafiz');
    const phone = await hafiz.addDevice('Phone');
    const deviceRevoked = revoke(hafiz.accountKeys, {
      networkId: 'seajust',
      subject: 'device',
      subjectId: phone.id,
      reason: 'key-compromise',
      revokedAt: now,
    });
    expect((await submit({ authority: hafiz.authority }, deviceRevoked)).body.error).toBe('INVALID_INPUT');
    expect((await submit({ authority: hafiz.authority, contactPoint: hafiz.certificate }, deviceRevoked)).body).toEqual(
      {
        applied: true,
      },
    );
    expect((await register(relay.url, phone)).body.error).toBe('REVOKED');
    // The designation itself was not revoked: another device of it registers.
    expect((await register(relay.url, await hafiz.addDevice('Office'))).status).toBe(200);
  });
});
