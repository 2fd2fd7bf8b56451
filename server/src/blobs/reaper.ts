import type { RelayDeps } from '../relay-deps.js';
import { deleteBlobRow, finishedBlobs } from '../storage/blobs.js';

/** Chunks first, then the row: a crash in between leaves a row the next sweep deletes again. */
export async function removeBlob(deps: Pick<RelayDeps, 'db' | 'blobs' | 'metrics'>, blobId: string): Promise<void> {
  await deps.blobs.remove(blobId);
  await deleteBlobRow(deps.db, blobId);
  deps.metrics.blobsDeleted.inc();
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
