import {
  type EvidenceReceipt,
  encodeBase64url,
  encodeRecordHead,
  type MessageContent,
  type RequestContent,
} from '@liaison/protocol';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOW } from '../__fixtures__/devices.js';
import { network, valid } from '../__fixtures__/network.js';
import { sealContent } from '../client/content.js';
import { generateIdentityKeyPair, sign } from '../crypto/keys.js';
import { ready } from '../crypto/sodium.js';
import type { LiaisonError } from '../errors.js';
import { MemoryKeyStore } from '../key-store/memory-key-store.js';
import { certifyDevice } from '../trust/issue.js';
import { Evidence } from './evidence.js';
import { EvidenceLog } from './evidence-log.js';
import { signReceipt } from './receipts.js';
import { exportRecord } from './record.js';
import { Requests } from './requests.js';
import { verifyRecord } from './verify-record.js';

/**
 * The evidence pipeline without a relay: what one device seals, another receives and signs for,
 * and what comes back, kept, folded into requests, exported and verified offline.
 */
let clock = NOW + 60_000;
await ready();
const net = network('seajust', 'TH', 'th-oag');

/** What one side needs of the other to hand it a message. */
interface Recipient {
  id: string;
  chain: Parameters<Evidence['received']>[2];
  evidence: Evidence;
  outgoing: { to: string; receipts: EvidenceReceipt[] }[];
}

function party(name: string) {
  const accountKeys = generateIdentityKeyPair();
  const contactPoint = net.designate(`th-oag.${name}`, accountKeys);
  const identity = generateIdentityKeyPair();
  const device = certifyDevice(accountKeys, {
    contactPointId: contactPoint.contactPointId,
    deviceId: encodeBase64url(identity.publicKey),
    deviceName: `${name}'s desktop`,
    ...valid,
  });
  const chain = { authority: net.authority, contactPoint, device };
  const store = new MemoryKeyStore();
  const log = new EvidenceLog(store);
  const outgoing: { to: string; receipts: EvidenceReceipt[] }[] = [];
  const errors: LiaisonError[] = [];
  const evidence = new Evidence({
    self: { contactPointId: contactPoint.contactPointId, deviceId: device.deviceId, networkId: 'seajust', chain },
    identity,
    store,
    log,
    trustedRoots: [net.root],
    now: () => clock,
    fetchManifest: async () => undefined,
    sendReceipts: async (to, receipts) => outgoing.push({ to, receipts }),
    requestChanged: async () => {},
    receiptKept: async () => {},
    report: async (error) => {
      errors.push(error as LiaisonError);
    },
  });
  let sent = 0;
  const me = {
    id: contactPoint.contactPointId,
    chain,
    identity,
    log,
    evidence,
    outgoing,
    errors,
    /** Seals a message to `to` as the outbox does, and hands it to `to`'s device. */
    async send(to: Recipient, text: string, request?: RequestContent, escalation?: string[]): Promise<string> {
      clock += 1000;
      const content = {
        version: 2,
        messageId: `00000000-0000-4000-8000-${String(++sent).padStart(6, '0')}${name.length.toString().padStart(6, '0')}`,
        to: to.id,
        priority: escalation ? 'urgent' : 'normal',
        ...(escalation && { urgent: { acknowledgeWithinMs: 60_000, escalation, level: 0 } }),
        text,
        sentAt: clock,
        ...(request && { request }),
      } as MessageContent;
      const signed = evidence.sign(sealContent(content));
      evidence.sealed(content, signed);
      await evidence.stored(content.messageId, undefined);
      await to.evidence.received(content, signed, chain);
      await to.evidence.flush();
      for (const { receipts } of to.outgoing.splice(0))
        await evidence.receipts({ version: 2, messageId: content.messageId, receipts }, to.chain);
      return content.messageId;
    },
    requests: new Requests(contactPoint.contactPointId, log, async () => {
      throw new Error('not in this test');
    }),
  };
  return me;
}

describe('evidence between two devices, without a relay', () => {
  let alice: ReturnType<typeof party>;
  let bob: ReturnType<typeof party>;
  let requestId: string;

  beforeAll(async () => {
    alice = party('alice');
    bob = party('bob');
    requestId = await alice.send(bob, 'Please preserve the server logs.', {
      op: 'open',
      kind: 'preservation',
      legalBasis: 'Budapest Convention, art. 29',
    });
    clock += 1000;
    await bob.evidence.acknowledged(requestId);
    await bob.evidence.flush();
    for (const { receipts } of bob.outgoing.splice(0))
      await alice.evidence.receipts({ version: 2, messageId: requestId, receipts }, bob.chain);
    for (const status of ['received', 'in-execution', 'executed'] as const)
      await bob.send(alice, '', { op: 'update', requestId, status });
  });

  it('keeps what each side signed and folds the same request on both', async () => {
    const [atAlice, atBob] = [await alice.requests.get(requestId), await bob.requests.get(requestId)];
    expect(atAlice?.status).toBe('executed');
    expect(atAlice?.history.map((e) => [e.change, e.status, e.receipts.map((r) => r.kind)])).toEqual([
      ['opened', undefined, ['delivered', 'acknowledged']],
      ['status', 'received', ['delivered']],
      ['status', 'in-execution', ['delivered']],
      ['status', 'executed', ['delivered']],
    ]);
    expect(atBob?.history).toEqual(atAlice?.history);
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  });

  it('ignores a status stated by the side that may not, or after the request ended', async () => {
    await alice.send(bob, '', { op: 'update', requestId, status: 'withdrawn' });
    const view = await bob.requests.get(requestId);
    expect(view?.status).toBe('executed');
    expect(view?.history.at(-1)?.statusIgnored).toBe('the request was already executed');
  });

  it("does not let the requesting side state the requested side's statuses, even naming itself in the escalation chain", async () => {
    const opened = await alice.send(
      bob,
      'Urgent: preserve the logs.',
      { op: 'open', kind: 'preservation', legalBasis: 'Budapest Convention, art. 29' },
      [alice.id],
    );
    await alice.send(bob, '', { op: 'update', requestId: opened, status: 'executed' });
    for (const side of [alice, bob]) {
      const view = await side.requests.get(opened);
      expect(view?.status).toBe('open');
      expect(view?.history.at(-1)?.statusIgnored).toBe('only the requested side states "executed"');
    }
  });

  it('refuses receipts that do not attest what was sent, to whom it was sent', async () => {
    const carol = party('carol');
    const messageId = await alice.send(bob, 'For Bob only.');
    const index = await alice.log.message(messageId);
    const forged = (by: Recipient & { identity: typeof alice.identity }, hash = index?.hashes[0] as string) =>
      signReceipt(by.identity, {
        kind: 'delivered',
        messageId,
        contentHash: hash,
        sender: alice.id,
        by: by.id,
        byDevice: by.chain.device.deviceId,
        at: clock,
      });
    await alice.evidence.receipts({ version: 2, messageId, receipts: [forged(carol)] }, carol.chain);
    await alice.evidence.receipts(
      { version: 2, messageId, receipts: [forged(bob, encodeBase64url(new Uint8Array(32)))] },
      bob.chain,
    );
    // Bob's receipt, carried by Carol's device.
    await alice.evidence.receipts({ version: 2, messageId, receipts: [forged(bob)] }, carol.chain);
    expect(alice.errors.map((e) => e.message.replace(/.*for message \S+ /, ''))).toEqual([
      'comes from a contact point the message was not for',
      'is for other content than was sent',
      'names another device than the one that sent it',
    ]);
    alice.errors.length = 0;
  });

  it('exports a record that verifies, and refuses it after any entry is dropped, repeated or moved', async () => {
    const source = {
      evidenceSource: () => ({
        log: alice.log,
        self: { contactPointId: alice.id, deviceId: alice.chain.device.deviceId, chain: alice.chain },
        signHead: (head: Parameters<typeof encodeRecordHead>[0]) =>
          encodeBase64url(sign(alice.identity, encodeRecordHead(head))),
        trustedRoots: [net.root],
        revocations: [],
        now: () => clock,
      }),
    };
    const { record } = await exportRecord(source, { request: requestId });
    expect(verifyRecord(record, { trustedRoots: [net.root] }).ok).toBe(true);
    const n = record.entries.length;
    const change = fc.oneof(
      fc.record({ op: fc.constant('drop' as const), i: fc.nat(n - 1) }),
      fc.record({ op: fc.constant('repeat' as const), i: fc.nat(n - 1) }),
      fc.record({ op: fc.constant('move' as const), i: fc.nat(n - 1), j: fc.nat(n - 1) }).filter((c) => c.i !== c.j),
    );
    fc.assert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 3 }), (changes) => {
        const entries = [...record.entries];
        for (const c of changes) {
          const i = Math.min(c.i, entries.length - 1);
          if (c.op === 'drop' && entries.length > 1) entries.splice(i, 1);
          else if (c.op === 'repeat') entries.splice(i, 0, entries[i] as never);
          else if (c.op === 'move') entries.splice(Math.min(c.j, entries.length - 1), 0, ...entries.splice(i, 1));
        }
        fc.pre(JSON.stringify(entries) !== JSON.stringify(record.entries));
        expect(verifyRecord({ ...record, entries }, { trustedRoots: [net.root] }).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
