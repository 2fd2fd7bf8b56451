import { type Kysely, sql } from 'kysely';

// Migrations are typed Kysely<any> on purpose: they describe the schema as it was, not as it is.
// biome-ignore lint/suspicious/noExplicitAny: see above
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('contact_points')
    .addColumn('contact_point_id', 'text', (c) => c.primaryKey())
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('authority_id', 'text', (c) => c.notNull())
    .addColumn('country', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('languages', sql`text[]`, (c) => c.notNull())
    .addColumn('competences', sql`text[]`, (c) => c.notNull())
    .addColumn('account_key', 'text', (c) => c.notNull())
    .addColumn('authority_certificate', 'jsonb', (c) => c.notNull())
    .addColumn('certificate', 'jsonb', (c) => c.notNull())
    .addColumn('availability', 'jsonb', (c) => c.notNull())
    .addColumn('not_after', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('contact_points_country').on('contact_points').column('country').execute();

  await db.schema
    .createTable('devices')
    .addColumn('device_id', 'text', (c) => c.primaryKey())
    .addColumn('contact_point_id', 'text', (c) => c.notNull().references('contact_points.contact_point_id'))
    .addColumn('certificate', 'jsonb', (c) => c.notNull())
    .addColumn('not_after', 'bigint', (c) => c.notNull())
    .addColumn('registered_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('devices_contact_point').on('devices').column('contact_point_id').execute();

  await db.schema
    .createTable('signed_prekeys')
    .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.device_id').onDelete('cascade'))
    .addColumn('prekey_id', 'bigint', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('one_time_prekeys')
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.device_id').onDelete('cascade'))
    .addColumn('prekey_id', 'bigint', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('one_time_prekeys_pk', ['device_id', 'prekey_id'])
    .execute();

  await db.schema
    .createTable('messages')
    .addColumn('message_id', 'uuid', (c) => c.primaryKey())
    .addColumn('sender_device', 'text', (c) => c.notNull())
    .addColumn('sender_contact_point', 'text', (c) => c.notNull())
    .addColumn('recipient_contact_point', 'text', (c) => c.notNull())
    .addColumn('priority', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('server_time', 'bigint', (c) => c.notNull())
    .addColumn('deadline', 'bigint')
    .execute();

  await db.schema
    .createTable('envelopes')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('message_id', 'uuid', (c) => c.notNull().references('messages.message_id'))
    .addColumn('recipient_device', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('ciphertext', 'bytea', (c) => c.notNull())
    .addColumn('escalation_level', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('envelopes_message_device', ['message_id', 'recipient_device'])
    .execute();
  await db.schema.createIndex('envelopes_queue').on('envelopes').columns(['recipient_device', 'seq']).execute();
  await db.schema.createIndex('envelopes_expiry').on('envelopes').column('expires_at').execute();

  await db.schema
    .createTable('receipts')
    .addColumn('receipt_id', 'bigserial', (c) => c.primaryKey())
    .addColumn('message_id', 'uuid', (c) => c.notNull())
    .addColumn('sender_contact_point', 'text', (c) => c.notNull())
    .addColumn('contact_point_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('receipts_sender')
    .on('receipts')
    .columns(['sender_contact_point', 'receipt_id'])
    .execute();
  await db.schema.createIndex('receipts_message').on('receipts').column('message_id').execute();

  await db.schema
    .createTable('revocations')
    .addColumn('network_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('issuer_key', 'text', (c) => c.notNull())
    .addColumn('statement', 'jsonb', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('revocations_pk', ['network_id', 'subject', 'subject_id', 'issuer_key'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of [
    'revocations',
    'receipts',
    'envelopes',
    'messages',
    'one_time_prekeys',
    'signed_prekeys',
    'devices',
    'contact_points',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
