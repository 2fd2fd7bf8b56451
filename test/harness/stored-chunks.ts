import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from '@liaison/server';
import { type Kysely, sql } from 'kysely';

/**
 * The relay's stored attachment chunks, as a test (or a hostile relay) reaches them directly:
 * counted, searched, and tampered with, whichever store holds them.
 */
export interface StoredChunks {
  count(blobId: string): Promise<number>;
  /** How many stored chunks, of any blob, contain these bytes. */
  containing(bytes: Uint8Array): Promise<number>;
  /** Inverts one byte of a chunk. */
  flip(blobId: string, index: number, at: number): Promise<void>;
  swap(blobId: string, a: number, b: number): Promise<void>;
  drop(blobId: string, index: number): Promise<void>;
}

/** Chunks as files, `<dir>/<blobId>/<index>` (the folder store). */
export function folderChunks(dir: string): StoredChunks {
  const files = async (blobId: string) => readdir(join(dir, blobId)).catch(() => [] as string[]);
  const path = (blobId: string, index: number | string) => join(dir, blobId, String(index));
  return {
    count: async (blobId) => (await files(blobId)).length,
    async containing(bytes) {
      let found = 0;
      for (const blobId of await readdir(dir).catch(() => [] as string[])) {
        for (const file of await files(blobId))
          if ((await readFile(path(blobId, file))).includes(Buffer.from(bytes))) found++;
      }
      return found;
    },
    async flip(blobId, index, at) {
      const chunk = await readFile(path(blobId, index));
      chunk[at] = 255 - (chunk[at] as number);
      await writeFile(path(blobId, index), chunk);
    },
    async swap(blobId, a, b) {
      await rename(path(blobId, a), path(blobId, 'swap'));
      await rename(path(blobId, b), path(blobId, a));
      await rename(path(blobId, 'swap'), path(blobId, b));
    },
    drop: (blobId, index) => rm(path(blobId, index)),
  };
}

/** Chunks as rows of `blob_chunks` (the database store). */
export function databaseChunks(db: Kysely<Database>): StoredChunks {
  return {
    async count(blobId) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from blob_chunks where blob_id = ${blobId}`.execute(db);
      return rows[0]?.n ?? 0;
    },
    async containing(bytes) {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from blob_chunks where position(${bytes}::bytea in bytes) > 0`.execute(db);
      return rows[0]?.n ?? 0;
    },
    async flip(blobId, index, at) {
      await sql`update blob_chunks set bytes = set_byte(bytes, ${at}, 255 - get_byte(bytes, ${at}))
        where blob_id = ${blobId} and chunk_index = ${index}`.execute(db);
    },
    async swap(blobId, a, b) {
      // One row at a time: the primary key is checked after each statement.
      for (const [from, to] of [
        [a, -1],
        [b, a],
        [-1, b],
      ]) {
        await sql`update blob_chunks set chunk_index = ${to} where blob_id = ${blobId} and chunk_index = ${from}`.execute(
          db,
        );
      }
    },
    async drop(blobId, index) {
      await sql`delete from blob_chunks where blob_id = ${blobId} and chunk_index = ${index}`.execute(db);
    },
  };
}
