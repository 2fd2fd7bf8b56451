import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema as it was (see 0001)
type AnyDb = Kysely<any>;

/**
 * Signed ML-KEM-768 prekeys for hybrid (PQXDH) sessions: a pool of one-time ones, each handed out
 * once like one_time_prekeys, and one last-resort one per device, handed out whenever the pool is
 * empty. Each row keeps its signature, since the initiator checks it. Both go with their device.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('one_time_kem_prekeys')
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.device_id').onDelete('cascade'))
    .addColumn('prekey_id', 'bigint', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('one_time_kem_prekeys_pk', ['device_id', 'prekey_id'])
    .execute();

  await db.schema
    .createTable('last_resort_kem_prekeys')
    .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.device_id').onDelete('cascade'))
    .addColumn('prekey_id', 'bigint', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('last_resort_kem_prekeys').execute();
  await db.schema.dropTable('one_time_kem_prekeys').execute();
}
