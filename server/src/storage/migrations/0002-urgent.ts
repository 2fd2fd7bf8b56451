import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema as it was (see 0001)
type AnyDb = Kysely<any>;

/** Urgent messages: held copies per escalation level, durable timers, and webhook alerts. */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable('envelopes')
    // Held: a copy for an escalation level not released yet; never pushed, never counted as queued.
    .addColumn('held', 'boolean', (c) => c.notNull().defaultTo(false))
    // The deadline this copy's level was given when it was released.
    .addColumn('deadline', 'bigint')
    .execute();

  await db.schema
    .createTable('urgent_messages')
    .addColumn('message_id', 'uuid', (c) => c.primaryKey().references('messages.message_id').onDelete('cascade'))
    .addColumn('sender_contact_point', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('level', 'integer', (c) => c.notNull())
    .addColumn('acknowledge_within_ms', 'bigint', (c) => c.notNull())
    // The durable timer: when the current level's time runs out (null once acknowledged or exhausted).
    .addColumn('next_step_at', 'bigint')
    .addColumn('acknowledged_contact_point', 'text')
    .addColumn('acknowledged_device', 'text')
    .addColumn('acknowledged_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('urgent_messages_due')
    .on('urgent_messages')
    .column('next_step_at')
    .where('next_step_at', 'is not', null)
    .execute();

  await db.schema
    .createTable('urgent_levels')
    .addColumn('message_id', 'uuid', (c) => c.notNull().references('urgent_messages.message_id').onDelete('cascade'))
    .addColumn('level', 'integer', (c) => c.notNull())
    .addColumn('contact_point_id', 'text', (c) => c.notNull())
    .addColumn('devices', 'integer', (c) => c.notNull())
    .addColumn('released_at', 'bigint')
    .addColumn('deadline', 'bigint')
    .addPrimaryKeyConstraint('urgent_levels_pk', ['message_id', 'level'])
    .execute();

  await db.schema
    .createTable('webhooks')
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('authority_id', 'text', (c) => c.notNull())
    .addColumn('url', 'text')
    .addColumn('secret', 'bytea', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhooks_pk', ['network_id', 'authority_id'])
    .execute();

  // The delivery log and outbox of webhook alerts: written in the transaction that causes them.
  await db.schema
    .createTable('webhook_alerts')
    .addColumn('alert_id', 'bigserial', (c) => c.primaryKey())
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('authority_id', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint')
    .addColumn('last_result', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('delivered_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('webhook_alerts_due')
    .on('webhook_alerts')
    .column('next_attempt_at')
    .where('next_attempt_at', 'is not', null)
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of ['webhook_alerts', 'webhooks', 'urgent_levels', 'urgent_messages']) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.alterTable('envelopes').dropColumn('held').dropColumn('deadline').execute();
}
