import { blobChunkLength } from '@liaison/protocol';
import { type DeviceIdentity, deviceNoLongerValid } from '../auth/authenticator.js';
import { removeBlob, storeChunk } from '../blobs/reaper.js';
import { RelayError } from '../errors.js';
import type { RemoteBlobs } from '../federation/remote-blobs.js';
import type { RelayDeps } from '../relay-deps.js';
import {
  type BlobRow,
  blobDownloaded,
  blobStatus,
  createBlob,
  findBlob,
  findBlobFor,
  type ReadableBlobRow,
  setBlobReaders,
  storedBlobBytes,
} from '../storage/blobs.js';
import { type Handlers, me } from './route.js';

/** A request about one blob. */
interface BlobRequest {
  params: { blobId: string };
  identity: DeviceIdentity | undefined;
  deps: RelayDeps;
}

type FoundBlob = ReadableBlobRow;

/**
 * The blob as stored here, with whether the caller is one of its readers; undefined when it is not
 * stored here. Refuses a device revoked or expired since its token was minted, in the same
 * statement: the chunk routes leave that check to it (`checksDevice`), since they come by the
 * hundred per gigabyte and each statement costs about as much as a megabyte moved.
 */
async function lookUp(ctx: BlobRequest): Promise<FoundBlob | undefined> {
  const { deviceValid, row } = await findBlobFor(
    ctx.deps.db,
    ctx.params.blobId,
    me(ctx).deviceId,
    ctx.deps.config.now(),
  );
  if (!deviceValid) throw deviceNoLongerValid();
  return row;
}

/**
 * The blob, if the caller may see it: its uploader or one of its readers. Anyone else learns
 * nothing, not even that it exists.
 */
function visible(ctx: BlobRequest, row: FoundBlob | undefined, as: 'uploader' | 'reader' | 'either'): BlobRow {
  const uploader = row?.uploader_device === me(ctx).deviceId;
  const allowed = row !== undefined && ((as !== 'reader' && uploader) || (as !== 'uploader' && row.is_reader));
  if (!row || !allowed) throw new RelayError('NOT_FOUND', 'no blob with this id is yours to use');
  return row;
}

/** The blob, if the caller may see it (`visible`), read here. */
async function visibleBlob(ctx: BlobRequest, as: 'uploader' | 'reader' | 'either'): Promise<BlobRow> {
  return visible(ctx, await lookUp(ctx), as);
}

/**
 * For a blob not stored here (`row` undefined), what the partner relay that holds it answers for
 * this reader (an attachment sent from a partner network stays on its sender's relay); undefined
 * for a blob here, or when no partner relay has it for this reader.
 */
async function elsewhere<T>(
  ctx: BlobRequest,
  row: FoundBlob | undefined,
  ask: (blobs: RemoteBlobs, blobId: string, reader: string) => Promise<T | undefined>,
): Promise<T | undefined> {
  const remote = ctx.deps.federation?.blobs;
  if (!remote || row) return undefined;
  // Each asks partner relays, under their budget for this relay: one device must not spend it.
  const { deviceId } = me(ctx);
  await ctx.deps.limits.take(`remote-blobs:${deviceId}`, ctx.deps.config.remoteBlobRequestsPerMinute);
  return ask(remote, ctx.params.blobId, deviceId);
}

/** A blob the caller may read, once its upload is complete. */
function readable(ctx: BlobRequest, row: FoundBlob | undefined): BlobRow {
  const visibleRow = visible(ctx, row, 'reader');
  if (visibleRow.completed_at === null) throw new RelayError('CONFLICT', 'the upload is not complete yet');
  return visibleRow;
}

/** Encrypted attachments: upload in chunks, resumable; download by chunk, by the devices the sender named. */
export const BLOB_HANDLERS: Handlers<
  'createBlob' | 'blobStatus' | 'setBlobReaders' | 'putChunk' | 'getChunk' | 'blobDownloaded'
> = {
  createBlob: {
    limit: (config) => ({ name: 'blobs', perMinute: config.blobCreationsPerMinute }),
    handle: async (ctx) => {
      const request = ctx.input;
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
  blobStatus: {
    handle: async (ctx) => {
      const row = await lookUp(ctx);
      return (
        (await elsewhere(ctx, row, (remote, blobId, reader) => remote.status(blobId, reader))) ??
        blobStatus(visible(ctx, row, 'either'))
      );
    },
  },
  setBlobReaders: {
    handle: async (ctx) => {
      const row = await visibleBlob(ctx, 'uploader');
      await setBlobReaders(ctx.deps.db, row.blob_id, ctx.input.readers);
      return blobStatus(row);
    },
  },
  putChunk: {
    checksDevice: true,
    handle: async (ctx) => {
      const row = await visibleBlob(ctx, 'uploader');
      const { index } = ctx.params;
      const bytes = ctx.input;
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
      const updated = await storeChunk(ctx.deps, row.blob_id, index, bytes);
      ctx.deps.metrics.blobBytes.inc({ direction: 'upload' }, bytes.length);
      return blobStatus(updated);
    },
  },
  getChunk: {
    checksDevice: true,
    handle: async (ctx) => {
      const found = await lookUp(ctx);
      const remote = await elsewhere(ctx, found, (blobs, blobId, reader) =>
        blobs.chunk(blobId, ctx.params.index, reader),
      );
      if (remote) return remote;
      const row = readable(ctx, found);
      const { index } = ctx.params;
      if (index >= row.chunks) throw new RelayError('NOT_FOUND', `this blob has ${row.chunks} chunks`);
      const bytes = await ctx.deps.blobs.read(row.blob_id, index);
      if (!bytes) throw new RelayError('NOT_FOUND', 'no such blob');
      ctx.deps.metrics.blobBytes.inc({ direction: 'download' }, bytes.length);
      return bytes;
    },
  },
  blobDownloaded: {
    handle: async (ctx) => {
      const found = await lookUp(ctx);
      const remote = await elsewhere(ctx, found, (blobs, blobId, reader) => blobs.downloaded(blobId, reader));
      if (remote) return remote;
      const row = readable(ctx, found);
      const { deps } = ctx;
      const pending = await blobDownloaded(deps.db, row.blob_id, me(ctx).deviceId, deps.config.now());
      // The last reader has it: the ciphertext goes now, not at the next sweep.
      if (pending === 0) await removeBlob(deps, row.blob_id);
      return blobStatus(row);
    },
  },
};
