import type { ForwardedMessage } from '@liaison/protocol';
import { type Kysely, sql } from 'kysely';
import type { Database, Db } from './schema.js';

/** One item waiting for a partner relay. */
export interface OutboxItem {
  seq: number;
  kind: 'message' | 'receipt' | 'urgent';
  messageId: string | null;
  /** A message: the forwarded message; a receipt: the receipt and its id; an urgent state: none (read when sent). */
  payload: unknown;
  createdAt: number;
}

/**
 * Messages for partner relays, written in the transaction that stores the message here, with the
 * record of which networks each went to.
 */
export async function enqueueMessages(
  db: Db,
  items: readonly { networkId: string; message: ForwardedMessage }[],
  now: number,
): Promise<void> {
  if (items.length === 0) return;
  await db
    .insertInto('message_forwards')
    .values(
      items.map(({ networkId, message: { request } }) => ({
        message_id: request.messageId,
        network_id: networkId,
        recipients: request.recipients ?? (request.recipient ? [request.recipient] : []),
      })),
    )
    .onConflict((oc) => oc.columns(['message_id', 'network_id']).doNothing())
    .execute();
  await db
    .insertInto('federation_outbox')
    .values(
      items.map(({ networkId, message }) => ({
        network_id: networkId,
        kind: 'message' as const,
        message_id: message.request.messageId,
        payload: JSON.stringify(message),
        created_at: now,
      })),
    )
    .execute();
}

/**
 * A node's hold on one partner's outbox. The token changes with every claim: whatever the clocks
 * say, a node whose lease another has since claimed can no longer delete, back off or renew.
 */
export interface Lease {
  networkId: string;
  token: number;
}

/**
 * Takes the partners whose outbox has items and is free (not held by a node, not backing off),
 * each for `leaseMs`, for `owner` (a node's id): FOR UPDATE SKIP LOCKED, so that nodes polling at
 * once take different partners, and one partner's items leave in order from one node at a time.
 * `skip`: partners this node is forwarding already (it never takes one twice). A node that dies
 * holding a lease delays that partner until the lease runs out.
 */
export async function claimDuePeers(
  db: Kysely<Database>,
  now: number,
  leaseMs: number,
  owner: string,
  skip: readonly string[] = [],
): Promise<Lease[]> {
  // Partners with waiting items get their row first: receipts and urgent states are queued by triggers.
  await sql`
    insert into federation_peers (network_id)
    select distinct network_id from federation_outbox
    on conflict (network_id) do nothing`.execute(db);
  const { rows } = await sql<{ network_id: string; lease_token: number }>`
    with due as (
      select p.network_id from federation_peers p
      where p.lease_until <= ${now} and p.next_attempt_at <= ${now}
        ${skip.length > 0 ? sql`and p.network_id not in (${sql.join([...skip])})` : sql``}
        and exists (select 1 from federation_outbox o where o.network_id = p.network_id)
      for update skip locked
    )
    update federation_peers p
    set lease_until = ${now + leaseMs}, lease_owner = ${owner}, lease_token = p.lease_token + 1
    from due where p.network_id = due.network_id
    returning p.network_id, p.lease_token`.execute(db);
  return rows.map((r) => ({ networkId: r.network_id, token: Number(r.lease_token) }));
}

/** Extends a lease still held to `leaseUntil` (0 gives it up); false when another node has claimed it since. */
export async function renewLease(db: Db, lease: Lease, leaseUntil: number): Promise<boolean> {
  const row = await db
    .updateTable('federation_peers')
    .set({ lease_until: leaseUntil })
    .where('network_id', '=', lease.networkId)
    .where('lease_token', '=', lease.token)
    .returning('network_id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The oldest items for a partner, in order, up to `maxItems` and about `maxBytes` (at least one).
 * The cut is made on the sizes stored with the rows; only the payloads of the items chosen are
 * read (a backlog of large messages would otherwise be read whole for every batch of two).
 */
export async function outboxBatch(
  db: Db,
  networkId: string,
  maxItems: number,
  maxBytes: number,
): Promise<OutboxItem[]> {
  const { rows } = await sql<{
    seq: number;
    kind: OutboxItem['kind'];
    message_id: string | null;
    payload: unknown;
    created_at: number;
  }>`
    with oldest as (
      select seq, row_number() over (order by seq) as n, sum(bytes) over (order by seq) as total
      from federation_outbox where network_id = ${networkId}
      order by seq limit ${maxItems}
    )
    select o.seq, o.kind, o.message_id, o.payload, o.created_at
    from oldest join federation_outbox o on o.seq = oldest.seq
    where oldest.n = 1 or oldest.total <= ${maxBytes}
    order by o.seq`.execute(db);
  return rows.map((r) => ({
    seq: Number(r.seq),
    kind: r.kind,
    messageId: r.message_id,
    payload: r.payload,
    createdAt: Number(r.created_at),
  }));
}

/**
 * The partner answered for these items: they leave the outbox, its backoff starts over, and the
 * lease runs until `leaseUntil` (0 gives it up); `also` runs in the same transaction (what the
 * answer means for the senders). Only for the lease's holder: false, and nothing done, when
 * another node has claimed it since (that node sends these items again, and the partner answers
 * `duplicate` for what it stored).
 */
export async function forwarded(
  db: Kysely<Database>,
  lease: Lease,
  seqs: readonly number[],
  leaseUntil: number,
  also?: (tx: Db) => Promise<void>,
): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    // The peer's row first: locked, a claim by another node waits for this to commit (or skips it).
    const held = await tx
      .updateTable('federation_peers')
      .set({ failures: 0, next_attempt_at: 0, lease_until: leaseUntil })
      .where('network_id', '=', lease.networkId)
      .where('lease_token', '=', lease.token)
      .returning('network_id')
      .executeTakeFirst();
    if (!held) return false;
    if (seqs.length > 0)
      await tx
        .deleteFrom('federation_outbox')
        .where('seq', 'in', [...seqs])
        .execute();
    await also?.(tx);
    return true;
  });
}

/**
 * The partner did not answer: try again after a delay that doubles from one second, up to
 * `maxDelayMs`, and the lease is given up. Returns when; undefined when the lease was no longer
 * this holder's (the new holder decides).
 */
export async function forwardFailed(
  db: Db,
  lease: Lease,
  now: number,
  maxDelayMs: number,
): Promise<number | undefined> {
  const row = await db
    .updateTable('federation_peers')
    .set((eb) => ({
      failures: eb('failures', '+', 1),
      next_attempt_at: sql<number>`${now}::bigint + least(${maxDelayMs}::bigint, 1000 * power(2, least(failures, 30))::bigint)`,
      lease_until: 0,
    }))
    .where('network_id', '=', lease.networkId)
    .where('lease_token', '=', lease.token)
    .returning('next_attempt_at')
    .executeTakeFirst();
  return row && Number(row.next_attempt_at);
}

/** Items waiting for partners, and how long the oldest has waited. */
export async function outboxBacklog(db: Db, now: number): Promise<{ depth: number; oldestMs: number }> {
  const { rows } = await sql<{ depth: number; oldest: number | null }>`
    select count(*)::int as depth, min(created_at) as oldest from federation_outbox`.execute(db);
  const row = rows[0];
  return { depth: row?.depth ?? 0, oldestMs: row?.oldest == null ? 0 : Math.max(0, now - Number(row.oldest)) };
}

/**
 * Deletes what has waited for a partner since before `before` (its relay away for longer than an
 * envelope is kept). Returns the messages among them, with their recipients there, so that their
 * senders are told.
 */
export async function expireOutbox(db: Db, before: number): Promise<{ messageId: string; recipients: string[] }[]> {
  const rows = await db
    .deleteFrom('federation_outbox')
    .where('created_at', '<', before)
    .returning(['kind', 'payload'])
    .execute();
  return rows.flatMap((row) => {
    if (row.kind !== 'message') return [];
    const { request } = row.payload as ForwardedMessage;
    return [
      {
        messageId: request.messageId,
        recipients: request.recipients ?? (request.recipient ? [request.recipient] : []),
      },
    ];
  });
}
