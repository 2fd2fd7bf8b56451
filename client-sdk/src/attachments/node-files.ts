import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, truncate } from 'node:fs/promises';
import { basename } from 'node:path';
import { type Attachment, blobChunkCount, blobSizeFor, LIMITS } from '@liaison/protocol';
import type { LiaisonClient } from '../client/liaison-client.js';
import { isLiaisonError } from '../errors.js';
import type { AttachmentSource, TransferOptions } from './transfer.js';

/** A file on disk as an attachment, read as a stream when it is uploaded. */
export async function fileAttachment(
  path: string,
  options: { name?: string; type?: string } = {},
): Promise<AttachmentSource> {
  const { size } = await stat(path);
  return {
    name: options.name ?? basename(path),
    type: options.type ?? 'application/octet-stream',
    size,
    open: () => createReadStream(path, { highWaterMark: 1024 * 1024 }),
  };
}

/**
 * Downloads an attachment to `path`: written to `path.part` as it arrives and renamed only once
 * the whole file decrypted and its hash matched, so `path` never holds unverified bytes. An
 * interrupted download (relay unreachable too long, the process restarted) leaves `path.part`,
 * holding only chunks that opened; the next call for the same attachment and path resumes after
 * its whole chunks. A `path.part` that is not this attachment's fails to continue and is removed.
 */
export async function downloadToFile(
  client: LiaisonClient,
  attachment: Attachment,
  path: string,
  options: TransferOptions = {},
): Promise<void> {
  const partial = `${path}.part`;
  const chunk = LIMITS.blobChunkPlaintextBytes;
  const lastChunkStart = Math.max(0, blobChunkCount(blobSizeFor(attachment.size)) - 1) * chunk;
  const found = await stat(partial).then(
    (s) => s.size,
    () => 0,
  );
  const kept = Math.min(Math.floor(found / chunk) * chunk, lastChunkStart);
  if (found > 0) await truncate(partial, kept);
  const file = await open(partial, 'a', 0o600);
  try {
    await client.download(attachment, async (bytes) => void (await file.write(bytes)), {
      ...options,
      ...(kept > 0 && { kept: { bytes: kept, read: () => createReadStream(partial, { start: 0, end: kept - 1 }) } }),
    });
    await file.sync();
    await file.close();
    await rename(partial, path);
  } catch (error) {
    await file.close().catch(() => undefined);
    // Bytes that failed to verify are worth nothing; anything else is kept to resume from.
    if (isLiaisonError(error, 'DECRYPT_FAILED') || isLiaisonError(error, 'INVALID_INPUT')) {
      await rm(partial, { force: true });
    }
    throw error;
  }
}
