import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Attachment } from '@liaison/protocol';
import type { LiaisonClient } from '../client/liaison-client.js';
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
 * the whole file decrypted and its hash matched, so `path` never holds unverified bytes.
 */
export async function downloadToFile(
  client: LiaisonClient,
  attachment: Attachment,
  path: string,
  options: TransferOptions = {},
): Promise<void> {
  const partial = `${path}.part`;
  const file = await open(partial, 'w', 0o600);
  try {
    await client.download(attachment, async (chunk) => void (await file.write(chunk)), options);
    await file.sync();
    await file.close();
    await rename(partial, path);
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw error;
  }
}
