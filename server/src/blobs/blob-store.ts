import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { RelayConfig } from '../config.js';
import type { Database } from '../storage/schema.js';
import { DatabaseBlobStore } from './database-blob-store.js';
import { FolderBlobStore } from './folder-blob-store.js';

/**
 * Where attachment ciphertext chunks are kept. One chunk at a time (at most BLOB_CHUNK_BYTES, 4 MiB
 * and 17 bytes), so no whole file is ever held in memory. Metadata (sizes, progress, readers) lives
 * in the database whatever the store; a store only keeps bytes. blob-store.test.ts is the contract
 * every store passes.
 */
export interface BlobStore {
  /** Stores chunk `index`, replacing any partial earlier write of it. */
  write(blobId: string, index: number, bytes: Uint8Array): Promise<void>;
  /** The chunk, or undefined if it is not stored. */
  read(blobId: string, index: number): Promise<Uint8Array | undefined>;
  /** Deletes every chunk of the blob; deleting what is not there is not an error. */
  remove(blobId: string): Promise<void>;
}

/** `pool`: the database's, when it is PostgreSQL. */
export function openBlobStore(config: RelayConfig['blobStore'], db: Kysely<Database>, pool?: pg.Pool): BlobStore {
  return config.kind === 'folder' ? new FolderBlobStore(config.dir) : new DatabaseBlobStore(db, pool);
}
