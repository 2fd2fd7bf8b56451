import {
  type Attachment,
  type BlobStatus,
  blobChunkCount,
  blobChunkLength,
  blobSizeFor,
  decodeBase64url,
  encodeBase64url,
  LIMITS,
} from '@liaison/protocol';
import type { RelayApi } from '../client/relay-api.js';
import { equalBytes } from '../crypto/bytes.js';
import { randomId } from '../crypto/random-id.js';
import { isLiaisonError, isRetryable, LiaisonError } from '../errors.js';
import { AttachmentOpener, AttachmentSealer, plaintextChunks } from './attachment-cipher.js';
import { hashOnThisThread, type TransferHashFactory } from './transfer-hash.js';

/**
 * A file to attach. `open` reads it from the start, in pieces of any size; memory stays at about
 * one chunk whatever the file's size. `fromBytes` and the Node helper `fileAttachment` make one.
 */
export interface AttachmentSource {
  name: string;
  /** Media type, such as "application/pdf". */
  type: string;
  /** Bytes `open` yields. */
  size: number;
  open(): AsyncIterable<Uint8Array>;
}

/** Plaintext bytes moved so far, for a progress bar. */
export interface TransferProgress {
  blobId: string;
  name: string;
  transferred: number;
  total: number;
}

export interface TransferOptions {
  onProgress?: (progress: TransferProgress) => void;
  /** How the plaintext's SHA-256 is computed: on this thread by default (`hashOnThisThread`); Node's `workerHash` runs it on another. */
  hash?: TransferHashFactory;
}

/** Where a download's plaintext goes, a chunk at a time, in order. Unverified until `download` resolves. */
export type AttachmentSink = (chunk: Uint8Array) => void | Promise<void>;

/** What resumes an upload after a restart: kept (secret) in the key store until the message is sent. */
export interface PendingUpload {
  blobId: string;
  key: string;
  header: string;
}

export interface UploadOptions extends TransferOptions {
  /** An upload of this file begun earlier: resumed from the chunks the relay confirmed. */
  pending?: PendingUpload;
  /** Called before the first chunk goes, with what `pending` needs to resume this upload. */
  onStart?: (pending: PendingUpload) => Promise<void>;
}

export interface DownloadOptions extends TransferOptions {
  /**
   * The plaintext of the first chunks, kept from an interrupted attempt (whole chunks, not the
   * last): read again instead of fetched. If it is not what was sent, the next chunk fails to open.
   */
  kept?: { bytes: number; read(): AsyncIterable<Uint8Array> };
  /**
   * Where ciphertext chunks are kept between attempts (the browser's `PartialDownloads`): a chunk
   * it has is read from it instead of the relay, and a chunk fetched from the relay is put there
   * once it opened. Kept chunks are checked exactly as fetched ones (length, authentication, the
   * SHA-256 of the whole), so one that was altered fails the download with the same error.
   */
  chunks?: ChunkCache;
}

/** Ciphertext chunks of one attachment, by index, kept from an earlier attempt (safe at rest: the key is in the message only). */
export interface ChunkCache {
  get(index: number): Promise<Uint8Array | undefined>;
  put(index: number, ciphertext: Uint8Array): Promise<void>;
}

export function fromBytes(name: string, type: string, bytes: Uint8Array): AttachmentSource {
  return {
    name,
    type,
    size: bytes.length,
    async *open() {
      yield bytes;
    },
  };
}

/**
 * Chunks a download fetches ahead of the one it opens (answers held or on the wire): with the one
 * being opened and its plaintext, a download holds at most FETCHED_AHEAD + 2 chunks (and, with
 * Node's `workerHash`, two copies on the hashing thread).
 */
const FETCHED_AHEAD = 2;

/** Attempts at one request before a transfer gives up, with backoff from 250 ms to 5 s (about 30 s in all). */
const ATTEMPTS = 10;

/**
 * Encrypts and uploads a file, chunk after chunk. A request that fails (connection lost, relay
 * restarting) is retried after asking the relay which chunks it has, so the upload resumes from
 * the last confirmed chunk, never from the start; after a restart, `pending` does the same (the
 * chunks the relay has are read and sealed again, to rebuild the stream, but not sent). Returns
 * what the message must carry.
 */
export async function uploadAttachment(
  api: RelayApi,
  source: AttachmentSource,
  target: { messageId: string; readers: string[] },
  options: UploadOptions = {},
): Promise<Attachment> {
  const size = blobSizeFor(source.size);
  const chunks = blobChunkCount(size);
  const { pending } = options;
  const resumed = pending ? await resumable(api, pending, size) : undefined;
  let blobId: string;
  let sealer: AttachmentSealer;
  let confirmed = 0;
  if (pending && resumed) {
    blobId = pending.blobId;
    sealer = new AttachmentSealer({
      key: decodeBase64url(pending.key) as Uint8Array,
      header: decodeBase64url(pending.header) as Uint8Array,
    });
    confirmed = resumed.storedChunks;
    await retrying(() => api.setBlobReaders(blobId, target.readers));
  } else {
    blobId = randomId();
    sealer = new AttachmentSealer();
    await options.onStart?.({ blobId, key: encodeBase64url(sealer.key), header: encodeBase64url(sealer.header) });
    const status = await retrying(() => api.createBlob({ blobId, size, ...target }));
    if (status.blobId !== blobId || status.chunks !== chunks) throw malformed();
  }
  const hash = (options.hash ?? hashOnThisThread)(source.size);
  // One chunk is sealed while the one before it uploads; chunks still reach the relay in order.
  let uploading: Promise<void> = Promise.resolve();
  let index = 0;
  let transferred = 0;
  let sha256: Uint8Array;
  try {
    for await (const plaintext of plaintextChunks(source.open(), source.size)) {
      await hash.update(plaintext);
      const ciphertext = sealer.seal(plaintext, index === chunks - 1);
      if (index < confirmed) {
        index += 1;
        transferred += plaintext.length;
        continue;
      }
      await uploading;
      const at = index;
      // Only the length is kept for the progress: the plaintext is not held while its chunk uploads.
      const length = plaintext.length;
      uploading = settled(
        retrying(
          () => api.putChunk(blobId, at, ciphertext),
          async () => stored(await api.blobStatus(blobId), blobId) > at,
        ).then(() => {
          transferred += length;
          options.onProgress?.({ blobId, name: source.name, transferred, total: source.size });
        }),
      );
      index += 1;
    }
    await uploading;
    sha256 = await hash.digest();
  } finally {
    hash.close();
  }
  return {
    blobId,
    name: source.name,
    type: source.type,
    size: source.size,
    key: encodeBase64url(sealer.key),
    header: encodeBase64url(sealer.header),
    sha256: encodeBase64url(sha256),
  };
}

/**
 * Downloads, decrypts and checks an attachment, handing its plaintext to `sink` chunk by chunk.
 * A failed request is retried from the chunk it was for. Resolves only once the whole file has
 * opened and its SHA-256 matches what the sender put in the message; until then, what `sink`
 * received is unverified. Then tells the relay this device has it (the blob goes once every reader does).
 */
export async function downloadAttachment(
  api: RelayApi,
  attachment: Attachment,
  sink: AttachmentSink,
  options: DownloadOptions = {},
): Promise<void> {
  const { blobId } = attachment;
  const size = blobSizeFor(attachment.size);
  const chunks = blobChunkCount(size);
  const status = await retrying(() => api.blobStatus(blobId));
  // The relay's sizes must be the sender's: anything else is a blob cut short or padded.
  if (status.blobId !== blobId || status.size !== size || status.chunks !== chunks) {
    throw new LiaisonError('DECRYPT_FAILED', 'the relay holds an attachment of another size than the sender sent');
  }
  if (!status.complete) throw new LiaisonError('NOT_FOUND', 'the attachment is not fully uploaded yet');
  const opener = new AttachmentOpener(
    decodeBase64url(attachment.key) as Uint8Array,
    decodeBase64url(attachment.header) as Uint8Array,
  );
  let transferred = 0;
  const kept = options.kept?.bytes ?? 0;
  const chunkBytes = LIMITS.blobChunkPlaintextBytes;
  if (kept % chunkBytes !== 0 || kept > (chunks - 1) * chunkBytes) {
    throw new LiaisonError('INVALID_INPUT', 'kept plaintext must be whole chunks, short of the last');
  }
  // Chunks are fetched (or read from the cache) up to FETCHED_AHEAD ahead of the one being opened:
  // opening runs on this thread, so the relay's latency is hidden only if the next chunks are
  // already on their way. Each request names its index and answers are taken in index order, so
  // the order in which answers arrive changes nothing (secretstream checks each chunk's position).
  const { chunks: cache } = options;
  // Once the download is over (opened, failed or given up), the requests still ahead stop retrying:
  // a failing download must not leave its window polling the relay, each holding a chunk.
  let over = false;
  const fetchChunk = (index: number) =>
    settled(
      (async () => {
        const cached = await cache?.get(index);
        if (cached) return { ciphertext: cached, cached: true };
        const ciphertext = await retrying(
          () => api.getChunk(blobId, index),
          async () => over,
        );
        if (!ciphertext) throw new LiaisonError('UNAVAILABLE', 'download ended');
        return { ciphertext, cached: false };
      })(),
    );
  const first = kept / chunkBytes;
  const fetching: ReturnType<typeof fetchChunk>[] = [];
  let requested = first;
  const hash = (options.hash ?? hashOnThisThread)(attachment.size);
  try {
    if (options.kept && kept > 0) {
      for await (const plaintext of plaintextChunks(options.kept.read(), kept)) {
        opener.skip(plaintext);
        await hash.update(plaintext);
      }
      transferred = kept;
    }
    for (let index = first; index < chunks; index++) {
      // This chunk and the FETCHED_AHEAD after it are requested; a chunk is requested once.
      while (requested < chunks && requested <= index + FETCHED_AHEAD) fetching.push(fetchChunk(requested++));
      const { ciphertext, cached } = await (fetching.shift() as ReturnType<typeof fetchChunk>);
      if (ciphertext.length !== blobChunkLength(size, index)) {
        throw new LiaisonError('DECRYPT_FAILED', `attachment chunk ${index} has the wrong length`);
      }
      const plaintext = opener.open(ciphertext, index === chunks - 1);
      // Kept only once it opened: a chunk the relay altered is never kept to fail every next attempt.
      if (cache && !cached) await cache.put(index, ciphertext);
      await hash.update(plaintext);
      await sink(plaintext);
      transferred += plaintext.length;
      options.onProgress?.({ blobId, name: attachment.name, transferred, total: attachment.size });
    }
    if (!equalBytes(await hash.digest(), decodeBase64url(attachment.sha256) as Uint8Array)) {
      throw new LiaisonError('DECRYPT_FAILED', "the attachment's SHA-256 is not the one the sender sent");
    }
  } finally {
    over = true;
    hash.close();
  }
  await retrying(() => api.blobDownloaded(blobId));
}

/**
 * The same promise, marked as handled: a request running ahead may fail before it is awaited,
 * and must not count as an unhandled rejection meanwhile. Awaiting it still throws.
 */
function settled<T>(work: Promise<T>): Promise<T> {
  work.catch(() => undefined);
  return work;
}

/** The relay's state of an upload begun earlier, if it can be resumed: still there, and of this size. */
async function resumable(api: RelayApi, pending: PendingUpload, size: number): Promise<BlobStatus | undefined> {
  try {
    const status = await retrying(() => api.blobStatus(pending.blobId));
    return status.blobId === pending.blobId && status.size === size ? status : undefined;
  } catch (error) {
    if (isLiaisonError(error, 'NOT_FOUND')) return undefined;
    throw error;
  }
}

function stored(status: BlobStatus, blobId: string): number {
  if (status.blobId !== blobId) throw malformed();
  return status.storedChunks;
}

function malformed(): LiaisonError {
  return new LiaisonError('INVALID_MESSAGE', 'the relay answered for another attachment');
}

/**
 * Runs `request` until it succeeds or fails for a reason retrying cannot fix. Before each retry,
 * `done` may say the lost attempt had in fact succeeded (its answer was what got lost).
 */
async function retrying<T>(request: () => Promise<T>): Promise<T>;
async function retrying<T>(request: () => Promise<T>, done: () => Promise<boolean>): Promise<T | undefined>;
async function retrying<T>(request: () => Promise<T>, done?: () => Promise<boolean>): Promise<T | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (attempt > 1 && done && (await done())) return undefined;
      return await request();
    } catch (error) {
      if (!isRetryable(error) || attempt >= ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 125 * 2 ** attempt)));
    }
  }
}
