import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BLOB_CHUNK_BYTES, BLOB_CHUNK_OVERHEAD } from '@liaison/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPgliteDatabase, freshPostgresDatabase, type TestDatabase } from '../../../test/harness/databases.js';
import { postgresService } from '../../../test/harness/services.js';
import { migrate } from '../storage/migrations.js';
import type { BlobStore } from './blob-store.js';
import { DatabaseBlobStore } from './database-blob-store.js';
import { FolderBlobStore } from './folder-blob-store.js';

/**
 * What the blob routes and the reaper rely on from a blob store, asserted the same way against
 * each implementation: the folder of a single node and the database table of a cluster (on
 * PGlite and on PostgreSQL).
 */
interface StoreUnderTest {
  store: BlobStore;
  close(): Promise<void>;
}

/** The highest chunk index the routes accept (nine digits). */
const HIGHEST_INDEX = 999_999_999;

// Length and hash: a failure names what differs without printing megabytes.
const digest = (bytes: Uint8Array | undefined) =>
  bytes && { length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };

/** One store for the whole suite (a database and its migrations take a while): each test uses blob ids of its own. */
function blobStoreContract(open: () => Promise<StoreUnderTest>) {
  let subject: StoreUnderTest;
  let store: BlobStore;
  // Starting PGlite and migrating takes seconds, more while other test files share the CPUs.
  beforeAll(async () => {
    subject = await open();
    store = subject.store;
  }, 60_000);
  afterAll(() => subject?.close());

  it('reads each chunk back byte for byte at its own index, whatever order they were written in', async () => {
    const blob = randomUUID();
    const chunks = Array.from({ length: 5 }, () => randomBytes(BLOB_CHUNK_OVERHEAD + 1000));
    for (const index of [3, 0, 4, 1, 2]) await store.write(blob, index, chunks[index] as Uint8Array);
    for (const [index, chunk] of chunks.entries()) expect(digest(await store.read(blob, index))).toEqual(digest(chunk));
  });

  it('keeps the largest chunk, the smallest, and the highest index the routes accept, exactly', async () => {
    const blob = randomUUID();
    const largest = randomBytes(BLOB_CHUNK_BYTES);
    const smallest = randomBytes(BLOB_CHUNK_OVERHEAD);
    await store.write(blob, 0, largest);
    await store.write(blob, 1, smallest);
    await store.write(blob, HIGHEST_INDEX, smallest);
    const read = await store.read(blob, 0);
    expect(read).toBeInstanceOf(Uint8Array);
    expect(digest(read)).toEqual(digest(largest));
    expect(digest(await store.read(blob, 1))).toEqual(digest(smallest));
    expect(digest(await store.read(blob, HIGHEST_INDEX))).toEqual(digest(smallest));
  });

  it('has nothing for a chunk never written, of a blob it knows or of one it does not', async () => {
    const blob = randomUUID();
    await store.write(blob, 0, randomBytes(100));
    expect(await store.read(blob, 1)).toBeUndefined();
    expect(await store.read(randomUUID(), 0)).toBeUndefined();
  });

  it('reads nothing of another blob for an id written to reach it (a quote and SQL)', async () => {
    const victim = randomUUID();
    await store.write(victim, 0, randomBytes(100));
    const reaching = `${randomUUID()}'::uuid or blob_id = '${victim}`;
    const read = await store.read(reaching, 0).catch(() => undefined);
    expect(read).toBeUndefined();
  });

  it('replaces a chunk written again, leaving nothing of the earlier, longer write', async () => {
    const blob = randomUUID();
    await store.write(blob, 0, randomBytes(5000));
    const again = randomBytes(200);
    await store.write(blob, 0, again);
    expect(digest(await store.read(blob, 0))).toEqual(digest(again));
  });

  it('removes every chunk of a blob and nothing of another; removing what is gone is no error', async () => {
    const [blob, other] = [randomUUID(), randomUUID()];
    for (const index of [0, 1, 2]) await store.write(blob, index, randomBytes(100));
    const kept = randomBytes(100);
    await store.write(other, 0, kept);
    await store.remove(blob);
    for (const index of [0, 1, 2]) expect(await store.read(blob, index)).toBeUndefined();
    expect(digest(await store.read(other, 0))).toEqual(digest(kept));
    // The reaper removes again after a crash between the chunks and the row; and blobs that never got a chunk.
    await store.remove(blob);
    await store.remove(randomUUID());
  });

  it('under concurrent writes keeps every chunk of a new blob, and one whole version of a chunk written twice', async () => {
    const blob = randomUUID();
    const chunks = Array.from({ length: 8 }, () => randomBytes(64 * 1024));
    await Promise.all(chunks.map((chunk, index) => store.write(blob, index, chunk)));
    for (const [index, chunk] of chunks.entries()) expect(digest(await store.read(blob, index))).toEqual(digest(chunk));

    const versions = [randomBytes(256 * 1024), randomBytes(256 * 1024)];
    await Promise.all(versions.map((version) => store.write(blob, 0, version)));
    expect(versions.map(digest)).toContainEqual(digest(await store.read(blob, 0)));
  });
}

describe('blob store contract: FolderBlobStore', () => {
  blobStoreContract(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'liaison-blobs-'));
    return { store: new FolderBlobStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
  });
});

async function databaseStore(database: TestDatabase): Promise<StoreUnderTest> {
  await migrate(database.db);
  return { store: new DatabaseBlobStore(database.db, database.pool), close: () => database.drop() };
}

describe('blob store contract: DatabaseBlobStore on PGlite', () => {
  blobStoreContract(async () => databaseStore(await freshPgliteDatabase()));
});

postgresService.describe('blob store contract: DatabaseBlobStore on PostgreSQL', () => {
  blobStoreContract(async () => databaseStore(await freshPostgresDatabase()));
});
