import type { Kysely } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { BlobStore } from './blob-store.js';

/** Chunks as rows of `blob_chunks`: what a cluster uses, so that any node serves any blob. */
export class DatabaseBlobStore implements BlobStore {
  constructor(private readonly db: Kysely<Database>) {}

  async write(blobId: string, index: number, bytes: Uint8Array): Promise<void> {
    await this.db
      .insertInto('blob_chunks')
      .values({ blob_id: blobId, chunk_index: index, bytes })
      .onConflict((oc) => oc.columns(['blob_id', 'chunk_index']).doUpdateSet({ bytes }))
      .execute();
  }

  async read(blobId: string, index: number): Promise<Uint8Array | undefined> {
    const row = await this.db
      .selectFrom('blob_chunks')
      .select('bytes')
      .where('blob_id', '=', blobId)
      .where('chunk_index', '=', index)
      .executeTakeFirst();
    return row?.bytes;
  }

  async remove(blobId: string): Promise<void> {
    await this.db.deleteFrom('blob_chunks').where('blob_id', '=', blobId).execute();
  }
}
