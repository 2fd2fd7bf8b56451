import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema as it was (see 0001)
type AnyDb = Kysely<any>;

/**
 * Federation (docs/federation.md):
 * - messages forwarded by a partner relay record the network they came from;
 * - foreign contact points are cached as their relay last showed them (verified entries);
 * - the forwarding outbox holds what goes to each partner relay, in order, until that relay
 *   acknowledges it; each partner's row leases its outbox to one node at a time (fenced by a token);
 * - receipts forwarded to us are recorded once (by the id their relay gave them);
 * - urgent states of messages escalating on a partner's relay are kept as it last reported them;
 * - which partner networks each message went to: only their relays may report on it;
 * - the nonces of signed requests from partner relays, until they could no longer pass the time
 *   check: in the database, so that a restart (or another node) does not forget them.
 *
 * Receipts and urgent-state changes of forwarded messages go into the outbox by triggers, in the
 * transaction that makes them: every path that records one (delivery, acknowledgement, expiry,
 * escalation) forwards it, durably, without knowing about federation.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('messages').addColumn('origin_network', 'text').execute();
  await db.schema
    .createTable('foreign_contact_points')
    .addColumn('contact_point_id', 'text', (c) => c.primaryKey())
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('entry', 'jsonb', (c) => c.notNull())
    .addColumn('fetched_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('foreign_devices')
    .addColumn('device_id', 'text', (c) => c.primaryKey())
    .addColumn('contact_point_id', 'text', (c) =>
      c.notNull().references('foreign_contact_points.contact_point_id').onDelete('cascade'),
    )
    .addColumn('network_id', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('federation_outbox')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('message_id', 'uuid')
    .addColumn('payload', 'jsonb')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    // Its size, counted once when written: a batch is cut by size without reading the payloads.
    .addColumn('bytes', 'integer', (c) =>
      c.notNull().generatedAlwaysAs(sql`coalesce(octet_length(payload::text), 0)`).stored(),
    )
    .execute();
  await db.schema
    .createIndex('federation_outbox_by_network')
    .on('federation_outbox')
    .columns(['network_id', 'seq'])
    .execute();
  await db.schema
    .createTable('federation_peers')
    .addColumn('network_id', 'text', (c) => c.primaryKey())
    .addColumn('lease_until', 'bigint', (c) => c.notNull().defaultTo(0))
    // Who holds the lease (a node's id, for operators), and a token that changes with each claim:
    // a node acts on the outbox only while the token it was given is still the row's.
    .addColumn('lease_owner', 'text')
    .addColumn('lease_token', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable('federation_receipts_seen')
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('remote_id', 'bigint', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('federation_receipts_seen_pk', ['network_id', 'remote_id'])
    .execute();
  await db.schema
    .createTable('message_forwards')
    .addColumn('message_id', 'uuid', (c) => c.notNull().references('messages.message_id').onDelete('cascade'))
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('recipients', sql`text[]`, (c) => c.notNull())
    .addPrimaryKeyConstraint('message_forwards_pk', ['message_id', 'network_id'])
    .execute();
  await db.schema
    .createTable('federation_nonces')
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('federation_nonces_pk', ['key_id', 'nonce'])
    .execute();
  await db.schema
    .createTable('foreign_urgent_states')
    .addColumn('message_id', 'uuid', (c) => c.primaryKey())
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await sql`
    create function federation_forward_receipt() returns trigger language plpgsql as $$
    begin
      insert into federation_outbox (network_id, kind, message_id, payload, created_at)
      select m.origin_network, 'receipt', new.message_id,
        jsonb_strip_nulls(jsonb_build_object('id', new.receipt_id, 'messageId', new.message_id, 'status', new.status,
          'contactPointId', new.contact_point_id, 'deviceId', new.device_id, 'at', new.at)),
        new.at
      from messages m
      where m.message_id = new.message_id and m.origin_network is not null and new.status <> 'relayed';
      return null;
    end $$`.execute(db);
  await sql`
    create trigger receipts_forwarded after insert on receipts
    for each row execute function federation_forward_receipt()`.execute(db);
  // The state itself is read when it is sent: what arrives is always the newest.
  await sql`
    create function federation_forward_urgent() returns trigger language plpgsql as $$
    begin
      insert into federation_outbox (network_id, kind, message_id, payload, created_at)
      select m.origin_network, 'urgent', new.message_id, null, new.updated_at
      from messages m
      where m.message_id = new.message_id and m.origin_network is not null;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger urgent_forwarded after insert or update on urgent_messages
    for each row execute function federation_forward_urgent()`.execute(db);
}
