import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { readOneByteaByCopy } from '../storage/bytea-by-copy.js';
import type { Database } from '../storage/schema.js';
import type { BlobStore } from './blob-store.js';

/**
 * Chunks as rows of `blob_chunks`: what a cluster uses, so that any node serves any blob.
 *
 * A chunk is written as a binary parameter, once (the upsert takes it from `excluded`). The
 * drivers' queries read every value as text, and a `bytea` read as text is hex: 8 MiB of string
 * for a 4 MiB chunk. So on PostgreSQL (given its `pool`) a chunk is read as binary through COPY
 * (bytea-by-copy.ts); on PGlite, as base64 text (5.6 MiB). Reading a chunk from PostgreSQL cost
 * the relay 29–32 ms of CPU as hex, 13–14 as base64; binary costs less again, with the relay's heap
 * option (node-flags.ts; docs/performance.md).
 */
export class DatabaseBlobStore implements BlobStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly pool?: pg.Pool,
  ) {}

  async write(blobId: string, index: number, bytes: Uint8Array): Promise<void> {
    await this.db
      .insertInto('blob_chunks')
      .values({ blob_id: blobId, chunk_index: index, bytes })
      .onConflict((oc) =>
        oc.columns(['blob_id', 'chunk_index']).doUpdateSet((eb) => ({ bytes: eb.ref('excluded.bytes') })),
      )
      .execute();
  }

  async read(blobId: string, index: number): Promise<Uint8Array | undefined> {
    if (this.pool) {
      // COPY takes no parameters: the id is an escaped literal, cast to the column's type; the index an integer.
      if (!Number.isSafeInteger(index)) throw new TypeError('a chunk index must be an integer');
      return readOneByteaByCopy(
        this.pool,
        `select bytes from blob_chunks where blob_id = ${pg.escapeLiteral(blobId)}::uuid and chunk_index = ${index}`,
      );
    }
    const row = await this.db
      .selectFrom('blob_chunks')
      .select(sql<string>`encode(bytes, 'base64')`.as('base64'))
      .where('blob_id', '=', blobId)
      .where('chunk_index', '=', index)
      .executeTakeFirst();
    // PostgreSQL breaks its base64 into lines of 76 characters; Node's decoder skips the line breaks.
    return row && Buffer.from(row.base64, 'base64');
  }

  async remove(blobId: string): Promise<void> {
    await this.db.deleteFrom('blob_chunks').where('blob_id', '=', blobId).execute();
  }
}
