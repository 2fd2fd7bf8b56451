import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema as it was (see 0001)
type AnyDb = Kysely<any>;

/** Keys the relay makes for itself, once, shared by every node of a cluster through the database. */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('relay_keys')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('key', 'bytea', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('relay_keys').execute();
}
