import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema as it was (see 0001)
type AnyDb = Kysely<any>;

/** Encrypted attachments: blob metadata, who may read each, and (for the database store) the chunks. */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('blobs')
    .addColumn('blob_id', 'uuid', (c) => c.primaryKey())
    // The message that carries the key (it may not be sent yet): cancelled copies drop their readers.
    .addColumn('message_id', 'uuid', (c) => c.notNull())
    .addColumn('uploader_device', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('chunks', 'integer', (c) => c.notNull())
    .addColumn('stored_chunks', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('completed_at', 'bigint')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('blobs_uploader').on('blobs').column('uploader_device').execute();
  await db.schema.createIndex('blobs_message').on('blobs').column('message_id').execute();

  await db.schema
    .createTable('blob_readers')
    .addColumn('blob_id', 'uuid', (c) => c.notNull().references('blobs.blob_id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('downloaded_at', 'bigint')
    .addPrimaryKeyConstraint('blob_readers_pk', ['blob_id', 'device_id'])
    .execute();

  // The database blob store's chunks; the store deletes them itself (no foreign key: the folder
  // store keeps its chunks elsewhere, and metadata is deleted only after the chunks are).
  await db.schema
    .createTable('blob_chunks')
    .addColumn('blob_id', 'uuid', (c) => c.notNull())
    .addColumn('chunk_index', 'integer', (c) => c.notNull())
    .addColumn('bytes', 'bytea', (c) => c.notNull())
    .addPrimaryKeyConstraint('blob_chunks_pk', ['blob_id', 'chunk_index'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const table of ['blob_chunks', 'blob_readers', 'blobs']) await db.schema.dropTable(table).execute();
}
