import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlobStore } from './blob-store.js';

/**
 * Chunks as files, `<dir>/<blobId>/<index>`: the single-node default. Each chunk is written to a
 * temporary name and renamed, so a crash mid-write leaves no half chunk under its real name.
 * Blob ids are UUIDs checked by the routes, so they cannot name a path outside the folder.
 */
export class FolderBlobStore implements BlobStore {
  constructor(private readonly dir: string) {}

  async write(blobId: string, index: number, bytes: Uint8Array): Promise<void> {
    const folder = join(this.dir, blobId);
    const temporary = join(folder, `${index}.${randomUUID()}.part`);
    try {
      await writeFile(temporary, bytes).catch(async (error: NodeJS.ErrnoException) => {
        // The blob's first chunk makes its folder: a mkdir before every chunk cost more CPU than writing one.
        if (error.code !== 'ENOENT') throw error;
        await mkdir(folder, { recursive: true });
        await writeFile(temporary, bytes);
      });
    } catch (error) {
      // A disk that filled mid-write keeps no half chunk; the error (ENOSPC: STORAGE_FULL) goes to the uploader.
      await rm(temporary, { force: true });
      throw error;
    }
    await rename(temporary, join(folder, String(index)));
  }

  async read(blobId: string, index: number): Promise<Uint8Array | undefined> {
    try {
      return await readFile(join(this.dir, blobId, String(index)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async remove(blobId: string): Promise<void> {
    await rm(join(this.dir, blobId), { recursive: true, force: true });
  }
}
