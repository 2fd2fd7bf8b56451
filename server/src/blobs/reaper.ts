import { RelayError } from '../errors.js';
import type { RelayDeps } from '../relay-deps.js';
import { type BlobRow, chunkStored, deleteBlobRow, finishedBlobs } from '../storage/blobs.js';

/**
 * Chunks first, then the row: a crash in between leaves a row the next sweep deletes again. The
 * chunks are removed once more after the row: an upload that read the row before it went may have
 * written its chunk (and the folder store its folder) in between, and counted it while the row was
 * still there (see `storeChunk`).
 */
export async function removeBlob(deps: Pick<RelayDeps, 'db' | 'blobs' | 'metrics'>, blobId: string): Promise<void> {
  await deps.blobs.remove(blobId);
  await deleteBlobRow(deps.db, blobId);
  await deps.blobs.remove(blobId);
  deps.metrics.blobsDeleted.inc();
}

/**
 * Writes chunk `index` and counts it (`chunkStored`); returns the blob as it is now. If the blob was
 * deleted while the chunk was being written (`removeBlob` racing an upload), the chunk is removed
 * again: no row is left for the reaper to find it by.
 */
export async function storeChunk(
  deps: Pick<RelayDeps, 'db' | 'blobs' | 'config'>,
  blobId: string,
  index: number,
  bytes: Uint8Array,
): Promise<BlobRow> {
  await deps.blobs.write(blobId, index, bytes);
  const updated = await chunkStored(deps.db, blobId, index, deps.config.now());
  if (updated) return updated;
  await deps.blobs.remove(blobId);
  // Gone since the upload read it: answered as for any blob not stored here.
  throw new RelayError('NOT_FOUND', 'no blob with this id is yours to use');
}

/** Deletes the blobs every reader has, those past retention, and uploads left idle; returns how many. */
export async function reapBlobs(deps: Pick<RelayDeps, 'db' | 'blobs' | 'config' | 'metrics'>): Promise<number> {
  let removed = 0;
  for (;;) {
    const batch = await finishedBlobs(deps.db, deps.config.now(), deps.config.blobUploadIdleMs, 100);
    for (const blobId of batch) await removeBlob(deps, blobId);
    removed += batch.length;
    if (batch.length < 100) return removed;
  }
}
