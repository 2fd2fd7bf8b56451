import { BLOB_CHUNK_BYTES, BlobId, BlobReaders, blobChunkLength, CreateBlobRequest } from '@liaison/protocol';
import { z } from 'zod';
import { removeBlob } from '../blobs/reaper.js';
import { RelayError } from '../errors.js';
import {
  type BlobRow,
  blobDownloaded,
  blobStatus,
  chunkStored,
  createBlob,
  findBlob,
  isBlobReader,
  setBlobReaders,
  storedBlobBytes,
} from '../storage/blobs.js';
import { me, None, param, type Route, type RouteContext } from './route.js';

const ChunkIndex = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,8})$/)
  .transform(Number);
const ChunkBytes = z.instanceof(Uint8Array).refine((b) => b.length <= BLOB_CHUNK_BYTES, {
  message: `at most ${BLOB_CHUNK_BYTES} bytes per chunk`,
});

/**
 * The blob, if the caller may see it: its uploader or one of its readers. Anyone else learns
 * nothing, not even that it exists.
 */
async function visibleBlob(ctx: RouteContext, as: 'uploader' | 'reader' | 'either'): Promise<BlobRow> {
  const blobId = param(ctx, 'blobId', BlobId);
  const { deviceId } = me(ctx);
  const row = await findBlob(ctx.deps.db, blobId);
  const uploader = row?.uploader_device === deviceId;
  const allowed =
    row !== undefined &&
    ((as !== 'reader' && uploader) || (as !== 'uploader' && (await isBlobReader(ctx.deps.db, blobId, deviceId))));
  if (!row || !allowed) throw new RelayError('NOT_FOUND', 'no blob with this id is yours to use');
  return row;
}

/** A blob the caller may read, once its upload is complete. */
async function readableBlob(ctx: RouteContext): Promise<BlobRow> {
  const row = await visibleBlob(ctx, 'reader');
  if (row.completed_at === null) throw new RelayError('CONFLICT', 'the upload is not complete yet');
  return row;
}

/** Encrypted attachments: upload in chunks, resumable; download by chunk, by the devices the sender named. */
export const BLOB_ROUTES: Route[] = [
  {
    method: 'post',
    path: '/v1/blobs',
    authenticated: true,
    limit: (config) => ({ name: 'blobs', perMinute: config.blobCreationsPerMinute }),
    source: 'body',
    input: CreateBlobRequest,
    handle: async (ctx) => {
      const request = ctx.input as CreateBlobRequest;
      const { config, db } = ctx.deps;
      const uploader = me(ctx).deviceId;
      if (request.size > config.maxBlobBytes) {
        throw new RelayError(
          'PAYLOAD_TOO_LARGE',
          `this relay accepts attachments of up to ${config.maxBlobBytes} bytes`,
          {
            path: 'size',
          },
        );
      }
      const existing = await findBlob(db, request.blobId);
      if (!existing && (await storedBlobBytes(db, uploader)) + request.size > config.blobQuotaBytes) {
        throw new RelayError(
          'QUOTA_EXCEEDED',
          `this device's stored attachments would exceed ${config.blobQuotaBytes} bytes; they are freed once downloaded`,
        );
      }
      return blobStatus(await createBlob(db, uploader, request, config.now(), config.blobRetentionMs));
    },
  },
  {
    method: 'get',
    path: '/v1/blobs/:blobId',
    authenticated: true,
    source: 'none',
    input: None,
    handle: async (ctx) => blobStatus(await visibleBlob(ctx, 'either')),
  },
  {
    method: 'put',
    path: '/v1/blobs/:blobId/readers',
    authenticated: true,
    source: 'body',
    input: BlobReaders,
    handle: async (ctx) => {
      const row = await visibleBlob(ctx, 'uploader');
      await setBlobReaders(ctx.deps.db, row.blob_id, (ctx.input as BlobReaders).readers);
      return blobStatus(row);
    },
  },
  {
    method: 'put',
    path: '/v1/blobs/:blobId/chunks/:index',
    authenticated: true,
    source: 'bytes',
    input: ChunkBytes,
    handle: async (ctx) => {
      const row = await visibleBlob(ctx, 'uploader');
      const index = param(ctx, 'index', ChunkIndex);
      const bytes = ctx.input as Uint8Array;
      if (index >= row.chunks) throw new RelayError('INVALID_INPUT', `this blob has ${row.chunks} chunks`);
      const expected = blobChunkLength(row.size, index);
      if (bytes.length !== expected) {
        throw new RelayError('INVALID_INPUT', `chunk ${index} of this blob has ${expected} bytes, not ${bytes.length}`);
      }
      // Stored already (a retry after a lost answer): nothing changes.
      if (index < row.stored_chunks) return blobStatus(row);
      if (index > row.stored_chunks) {
        throw new RelayError('CONFLICT', `chunks are uploaded in order: chunk ${row.stored_chunks} is next`);
      }
      await ctx.deps.blobs.write(row.blob_id, index, bytes);
      const updated = await chunkStored(ctx.deps.db, row.blob_id, index, ctx.deps.config.now());
      ctx.deps.metrics.blobBytes.inc({ direction: 'upload' }, bytes.length);
      return blobStatus(updated);
    },
  },
  {
    method: 'get',
    path: '/v1/blobs/:blobId/chunks/:index',
    authenticated: true,
    source: 'none',
    input: None,
    handle: async (ctx) => {
      const row = await readableBlob(ctx);
      const index = param(ctx, 'index', ChunkIndex);
      if (index >= row.chunks) throw new RelayError('NOT_FOUND', `this blob has ${row.chunks} chunks`);
      const bytes = await ctx.deps.blobs.read(row.blob_id, index);
      if (!bytes) throw new RelayError('NOT_FOUND', 'no such blob');
      ctx.deps.metrics.blobBytes.inc({ direction: 'download' }, bytes.length);
      return bytes;
    },
  },
  {
    method: 'post',
    path: '/v1/blobs/:blobId/downloaded',
    authenticated: true,
    source: 'none',
    input: None,
    handle: async (ctx) => {
      const row = await readableBlob(ctx);
      const { deps } = ctx;
      const pending = await blobDownloaded(deps.db, row.blob_id, me(ctx).deviceId, deps.config.now());
      // The last reader has it: the ciphertext goes now, not at the next sweep.
      if (pending === 0) await removeBlob(deps, row.blob_id);
      return blobStatus(row);
    },
  },
];
