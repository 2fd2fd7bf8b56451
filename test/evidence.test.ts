import { type CaseRecord, decodeBase64url, encodeBase64url, type RequestView, revoke } from '@liaison/client';
import { exportRecord, verifyRecord } from '@liaison/client/records';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { type ManifestRelay, relayWithManifest } from './harness/federation.js';
import { type TestDevice, testNetwork } from './harness/network.js';
import { until } from './harness/until.js';

/**
 * Requests with evidence (issue #24), as two central authorities live them: a request opened,
 * acknowledged by a person, taken through four statuses, then exported as a case record that
 * verifies offline against the network root alone, and that refuses every tampering with a reason
 * that says where.
 */
describe('a request with evidence, from opening to a verified case record', () => {
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let relay: ManifestRelay;
  let alice: TestClient;
  let bob: TestClient;
  let bobDevice: TestDevice;
  let bobAccount: Awaited<ReturnType<ReturnType<typeof net.authority>['contactPoint']>>;
  let requestId: string;
  let record: CaseRecord;
  const statuses = ['received', 'registered', 'in-execution', 'executed'] as const;
  const roots = () => ({ trustedRoots: [net.root] });
  /** A deep copy to tamper with. */
  const copy = (): CaseRecord => JSON.parse(JSON.stringify(record)) as CaseRecord;

  beforeAll(async () => {
    net = await testNetwork('seajust');
    relay = await relayWithManifest(net);
    const aliceDevice = await net.authority('th-oag', 'TH').contactPoint('alice').addDevice('Office laptop');
    bobAccount = net.authority('vn-spp', 'VN').contactPoint('bob');
    bobDevice = await bobAccount.addDevice('Office desktop');
    alice = await startClient(relay.relay.url, aliceDevice, [net.root]);
    bob = await startClient(relay.relay.url, bobDevice, [net.root]);
  }, 60_000);
  afterAll(async () => {
    await alice?.client.close();
    await bob?.client.close();
    await relay?.stop();
  });

  const requestOf = async (client: TestClient, done: (r: RequestView) => boolean, what: string) => {
    let view: RequestView | undefined;
    await until(async () => {
      view = await client.client.requests.get(requestId);
      return view !== undefined && done(view);
    }, what);
    return view as RequestView;
  };

  it('opens a request; the recipient sees it, and a signed delivery receipt and acknowledgement come back', async () => {
    ({ requestId } = await alice.client.requests.open('vn-spp.bob', {
      kind: 'mutual-legal-assistance',
      legalBasis: 'ASEAN Treaty on Mutual Legal Assistance in Criminal Matters, art. 6',
      reference: 'OAG-2026-114',
      subject: 'Bank records, account 0042-118',
      text: 'Please obtain the bank records of account 0042-118 from 1 March to 30 June 2026.',
    }));
    const [received] = await bob.waitForMessages(1);
    expect(received?.request).toEqual({
      op: 'open',
      kind: 'mutual-legal-assistance',
      legalBasis: 'ASEAN Treaty on Mutual Legal Assistance in Criminal Matters, art. 6',
    });
    expect(received?.contentHash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await bob.client.acknowledge(requestId);

    const view = await requestOf(alice, (r) => r.history[0]?.receipts.length === 2, 'delivered and acknowledged');
    expect(view.history[0]?.receipts.map((r) => [r.kind, r.contactPointId, r.deviceId])).toEqual([
      ['delivered', 'vn-spp.bob', bobDevice.id],
      ['acknowledged', 'vn-spp.bob', bobDevice.id],
    ]);
    // The relay signed that it stored the request, with a key its network's manifest certifies.
    expect(view.history[0]?.storedAt).toBeGreaterThan(0);
    expect(alice.evidence.map((r) => r.kind)).toEqual(['delivered', 'acknowledged']);
    expect(alice.errors).toEqual([]);
  });

  it('goes through four statuses, which both sides fold the same way', async () => {
    await bob.client.requests.update(requestId, {
      status: 'received',
      reference: 'SPP-77/2026',
      text: 'Registered with us.',
    });
    for (const status of statuses.slice(1)) await bob.client.requests.update(requestId, { status });
    const seen = await requestOf(alice, (r) => r.status === 'executed', 'the request executed, at Alice');
    const own = await requestOf(bob, (r) => r.status === 'executed', 'the request executed, at Bob');
    expect(seen.history.map((e) => e.status ?? e.change)).toEqual(['opened', ...statuses]);
    expect(seen.references).toEqual({ requesting: 'OAG-2026-114', requested: 'SPP-77/2026' });
    expect([seen.requesting, seen.requested, seen.kind]).toEqual([
      'th-oag.alice',
      'vn-spp.bob',
      'mutual-legal-assistance',
    ]);
    expect(own.history.map((e) => e.status ?? e.change)).toEqual(seen.history.map((e) => e.status ?? e.change));
    // A final status ends it: nobody states another.
    await expect(bob.client.requests.update(requestId, { status: 'in-execution' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    // Only the requesting side withdraws; only the requested side executes.
    await expect(alice.client.requests.update(requestId, { status: 'executed' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect((await alice.client.requests.list()).map((r) => r.requestId)).toEqual([requestId]);
    // Each status update got its own signed delivery receipt.
    await requestOf(
      alice,
      (r) => r.history.every((e) => e.receipts.some((x) => x.kind === 'delivered')),
      'every delivery receipt',
    );
  });

  it('exports a case record that verifies offline against the root alone, and says what it establishes', async () => {
    const exported = await exportRecord(alice.client, { request: requestId });
    record = exported.record;
    const verified = verifyRecord(copy(), roots());
    if (!verified.ok) throw new Error(verified.reason);
    const findings = verified.report.findings.map((f) => f.what);
    expect(findings.filter((w) => w === 'sent')).toHaveLength(5);
    expect(findings.filter((w) => w === 'stored')).toHaveLength(1);
    expect(findings.filter((w) => w === 'delivered')).toHaveLength(5);
    expect(findings.filter((w) => w === 'acknowledged')).toHaveLength(1);
    expect(verified.report.requests[0]?.status).toBe('executed');
    const statements = verified.report.findings.map((f) => f.statement).join('\n');
    expect(statements).toContain('Prosecutor alice ("th-oag.alice", Central authority of TH, TH) sent message');
    expect(statements).toContain('acknowledged message');
    expect(exported.html).toContain('Bank records, account 0042-118');
    expect(exported.html).toContain('not that a person read it');
    expect(exported.html).not.toContain('<script');
  });

  it('refuses a record whose text was changed, and says which entry', () => {
    const tampered = copy();
    const index = tampered.entries.findIndex((e) => e.type === 'message');
    const entry = tampered.entries[index];
    if (entry?.type !== 'message') throw new Error('no message');
    const content = new TextDecoder().decode(decodeBase64url(entry.content) as Uint8Array);
    entry.content = encodeBase64url(new TextEncoder().encode(content.replace('30 June', '30 July')));
    expect(verifyRecord(tampered, roots())).toEqual({
      ok: false,
      code: 'changed',
      entry: index + 1,
      reason: expect.stringContaining(`entry ${index + 1}: the content of message ${requestId} is not what`),
    });
  });

  it('refuses a record with a receipt dropped', () => {
    const tampered = copy();
    const index = tampered.entries.findIndex((e) => e.type === 'receipt' && e.receipt.kind === 'acknowledged');
    tampered.entries.splice(index, 1);
    const verified = verifyRecord(tampered, roots());
    expect(verified).toMatchObject({ ok: false, code: 'broken-chain', entry: index + 1 });
    expect(verified.ok || verified.reason).toContain('does not follow the entry before it');
  });

  it('refuses a record with two statuses in another order', () => {
    const tampered = copy();
    const isStatus = (s: string) => (e: CaseRecord['entries'][number]) =>
      e.type === 'message' &&
      new TextDecoder().decode(decodeBase64url(e.content) as Uint8Array).includes(`"status":"${s}"`);
    const a = tampered.entries.findIndex(isStatus('registered'));
    const b = tampered.entries.findIndex(isStatus('in-execution'));
    expect(a).toBeGreaterThan(0);
    [tampered.entries[a], tampered.entries[b]] = [tampered.entries[b] as never, tampered.entries[a] as never];
    const verified = verifyRecord(tampered, roots());
    expect(verified).toMatchObject({ ok: false, code: 'broken-chain', entry: Math.min(a, b) + 1 });
    expect(verified.ok || verified.reason).toContain('does not follow the entry before it');
  });

  it("refuses a record with a device's certificate swapped for another's", async () => {
    const tampered = copy();
    const other = await bobAccount.addDevice('Home laptop');
    tampered.certificates.devices = tampered.certificates.devices.map((d) =>
      d.deviceId === bobDevice.id ? other.chain.device : d,
    );
    const verified = verifyRecord(tampered, roots());
    expect(verified.ok).toBe(false);
    expect(verified.ok || verified.reason).toContain(
      `no certificate in the record makes device ${bobDevice.id} one of "vn-spp.bob"'s`,
    );
    // A certificate altered in place does not verify either.
    const altered = copy();
    altered.certificates.devices = altered.certificates.devices.map((d) =>
      d.deviceId === bobDevice.id ? { ...d, deviceName: 'Office desktop (2)' } : d,
    );
    const refused = verifyRecord(altered, roots());
    expect(refused.ok || refused.reason).toContain('is not signed by the account key of "vn-spp.bob"');
  });

  it('refuses a record rebuilt after export, a record verified against another root, and a receipt from a device revoked before it signed', async () => {
    const rechained = copy();
    rechained.exportedAt += 1;
    expect(verifyRecord(rechained, roots())).toMatchObject({
      ok: false,
      reason: expect.stringContaining('changed afterwards'),
    });

    const elsewhere = await testNetwork('seajust');
    expect(verifyRecord(copy(), { trustedRoots: [elsewhere.root] }).ok).toBe(false);

    // Bob's device was revoked (key compromise) between the request and his acknowledgement.
    const entries = record.entries;
    const delivered = entries.find((e) => e.type === 'receipt' && e.receipt.kind === 'delivered');
    const acknowledged = entries.find((e) => e.type === 'receipt' && e.receipt.kind === 'acknowledged');
    if (delivered?.type !== 'receipt' || acknowledged?.type !== 'receipt') throw new Error('no receipts');
    const revocation = revoke(bobAccount.accountKeys, {
      networkId: 'seajust',
      subject: 'device',
      subjectId: bobDevice.id,
      reason: 'key-compromise',
      revokedAt: acknowledged.receipt.at,
    });
    const verified = verifyRecord(copy(), { ...roots(), revocations: [revocation] });
    expect(verified).toMatchObject({ ok: false, code: 'revoked', entry: entries.indexOf(acknowledged) + 1 });
    expect(verified.ok || verified.reason).toContain('was revoked');
    // Signed before the revocation, the delivery receipt still counts: the record fails only where it should.
    expect(entries.indexOf(delivered)).toBeLessThan(entries.indexOf(acknowledged));
  });
});
