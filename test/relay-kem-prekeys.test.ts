import { revoke } from '@liaison/client';
import { encodeBase64url, type KemPrekey, LIMITS, type PrekeyCount } from '@liaison/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, http, kemPrekeys, register, token } from './harness/device-client.js';
import { type TestDevice, testNetwork } from './harness/network.js';
import { describeEachBackend, startTestRelay, type TestRelay } from './harness/relay.js';

/**
 * The relay's side of hybrid (ML-KEM-768) prekeys, through its HTTP API: what it accepts at
 * registration and upload, what it counts, and what it hands out to whom.
 */
/** Bytes of the right length that are no key and no signature. */
const filler = (n: number, fill: number) => encodeBase64url(new Uint8Array(n).fill(fill));

describeEachBackend('relay: ML-KEM-768 prekeys (%s)', (backend) => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let relay: TestRelay;
  let names = 0;
  beforeAll(async () => {
    net = await testNetwork();
    // Registrations and tokens are many here; their per-address limit is tested elsewhere.
    relay = await startTestRelay(backend, { trustedRoots: [net.root], authAttemptsPerMinute: 1000 });
  });
  afterAll(() => relay.stop());

  /** A registered device of a contact point of its own, with a bearer token; KEM prekeys only when given. */
  async function device(oneTime = 10, kem?: (d: TestDevice) => KemPrekey[]) {
    const d = await net.authority('th-oag', 'TH').contactPoint(`kem-${++names}`).addDevice();
    const registered = await register(relay.url, d, oneTime, kem?.(d) ?? []);
    expect(registered.status, JSON.stringify(registered.body)).toBe(200);
    return { ...d, contactPointId: d.chain.contactPoint.contactPointId, token: await token(relay.url, d) };
  }
  /** A device that speaks hybrid sessions: it has a last-resort KEM prekey at the relay. */
  const hybridRequester = () => device(1, (d) => kemPrekeys(d, 0));
  const count = async (t: string): Promise<PrekeyCount> =>
    (await http(relay.url, 'GET', '/v1/prekeys/count', undefined, t)).body;
  const bundles = (contactPointId: string, t: string) =>
    http(relay.url, 'GET', `/v1/contact-points/${contactPointId}/bundles`, undefined, t);

  it('counts KEM prekeys only for a device that has a last-resort one', async () => {
    const classical = await device(25);
    const before = await count(classical.token);
    expect(before).toEqual({
      oneTimePrekeys: 25,
      signedPrekeyId: expect.any(Number),
      signedPrekeyCreatedAt: expect.any(Number),
      low: false,
    });
    expect('kem' in before).toBe(false);

    let lastResort: KemPrekey | undefined;
    const hybrid = await device(25, (d) => {
      const published = kemPrekeys(d, 12, { firstId: 100 });
      lastResort = published.find((k) => k.lastResort);
      return published;
    });
    expect(await count(hybrid.token)).toEqual({
      oneTimePrekeys: 25,
      signedPrekeyId: expect.any(Number),
      signedPrekeyCreatedAt: expect.any(Number),
      kem: { oneTimePrekeys: 12, lastResortId: 112, lastResortCreatedAt: lastResort?.createdAt },
      low: false,
    });
  });

  it('hands out each one-time KEM prekey once under 50 concurrent fetches, then the last-resort one again and again', async () => {
    const published: KemPrekey[] = [];
    const target = await device(30, (d) => {
      published.push(...kemPrekeys(d, 30));
      return published;
    });
    const requester = await hybridRequester();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => bundles(target.contactPointId, requester.token)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
    const handed: KemPrekey[] = results.map((r) => r.body.bundles[0].kemPrekey);
    const oneTime = handed.filter((k) => !k.lastResort);
    expect(oneTime).toHaveLength(30);
    expect(new Set(oneTime.map((k) => k.id)).size).toBe(30);
    // Exactly as the device signed them: the initiator checks each signature over these fields.
    for (const k of handed) expect(published).toContainEqual(k);
    const lastResort = published.find((k) => k.lastResort);
    expect(handed.filter((k) => k.lastResort)).toEqual(Array(20).fill(lastResort));
    // The classical pool is spent alongside, independently.
    expect(new Set(results.map((r) => r.body.bundles[0].oneTimePrekey?.id).filter(Boolean)).size).toBe(30);

    for (let i = 0; i < 3; i++) {
      expect((await bundles(target.contactPointId, requester.token)).body.bundles[0].kemPrekey).toEqual(lastResort);
    }
    expect((await count(target.token)).kem).toEqual({
      oneTimePrekeys: 0,
      lastResortId: 31,
      lastResortCreatedAt: lastResort?.createdAt,
    });
  });

  it('gives a requester without KEM prekeys no KEM prekey, and spends none of the target', async () => {
    const target = await device(30, (d) => kemPrekeys(d, 15));
    const classical = await device(10);
    for (let i = 0; i < 3; i++) {
      const { status, body } = await bundles(target.contactPointId, classical.token);
      expect(status).toBe(200);
      expect(body.bundles[0].oneTimePrekey).toBeDefined();
      expect('kemPrekey' in body.bundles[0]).toBe(false);
    }
    expect(await count(target.token)).toMatchObject({ oneTimePrekeys: 27, kem: { oneTimePrekeys: 15 }, low: false });

    // A hybrid requester reaching a device that predates hybrid sessions gets none either.
    const requester = await hybridRequester();
    const { body } = await bundles(classical.contactPointId, requester.token);
    expect('kemPrekey' in body.bundles[0]).toBe(false);
  });

  it('reports low, in the count and by prekeys:low, when the KEM pool runs low though the classical one does not', async () => {
    const target = await device(100, (d) => kemPrekeys(d, LIMITS.kemPrekeyLowWatermark + 1));
    expect(await count(target.token)).toMatchObject({ oneTimePrekeys: 100, kem: { oneTimePrekeys: 11 }, low: false });
    const online = await connect(relay.url, target);
    const told: PrekeyCount[] = [];
    online.socket.on('prekeys:low', (c) => told.push(c));
    const requester = await hybridRequester();
    await bundles(target.contactPointId, requester.token);
    await bundles(target.contactPointId, requester.token);
    await expect.poll(() => told.length).toBe(1);
    // Pushed in order: had the first fetch (10 left, not below the watermark) been reported, it would be first.
    expect(told[0]).toMatchObject({ oneTimePrekeys: 98, kem: { oneTimePrekeys: 9 }, low: true });
    online.close();
    expect(await count(target.token)).toMatchObject({ oneTimePrekeys: 98, kem: { oneTimePrekeys: 9 }, low: true });

    const refill = kemPrekeys(target, 5, { firstId: 500, lastResort: false });
    const answer = await http(
      relay.url,
      'POST',
      '/v1/prekeys',
      { oneTimePrekeys: [], kemPrekeys: refill },
      target.token,
    );
    expect(answer.body).toMatchObject({
      oneTimePrekeys: 98,
      kem: { oneTimePrekeys: 14, lastResortId: 12 },
      low: false,
    });
  });

  it('replaces the last-resort KEM prekey on upload, and the KEM pool on re-registration', async () => {
    const target = await device(30, (d) => kemPrekeys(d, 12));
    const newer = kemPrekeys(target, 0, { firstId: 40 });
    const uploaded = await http(
      relay.url,
      'POST',
      '/v1/prekeys',
      { oneTimePrekeys: [], kemPrekeys: newer },
      target.token,
    );
    expect(uploaded.body.kem).toEqual({
      oneTimePrekeys: 12,
      lastResortId: 40,
      lastResortCreatedAt: newer[0]?.createdAt,
    });
    const requester = await device(1, (d) => kemPrekeys(d, 0));
    for (let i = 0; i < 12; i++) await bundles(target.contactPointId, requester.token);
    expect((await bundles(target.contactPointId, requester.token)).body.bundles[0].kemPrekey).toEqual(newer[0]);

    expect((await register(relay.url, target, 30, kemPrekeys(target, 3, { firstId: 60 }))).status).toBe(200);
    expect((await count(target.token)).kem).toMatchObject({ oneTimePrekeys: 3, lastResortId: 63 });
    // A registration without KEM prekeys leaves none: initiators reach the device classically.
    expect((await register(relay.url, target, 30, [])).status).toBe(200);
    expect('kem' in (await count(target.token))).toBe(false);
    expect('kemPrekey' in (await bundles(target.contactPointId, requester.token)).body.bundles[0]).toBe(false);
  });

  it('refuses bad KEM prekeys at upload and at registration with stable codes, storing nothing', async () => {
    const target = await device(30, (d) => kemPrekeys(d, 12));
    const stranger = await device(1);
    const before = await count(target.token);
    const [good, other] = kemPrekeys(target, 2, { firstId: 200, lastResort: false }) as [KemPrekey, KemPrekey];
    const [lastResort] = kemPrekeys(target, 0, { firstId: 300 }) as [KemPrekey];
    const otherLastResort = kemPrekeys(target, 0, { firstId: 301 })[0] as KemPrekey;
    const cases: [string, unknown[], string][] = [
      ['a tampered signature', [good, { ...other, signature: filler(64, 1) }], 'BAD_SIGNATURE'],
      ['another key under the signature', [good, { ...other, publicKey: lastResort.publicKey }], 'BAD_SIGNATURE'],
      [
        "another device's signature",
        [good, ...kemPrekeys(stranger, 1, { firstId: 210, lastResort: false })],
        'BAD_SIGNATURE',
      ],
      ['a one-time key presented as the last-resort one', [{ ...good, lastResort: true }], 'BAD_SIGNATURE'],
      ['another key type', [good, { ...other, keyType: 'x25519' }], 'INVALID_INPUT'],
      ['a 32-byte key', [good, { ...other, publicKey: filler(32, 2) }], 'INVALID_INPUT'],
      ['two last-resort ones', [lastResort, otherLastResort], 'INVALID_INPUT'],
      ['the same id twice', [good, { ...other, id: good.id }], 'INVALID_INPUT'],
    ];
    for (const [what, kem, code] of cases) {
      const upload = await http(
        relay.url,
        'POST',
        '/v1/prekeys',
        { oneTimePrekeys: [], kemPrekeys: kem },
        target.token,
      );
      expect([what, upload.body.error]).toEqual([what, code]);
      const again = await register(relay.url, target, 3, kem as KemPrekey[]);
      expect([what, again.body.error]).toEqual([what, code]);
      expect(await count(target.token), what).toEqual(before);
    }
    // A new device refused for its KEM prekeys is not registered at all.
    const newcomer = await net.authority('th-oag', 'TH').contactPoint(`kem-${++names}`).addDevice();
    const refused = await register(relay.url, newcomer, 10, [{ ...good, signature: filler(64, 3) }]);
    expect(refused.body.error).toBe('BAD_SIGNATURE');
    await expect(token(relay.url, newcomer)).rejects.toThrow(/UNAUTHENTICATED/);
    // One-time KEM prekeys without a last-resort one, at registration.
    const alone = await net.authority('th-oag', 'TH').contactPoint(`kem-${++names}`).addDevice();
    const withoutLastResort = await register(relay.url, alone, 10, kemPrekeys(alone, 3, { lastResort: false }));
    expect(withoutLastResort.body).toMatchObject({ error: 'INVALID_INPUT', details: { path: 'kemPrekeys' } });
    await expect(token(relay.url, alone)).rejects.toThrow(/UNAUTHENTICATED/);
  });

  it('refuses one-time KEM prekeys to a device without a last-resort one, and a pool past its quota', async () => {
    const classical = await device(10);
    const oneTimeOnly = kemPrekeys(classical, 3, { lastResort: false });
    const refused = await http(
      relay.url,
      'POST',
      '/v1/prekeys',
      { oneTimePrekeys: [], kemPrekeys: oneTimeOnly },
      classical.token,
    );
    expect(refused.body).toMatchObject({ error: 'INVALID_INPUT', details: { path: 'kemPrekeys' } });
    expect('kem' in (await count(classical.token))).toBe(false);

    const per = LIMITS.maxKemPrekeysPerUpload;
    const target = await device(10, (d) => kemPrekeys(d, per, { firstId: 1 }));
    const second = kemPrekeys(target, LIMITS.maxKemPrekeysStored - per, { firstId: 1000, lastResort: false });
    const full = await http(relay.url, 'POST', '/v1/prekeys', { oneTimePrekeys: [], kemPrekeys: second }, target.token);
    expect(full.body.kem).toMatchObject({ oneTimePrekeys: LIMITS.maxKemPrekeysStored, lastResortId: per + 1 });
    // One more, with a new last-resort one: refused whole, the last-resort one not replaced either.
    const over = kemPrekeys(target, 1, { firstId: 2000 });
    const refusedOver = await http(
      relay.url,
      'POST',
      '/v1/prekeys',
      { oneTimePrekeys: [], kemPrekeys: over },
      target.token,
    );
    expect([refusedOver.status, refusedOver.body.error]).toEqual([429, 'QUOTA_EXCEEDED']);
    expect((await count(target.token)).kem).toMatchObject({
      oneTimePrekeys: LIMITS.maxKemPrekeysStored,
      lastResortId: per + 1,
    });
  });

  it('holds the quotas under concurrent uploads of one device', async () => {
    const target = await device(0, (d) => kemPrekeys(d, 0));
    const uploads = Array.from({ length: 10 }, (_, i) =>
      http(
        relay.url,
        'POST',
        '/v1/prekeys',
        {
          oneTimePrekeys: [],
          kemPrekeys: kemPrekeys(target, LIMITS.maxKemPrekeysPerUpload, {
            firstId: 10_000 * (i + 1),
            lastResort: false,
          }),
        },
        target.token,
      ),
    );
    const statuses = (await Promise.all(uploads)).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(LIMITS.maxKemPrekeysStored / LIMITS.maxKemPrekeysPerUpload);
    expect((await count(target.token)).kem?.oneTimePrekeys).toBe(LIMITS.maxKemPrekeysStored);
  });

  it("removes a device's KEM prekeys with the device when it is revoked", async () => {
    const cp = net.authority('th-oag', 'TH').contactPoint(`kem-${++names}`);
    const d = await cp.addDevice();
    expect((await register(relay.url, d, 10, kemPrekeys(d, 5))).status).toBe(200);
    const revocation = revoke(cp.accountKeys, {
      networkId: 'seajust',
      subject: 'device',
      subjectId: d.id,
      reason: 'key-compromise',
      revokedAt: Date.now(),
    });
    expect((await http(relay.url, 'POST', '/v1/revocations', revocation)).body).toEqual({ applied: true });
    for (const table of ['one_time_kem_prekeys', 'last_resort_kem_prekeys']) {
      const { rows } = await sql`select 1 from ${sql.table(table)} where device_id = ${d.id}`.execute(relay.relay.db);
      expect(rows, table).toEqual([]);
    }
  });
});
