import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOB_CHUNK_OVERHEAD } from '@liaison/protocol';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPgliteDatabase, type TestDatabase } from '../../../test/harness/databases.js';
import { RelayError } from '../errors.js';
import { RelayMetrics } from '../metrics.js';
import { createBlob, findBlob } from '../storage/blobs.js';
import { migrate } from '../storage/migrations.js';
import type { Database } from '../storage/schema.js';
import type { BlobStore } from './blob-store.js';
import { FolderBlobStore } from './folder-blob-store.js';
import { removeBlob, storeChunk } from './reaper.js';

/**
 * A blob deleted (`removeBlob`: all readers have it, or the reaper) while one of its chunks is
 * being uploaded (`storeChunk`, after the route read the row) leaves nothing on disk, whichever
 * comes first. The two are interleaved at the points a real race can reach, by running one inside
 * the other's store call; the store, the folder and the database are real.
 */
describe('a chunk uploaded while its blob is deleted', () => {
  let database: TestDatabase;
  let db: Kysely<Database>;
  let dir: string;
  let folder: FolderBlobStore;
  let metrics: RelayMetrics;
  const config = { now: () => Date.now() } as Parameters<typeof storeChunk>[0]['config'];
  const chunk = randomBytes(BLOB_CHUNK_OVERHEAD + 100);

  beforeAll(async () => {
    database = await freshPgliteDatabase();
    db = database.db;
    await migrate(db);
    dir = await mkdtemp(join(tmpdir(), 'liaison-blobs-'));
    folder = new FolderBlobStore(dir);
    metrics = new RelayMetrics(db, () => 0, undefined);
  }, 60_000);
  afterAll(async () => {
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const newBlob = async () => {
    const blobId = randomUUID();
    const request = { blobId, messageId: randomUUID(), size: chunk.length, readers: ['reader-device'] };
    await createBlob(db, 'uploader-device', request, Date.now(), 3_600_000);
    return blobId;
  };
  const folders = () => readdir(dir);

  it('removes the chunk again when the blob was deleted before the upload counted it', async () => {
    const blobId = await newBlob();
    // The whole deletion runs between the route's read of the row and the chunk's write.
    const racing: BlobStore = {
      write: async (...args) => {
        await removeBlob({ db, blobs: folder, metrics }, blobId);
        await folder.write(...args);
      },
      read: (...args) => folder.read(...args),
      remove: (...args) => folder.remove(...args),
    };
    const answer = await storeChunk({ db, blobs: racing, config }, blobId, 0, chunk).catch((error: unknown) => error);
    expect(answer instanceof RelayError && answer.code).toBe('NOT_FOUND');
    expect(await folders()).not.toContain(blobId);
    expect(await findBlob(db, blobId)).toBeUndefined();
  });

  it('removes the chunk when the upload wrote and counted it between the deletion of the chunks and of the row', async () => {
    const blobId = await newBlob();
    let raced = false;
    const racing: BlobStore = {
      write: (...args) => folder.write(...args),
      read: (...args) => folder.read(...args),
      remove: async (id) => {
        await folder.remove(id);
        if (raced) return;
        raced = true;
        // The upload's write and count land after the chunks went, while the row is still there.
        expect(await storeChunk({ db, blobs: folder, config }, blobId, 0, chunk)).toMatchObject({ stored_chunks: 1 });
      },
    };
    await removeBlob({ db, blobs: racing, metrics }, blobId);
    expect(raced).toBe(true);
    expect(await folders()).not.toContain(blobId);
    expect(await findBlob(db, blobId)).toBeUndefined();
  });
});
