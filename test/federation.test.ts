import { fromBytes, type ReceivedMessage } from '@liaison/client';
import type { Attachment } from '@liaison/protocol';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { type Federation, federatedRelays } from './harness/federation.js';
import { relayCounter } from './harness/metrics.js';
import type { TestDevice } from './harness/network.js';
import { postgresService } from './harness/services.js';
import { until } from './harness/until.js';

/**
 * Two networks, two relays, two databases: SEAJust's relay (PGlite) in Bangkok and CASC's
 * (PostgreSQL) for Central Asia. A Thai prosecutor and an Armenian one work together as if on one
 * relay; each client talks only to its own.
 */
postgresService.describe(
  'federation: a SEAJust prosecutor and a CASC prosecutor, each on their own network relay',
  () => {
    let fed: Federation;
    let somchai: TestClient;
    let somchaiPhone: TestClient;
    let lilit: TestClient;
    let lilitDeputy: TestClient;
    let aram: TestDevice;
    const clients: TestClient[] = [];

    const received = async (c: TestClient, messageId: string): Promise<ReceivedMessage> => {
      await until(() => c.messages.some((m) => m.messageId === messageId), `message ${messageId}`, 30_000);
      return c.messages.find((m) => m.messageId === messageId) as ReceivedMessage;
    };

    beforeAll(async () => {
      fed = await federatedRelays();
      const thai = fed.a.net.authority('th-oag', 'TH');
      const armenian = fed.b.net.authority('am-pgo', 'AM');
      const somchaiCp = thai.contactPoint('somchai', { languages: ['th', 'en'] });
      // Lilit's designation escalates to Aram, the duty prosecutor of her office.
      const aramCp = armenian.contactPoint('aram', { languages: ['hy', 'ru'] });
      const lilitCp = armenian.contactPoint('lilit', { languages: ['hy', 'ru', 'en'], escalationChain: [aramCp.id] });
      aram = await aramCp.addDevice('Duty desk');
      const start = async (url: string, device: TestDevice) => {
        const c = await startClient(url, device, fed.roots);
        clients.push(c);
        return c;
      };
      somchai = await start(fed.a.relay.url, await somchaiCp.addDevice('Office laptop'));
      somchaiPhone = await start(fed.a.relay.url, await somchaiCp.addDevice('Phone'));
      lilit = await start(fed.b.relay.url, await lilitCp.addDevice('Office laptop'));
      lilitDeputy = await start(fed.b.relay.url, aram);
    }, 120_000);

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.client.close()));
      await fed?.stop();
    });

    it('finds the Armenian prosecutor in the directory of the Thai relay, with a chain to the CASC root', async () => {
      const page = await somchai.client.directory.search({ country: 'AM' });
      expect(page.entries.map((e) => e.contactPoint.contactPoint.contactPointId).sort()).toEqual([
        'am-pgo.aram',
        'am-pgo.lilit',
      ]);
      expect(page.rejected).toEqual([]);
      const mixed = await lilit.client.directory.search({ competence: 'mla' });
      expect(mixed.entries.map((e) => e.contactPoint.networkId).sort()).toEqual(['casc', 'casc', 'seajust']);
    });

    it('delivers messages both ways, in order, with receipts back to the sender across relays', async () => {
      const sent: string[] = [];
      for (const n of [1, 2, 3]) {
        const { messageId } = await somchai.client.send('am-pgo.lilit', {
          text: `Request ${n}: bank records of Mr K.`,
        });
        sent.push(messageId);
      }
      await lilit.waitForMessages(3, 30_000);
      expect(lilit.messages.map((m) => m.messageId)).toEqual(sent);
      expect(lilit.messages.map((m) => m.text)).toEqual([1, 2, 3].map((n) => `Request ${n}: bank records of Mr K.`));
      expect(lilit.messages[0]?.sender.contactPointId).toBe('th-oag.somchai');
      // Somchai's other device has its copy, from its own relay.
      await somchaiPhone.waitForMessages(3, 30_000);
      // Delivered to Lilit's device on the CASC relay: the receipt comes back to Somchai on his.
      await somchai.waitForReceipts(
        (rs) => sent.every((id) => rs.some((r) => r.messageId === id && r.status === 'delivered')),
        30_000,
      );
      const delivered = somchai.receipts.find((r) => r.messageId === sent[0] && r.status === 'delivered');
      expect(delivered?.contactPointId).toBe('am-pgo.lilit');

      await lilit.client.acknowledge(sent[0] as string);
      await somchai.waitForReceipts(
        (rs) => rs.some((r) => r.messageId === sent[0] && r.status === 'acknowledged'),
        30_000,
      );

      const { messageId: reply } = await lilit.client.send('th-oag.somchai', {
        text: 'Received; the order is with the court.',
      });
      const got = await received(somchai, reply);
      expect(got.text).toBe('Received; the order is with the court.');
      expect(got.sender.contactPointId).toBe('am-pgo.lilit');
    });

    it('shows both prosecutors the same safety number', async () => {
      const thaiSide = await somchai.client.safetyNumber('am-pgo.lilit');
      const armenianSide = await lilit.client.safetyNumber('th-oag.somchai');
      expect(thaiSide).toMatch(/^[\d ]+$/);
      expect(armenianSide).toBe(thaiSide);
    });

    it('carries an attachment from the Thai relay to the Armenian device, which reads it through its own relay', async () => {
      const file = new TextEncoder().encode('Court order No. 2026/77 — freezing of accounts'.repeat(2000));
      const { messageId } = await somchai.client.send(
        'am-pgo.lilit',
        { text: 'The court order is attached.' },
        { attachments: [fromBytes('court-order.txt', 'text/plain', file)] },
      );
      const message = await received(lilit, messageId);
      const [attachment] = message.attachments as Attachment[];
      const parts: Uint8Array[] = [];
      await lilit.client.download(attachment as Attachment, (chunk) => void parts.push(chunk));
      expect(Buffer.compare(Buffer.concat(parts), Buffer.from(file))).toBe(0);
    });

    it('escalates an urgent request on the Armenian relay, with its state shown live to the Thai sender', async () => {
      const { messageId } = await somchai.client.send(
        'am-pgo.lilit',
        { text: 'URGENT: preserve the server logs before Monday.' },
        { urgent: { acknowledgeWithin: 2000 } },
      );
      await received(lilit, messageId);
      // Nobody acknowledges within 2 s: the CASC relay releases the copy for Aram, Lilit's duty prosecutor.
      await received(lilitDeputy, messageId);
      await somchai.waitForUrgent((states) => states.some((s) => s.messageId === messageId && s.level === 1), 30_000);
      await lilitDeputy.client.acknowledge(messageId);
      const [final] = (
        await somchai.waitForUrgent(
          (states) => states.some((s) => s.messageId === messageId && s.status === 'acknowledged'),
          30_000,
        )
      ).filter((s) => s.messageId === messageId && s.status === 'acknowledged');
      expect(final?.acknowledged?.contactPointId).toBe('am-pgo.aram');
      expect(final?.levels.map((l) => l.contactPointId)).toEqual(['am-pgo.lilit', 'am-pgo.aram']);
      // The sender's relay answers for it too, as for an urgent message of its own.
      expect((await somchai.client.urgentState(messageId)).status).toBe('acknowledged');
    });

    it('counts what it forwarded and received in /metrics, and has nothing left waiting', async () => {
      await until(
        async () => (await relayCounter(fed.a.relay.url, 'liaison_federation_outbox_depth')) === 0,
        'the Thai outbox empty',
        30_000,
      );
      expect(
        await relayCounter(fed.a.relay.url, 'liaison_federation_forwards_total', 'outcome="stored"'),
      ).toBeGreaterThan(0);
      expect(
        await relayCounter(fed.b.relay.url, 'liaison_federation_received_total', 'kind="message",outcome="stored"'),
      ).toBeGreaterThan(0);
      expect(await relayCounter(fed.b.relay.url, 'liaison_federation_outbox_depth')).toBe(0);
    });
  },
);
