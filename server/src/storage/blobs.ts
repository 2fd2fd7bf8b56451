import type { BlobStatus, CreateBlobRequest } from '@liaison/protocol';
import { blobChunkCount } from '@liaison/protocol';
import { type Kysely, type Selectable, sql } from 'kysely';
import { RelayError } from '../errors.js';
import { stillValidDevice } from './directory.js';
import type { BlobsTable, Database, Db } from './schema.js';
export type BlobRow = Selectable<BlobsTable>;

export function blobStatus(row: BlobRow): BlobStatus {
  return {
    blobId: row.blob_id,
    size: row.size,
    chunks: row.chunks,
    storedChunks: row.stored_chunks,
    complete: row.completed_at !== null,
    expiresAt: row.expires_at,
  };
}

/**
 * Records a new blob and its readers. Creating the same blob again (a retry) changes nothing and
 * returns it; the same id for anything else is a conflict.
 */
export async function createBlob(
  db: Kysely<Database>,
  uploader: string,
  request: CreateBlobRequest,
  now: number,
  retentionMs: number,
): Promise<BlobRow> {
  return db.transaction().execute(async (tx) => {
    const inserted = await tx
      .insertInto('blobs')
      .values({
        blob_id: request.blobId,
        message_id: request.messageId,
        uploader_device: uploader,
        size: request.size,
        chunks: blobChunkCount(request.size),
        created_at: now,
        updated_at: now,
        expires_at: now + retentionMs,
      })
      .onConflict((oc) => oc.column('blob_id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) {
      const existing = await tx
        .selectFrom('blobs')
        .selectAll()
        .where('blob_id', '=', request.blobId)
        .executeTakeFirstOrThrow();
      const same =
        existing.uploader_device === uploader &&
        existing.message_id === request.messageId &&
        existing.size === request.size;
      if (!same) throw new RelayError('CONFLICT', 'this blob id is already used for another upload');
      return existing;
    }
    await tx
      .insertInto('blob_readers')
      .values(request.readers.map((device_id) => ({ blob_id: request.blobId, device_id })))
      .execute();
    return inserted;
  });
}

export function findBlob(db: Db, blobId: string): Promise<BlobRow | undefined> {
  return db.selectFrom('blobs').selectAll().where('blob_id', '=', blobId).executeTakeFirst();
}

export async function isBlobReader(db: Db, blobId: string, deviceId: string): Promise<boolean> {
  const row = await db
    .selectFrom('blob_readers')
    .select('device_id')
    .where('blob_id', '=', blobId)
    .where('device_id', '=', deviceId)
    .executeTakeFirst();
  return row !== undefined;
}

/** A blob with whether the device asking is one of its readers. */
export type ReadableBlobRow = BlobRow & { is_reader: boolean };

/**
 * What a chunk request needs to know, in one statement: whether the device asking may still act
 * (`deviceStillValid`: not revoked, its chain current), and the blob with whether that device is
 * one of its readers (`row`, undefined when no such blob is stored here). Each statement costs the
 * relay about as much CPU as a megabyte moved (docs/performance.md), and there are 256 chunks a GB.
 *
 * The same statement runs, and probes the same indexes, whether the blob exists or not: the blob is
 * left-joined to a one-row `values`, and the reader is looked up by the id asked for. A device that
 * may not read a blob thus cannot tell from the work done (the answer's timing) that it exists.
 */
export async function findBlobFor(
  db: Db,
  blobId: string,
  deviceId: string,
  now: number,
): Promise<{ deviceValid: boolean; row?: ReadableBlobRow }> {
  const found = await db
    .selectFrom(sql<{ one: number }>`(values (1))`.as('asked'))
    .leftJoin('blobs', (join) => join.on('blobs.blob_id', '=', blobId))
    .selectAll('blobs')
    .select((eb) => [
      eb
        .exists(
          eb
            .selectFrom('blob_readers')
            .select('device_id')
            .where('blob_readers.blob_id', '=', blobId)
            .where('blob_readers.device_id', '=', deviceId),
        )
        .$castTo<boolean>()
        .as('is_reader'),
      eb
        .exists(stillValidDevice(db, deviceId, now))
        .$castTo<boolean>()
        .as('device_valid'),
    ])
    .executeTakeFirstOrThrow();
  const { device_valid, ...row } = found;
  // No such blob here (a mistyped id, one deleted, or one kept by a partner relay): every blob column is null.
  if (row.blob_id === null) return { deviceValid: device_valid };
  return { deviceValid: device_valid, row: row as ReadableBlobRow };
}

/** Ciphertext bytes a device has stored in blobs not yet deleted. */
export async function storedBlobBytes(db: Db, uploader: string): Promise<number> {
  const { total } = await db
    .selectFrom('blobs')
    .select(sql<number>`coalesce(sum(size), 0)::bigint`.as('total'))
    .where('uploader_device', '=', uploader)
    .executeTakeFirstOrThrow();
  return Number(total);
}

/** Replaces the readers (the devices changed before the message was sent); those who downloaded stay recorded. */
export async function setBlobReaders(db: Kysely<Database>, blobId: string, readers: readonly string[]): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await tx
      .deleteFrom('blob_readers')
      .where('blob_id', '=', blobId)
      .where('device_id', 'not in', [...readers])
      .execute();
    await tx
      .insertInto('blob_readers')
      .values(readers.map((device_id) => ({ blob_id: blobId, device_id })))
      .onConflict((oc) => oc.columns(['blob_id', 'device_id']).doNothing())
      .execute();
  });
}

/**
 * Counts chunk `index` as stored if it is the next one; the blob is complete with its last chunk.
 * Returns the blob as it is now, or undefined if it has been deleted.
 */
export async function chunkStored(db: Db, blobId: string, index: number, now: number): Promise<BlobRow | undefined> {
  const updated = await db
    .updateTable('blobs')
    .set({
      stored_chunks: index + 1,
      updated_at: now,
      completed_at: sql<number | null>`case when ${index + 1} = chunks then ${now}::bigint else null end`,
    })
    .where('blob_id', '=', blobId)
    .where('stored_chunks', '=', index)
    .returningAll()
    .executeTakeFirst();
  return updated ?? (await findBlob(db, blobId));
}

/** Records that a reader has the whole blob; returns how many readers still have not. */
export async function blobDownloaded(db: Db, blobId: string, deviceId: string, now: number): Promise<number> {
  await db
    .updateTable('blob_readers')
    .set({ downloaded_at: now })
    .where('blob_id', '=', blobId)
    .where('device_id', '=', deviceId)
    .where('downloaded_at', 'is', null)
    .execute();
  const { pending } = await db
    .selectFrom('blob_readers')
    .select(sql<number>`count(*)::int`.as('pending'))
    .where('blob_id', '=', blobId)
    .where('downloaded_at', 'is', null)
    .executeTakeFirstOrThrow();
  return pending;
}

/** Devices whose copy of a message was cancelled (an escalation level never released) will never download its blobs. */
export async function dropBlobReaders(db: Db, messageId: string, devices: readonly string[]): Promise<void> {
  if (devices.length === 0) return;
  await db
    .deleteFrom('blob_readers')
    .where('device_id', 'in', [...devices])
    .where('blob_id', 'in', (q) => q.selectFrom('blobs').select('blob_id').where('message_id', '=', messageId))
    .execute();
}

/**
 * Blobs to delete: past retention; complete with no reader left to download; an upload left idle
 * too long; or complete that long ago while no message with its id was ever stored (the sender
 * gave up before sending), or the message's metadata has been forgotten since.
 */
export async function finishedBlobs(db: Db, now: number, uploadIdleMs: number, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('blobs')
    .select('blob_id')
    .where((eb) =>
      eb.or([
        eb('expires_at', '<=', now),
        eb.and([eb('completed_at', 'is', null), eb('updated_at', '<=', now - uploadIdleMs)]),
        eb.and([
          eb('completed_at', '<=', now - uploadIdleMs),
          eb.not(
            eb.exists(
              eb.selectFrom('messages').select('message_id').whereRef('messages.message_id', '=', 'blobs.message_id'),
            ),
          ),
        ]),
        eb.and([
          eb('completed_at', 'is not', null),
          eb.not(
            eb.exists(
              eb
                .selectFrom('blob_readers')
                .select('device_id')
                .whereRef('blob_readers.blob_id', '=', 'blobs.blob_id')
                .where('downloaded_at', 'is', null),
            ),
          ),
        ]),
      ]),
    )
    .limit(limit)
    .execute();
  return rows.map((r) => r.blob_id);
}

export async function deleteBlobRow(db: Db, blobId: string): Promise<void> {
  await db.deleteFrom('blobs').where('blob_id', '=', blobId).execute();
}
