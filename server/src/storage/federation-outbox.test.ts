import type { ForwardedMessage } from '@liaison/protocol';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { embeddedTestDatabase } from './__fixtures__/embedded-test-database.js';
import {
  claimDuePeers,
  enqueueMessages,
  expireOutbox,
  forwarded,
  forwardFailed,
  type Lease,
  outboxBacklog,
  outboxBatch,
  renewLease,
} from './federation-outbox.js';

const LEASE = 30_000;

/** A forwarded message as the outbox holds it; only its id, recipient and size matter here. */
function message(n: number, text = ''): ForwardedMessage {
  return {
    kind: 'message',
    sender: {} as ForwardedMessage['sender'],
    request: {
      messageId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      recipient: 'am-pgo.lilit',
      priority: 'normal',
      createdAt: 1,
      envelopes: [{ recipientDevice: 'd', kind: 'message', ciphertext: text, escalationLevel: 0 }],
    } as unknown as ForwardedMessage['request'],
  };
}

describe('the forwarding outbox (embedded PostgreSQL)', () => {
  const database = embeddedTestDatabase([
    'federation_outbox',
    'federation_peers',
    'message_forwards',
    'urgent_messages',
    'receipts',
    'messages',
  ]);
  const insertMessage = (id: string, originNetwork: string | null = null) =>
    sql`insert into messages (message_id, sender_device, sender_contact_point, recipient_contact_point, priority, created_at, server_time, origin_network)
      values (${id}, 'dev', 'th-oag.somchai', 'am-pgo.lilit', 'normal', 1, 1, ${originNetwork})
      on conflict do nothing`.execute(database.db);
  /** Messages stored here, each forwarded to `networkId`, as storeMessages does in one transaction. */
  const enqueueAll = async (items: { networkId: string; message: ForwardedMessage }[], now: number) => {
    for (const { message } of items) await insertMessage(message.request.messageId);
    await enqueueMessages(database.db, items, now);
  };
  const enqueue = (networkId: string, ns: number[], now = 1000) =>
    enqueueAll(
      ns.map((n) => ({ networkId, message: message(n) })),
      now,
    );
  const networks = (leases: Lease[]) => leases.map((l) => l.networkId);
  const leaseOf = (leases: Lease[], networkId: string) => leases.find((l) => l.networkId === networkId) as Lease;
  const ids = async (networkId: string) =>
    (await outboxBatch(database.db, networkId, 64, 1 << 30)).map((i) =>
      (i.payload as ForwardedMessage).request.messageId.slice(-2),
    );

  it('gives each partner with items to one claimer at a time, until its lease runs out or it lets go', async () => {
    await enqueue('casc', [1, 2]);
    await enqueue('ejn', [3]);
    const leases = await claimDuePeers(database.db, 2000, LEASE, 'node-1');
    expect(leases.map((l) => l.networkId).sort()).toEqual(['casc', 'ejn']);
    // Another node polling meanwhile gets nothing: the first holds both.
    expect(await claimDuePeers(database.db, 2001, LEASE, 'node-2')).toEqual([]);
    expect(await forwarded(database.db, leaseOf(leases, 'ejn'), [], 0)).toBe(true);
    await enqueue('ejn', [4]);
    expect(networks(await claimDuePeers(database.db, 2002, LEASE, 'node-2'))).toEqual(['ejn']);
    // A node that died holding casc: after the lease, another takes it.
    expect(networks(await claimDuePeers(database.db, 2000 + LEASE, LEASE, 'node-2'))).toEqual(['casc']);
    const holders = await database.db.selectFrom('federation_peers').select(['network_id', 'lease_owner']).execute();
    expect(holders.map((h) => [h.network_id, h.lease_owner]).sort()).toEqual([
      ['casc', 'node-2'],
      ['ejn', 'node-2'],
    ]);
  });

  it('fences a lease: once another node claimed it, its old holder can no longer delete, back off or renew (review #23, finding 12)', async () => {
    await enqueue('casc', [1, 2, 3]);
    const [old] = await claimDuePeers(database.db, 1000, LEASE, 'node-1');
    const [first] = await outboxBatch(database.db, 'casc', 1, 1 << 30);
    // node-1's batch outlasted its lease (or its clock is behind): node-2 claims casc.
    const [current] = await claimDuePeers(database.db, 1000 + LEASE, LEASE, 'node-2');
    expect(current?.token).not.toBe(old?.token);
    let also = false;
    const markAlso = async () => {
      also = true;
    };
    expect(await forwarded(database.db, old as Lease, [first?.seq as number], 1000 + 2 * LEASE, markAlso)).toBe(false);
    expect(also).toBe(false);
    expect(await ids('casc')).toEqual(['01', '02', '03']);
    expect(await renewLease(database.db, old as Lease, 1000 + 3 * LEASE)).toBe(false);
    expect(await forwardFailed(database.db, old as Lease, 1000 + LEASE, 60_000)).toBeUndefined();
    // The current holder's lease is as node-2 took it: not extended, not given up, no backoff.
    const row = await database.db.selectFrom('federation_peers').selectAll().executeTakeFirstOrThrow();
    expect([row.lease_until, row.failures, row.next_attempt_at]).toEqual([1000 + 2 * LEASE, 0, 0]);
    // It deletes what it sent, with what the answer means, in one go.
    expect(await renewLease(database.db, current as Lease, 1000 + 3 * LEASE)).toBe(true);
    expect(await forwarded(database.db, current as Lease, [first?.seq as number], 0, markAlso)).toBe(true);
    expect(also).toBe(true);
    expect(await ids('casc')).toEqual(['02', '03']);
  });

  it('does not hand a node a partner it forwards already, even once its lease ran out', async () => {
    await enqueue('casc', [1]);
    await enqueue('ejn', [2]);
    await claimDuePeers(database.db, 1000, LEASE, 'node-1', ['casc', 'ejn']).then((l) => expect(l).toEqual([]));
    expect(networks(await claimDuePeers(database.db, 1000, LEASE, 'node-1', ['casc']))).toEqual(['ejn']);
    expect(networks(await claimDuePeers(database.db, 1000 + LEASE, LEASE, 'node-1', ['ejn']))).toEqual(['casc']);
  });

  it('hands out a partner’s items in the order they were stored, and deletes only those answered for', async () => {
    await enqueue('casc', [1, 2, 3]);
    await enqueue('ejn', [9]);
    await enqueue('casc', [4]);
    expect(await ids('casc')).toEqual(['01', '02', '03', '04']);
    // Which networks each message went to is kept with it: only their relays may report on it.
    const forwards = await database.db
      .selectFrom('message_forwards')
      .select(['network_id'])
      .orderBy('network_id')
      .execute();
    expect(forwards.map((f) => f.network_id)).toEqual(['casc', 'casc', 'casc', 'casc', 'ejn']);
    const [first, second] = await outboxBatch(database.db, 'casc', 2, 1 << 30);
    const [lease] = await claimDuePeers(database.db, 2000, LEASE, 'node-1');
    await forwarded(database.db, lease as Lease, [first?.seq as number, second?.seq as number], 0);
    expect(await ids('casc')).toEqual(['03', '04']);
    expect(await ids('ejn')).toEqual(['09']);
  });

  it('cuts a batch at about the byte budget, but always sends at least one item', async () => {
    await enqueueAll(
      [1, 2, 3].map((n) => ({ networkId: 'casc', message: message(n, 'x'.repeat(10_000)) })),
      1000,
    );
    expect(await outboxBatch(database.db, 'casc', 64, 25_000)).toHaveLength(2);
    expect(await outboxBatch(database.db, 'casc', 64, 100)).toHaveLength(1);
  });

  it('reads only the payloads it sends: with 24 items of 4 MB waiting, a batch of 2 reads 2 (review #23, finding 13)', async () => {
    const big = 'x'.repeat(4 * 1024 * 1024);
    for (let n = 1; n <= 24; n++) await enqueueAll([{ networkId: 'casc', message: message(n, big) }], 1000);
    // What the database hands the relay: every row of every query outboxBatch makes.
    let read = 0;
    const counting = database.db.withPlugin({
      transformQuery: ({ node }) => node,
      transformResult: async ({ result }) => {
        for (const row of result.rows) read += JSON.stringify(row).length;
        return result;
      },
    });
    const batch = await outboxBatch(counting, 'casc', 64, 12 * 1024 * 1024 - 512 * 1024);
    expect(batch.map((i) => (i.payload as ForwardedMessage).request.messageId.slice(-2))).toEqual(['01', '02']);
    expect(read).toBeGreaterThan(2 * big.length);
    expect(read).toBeLessThan(2.1 * big.length);
  }, 120_000);

  it('backs off after a failure, doubling from a second up to the cap, and starts over after an answer', async () => {
    await enqueue('casc', [1]);
    const claim = async (now: number) => {
      const [lease] = await claimDuePeers(database.db, now, LEASE, 'node-1');
      return lease as Lease;
    };
    expect(await forwardFailed(database.db, await claim(0), 10_000, 60_000)).toBe(11_000);
    expect(await claimDuePeers(database.db, 10_999, LEASE, 'node-1')).toEqual([]);
    const lease = await claim(11_000);
    expect(lease.networkId).toBe('casc');
    expect(await forwardFailed(database.db, lease, 20_000, 60_000)).toBe(22_000);
    // The same holder failing again and again (its lease given up, but not claimed by another since).
    for (let i = 0; i < 10; i++) await forwardFailed(database.db, lease, 30_000, 60_000);
    expect(await forwardFailed(database.db, lease, 30_000, 60_000)).toBe(90_000);
    await forwarded(database.db, lease, [], 0);
    expect(await forwardFailed(database.db, lease, 40_000, 60_000)).toBe(41_000);
  });

  it('reports how many items wait and for how long, and gives up on messages older than the retention', async () => {
    expect(await outboxBacklog(database.db, 5000)).toEqual({ depth: 0, oldestMs: 0 });
    await enqueue('casc', [1], 1000);
    await enqueue('casc', [2], 3000);
    expect(await outboxBacklog(database.db, 5000)).toEqual({ depth: 2, oldestMs: 4000 });
    expect(await expireOutbox(database.db, 2000)).toEqual([
      { messageId: '00000000-0000-4000-8000-000000000001', recipients: ['am-pgo.lilit'] },
    ]);
    expect((await outboxBacklog(database.db, 5000)).depth).toBe(1);
  });

  it('queues the receipts and urgent states of forwarded messages as they are recorded, and of no others', async () => {
    const forwardedId = '00000000-0000-4000-8000-00000000000a';
    const localId = '00000000-0000-4000-8000-00000000000b';
    await insertMessage(forwardedId, 'seajust');
    await insertMessage(localId, null);
    const receipt = (id: string, status: string, device: string | null) =>
      database.db
        .insertInto('receipts')
        .values({
          message_id: id,
          sender_contact_point: 'th-oag.somchai',
          contact_point_id: 'am-pgo.lilit',
          device_id: device,
          status,
          at: 7,
        })
        .execute();
    await receipt(forwardedId, 'relayed', null);
    await receipt(forwardedId, 'delivered', 'dev-lilit');
    await receipt(localId, 'delivered', 'dev-lilit');
    await receipt(forwardedId, 'acknowledged', 'dev-lilit');
    const rows = await database.db
      .selectFrom('federation_outbox')
      .select(['network_id', 'kind', 'payload'])
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => [r.network_id, r.kind, (r.payload as { status: string }).status])).toEqual([
      ['seajust', 'receipt', 'delivered'],
      ['seajust', 'receipt', 'acknowledged'],
    ]);
    expect(rows[0]?.payload).toMatchObject({
      messageId: forwardedId,
      contactPointId: 'am-pgo.lilit',
      deviceId: 'dev-lilit',
      at: 7,
    });

    await database.db
      .insertInto('urgent_messages')
      .values({
        message_id: forwardedId,
        sender_contact_point: 'th-oag.somchai',
        status: 'escalating',
        level: 0,
        acknowledge_within_ms: 1000,
        next_step_at: 1000,
        updated_at: 8,
      })
      .execute();
    await database.db
      .updateTable('urgent_messages')
      .set({ level: 1, updated_at: 9 })
      .where('message_id', '=', forwardedId)
      .execute();
    const urgent = await database.db
      .selectFrom('federation_outbox')
      .select(['kind', 'message_id'])
      .where('kind', '=', 'urgent')
      .execute();
    expect(urgent).toEqual([
      { kind: 'urgent', message_id: forwardedId },
      { kind: 'urgent', message_id: forwardedId },
    ]);
  });
});
