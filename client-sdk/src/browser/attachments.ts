import { type Attachment, LIMITS } from '@liaison/protocol';
import type { AttachmentSource, ChunkCache, DownloadOptions, TransferOptions } from '../attachments/transfer.js';
import type { LiaisonClient } from '../client/liaison-client.js';
import { isLiaisonError, LiaisonError } from '../errors.js';
import { committed, type IdbDatabase, indexedDbFactory, keyRange, requested } from './web-apis.js';

/**
 * Attachments in a web page (docs/browser.md): a `File` or `Blob` uploaded a slice at a time, a
 * download into a `Blob` or a `WritableStream`, files kept in IndexedDB so that a send cut short by
 * a reload can be repeated, and the ciphertext chunks of a download kept there so that a download
 * cut short by a reload resumes. Memory stays at a few chunks whatever the file's size: the
 * page never holds a whole file, the browser keeps Blobs' bytes outside the JavaScript heap.
 */

/** What the SDK needs of a `Blob` or `File` (typed here: the repository compiles without the DOM library). */
export interface BlobLike {
  readonly size: number;
  readonly type: string;
  /** A `File`'s name. */
  readonly name?: string;
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/**
 * A `File` or `Blob` as an attachment: `open` reads it one chunk-sized slice at a time
 * (`blob.slice(start, end).arrayBuffer()`), so only the slice being sealed is in memory.
 */
export function blobAttachment(blob: BlobLike, options: { name?: string; type?: string } = {}): AttachmentSource {
  const size = blob.size;
  return {
    name: options.name ?? blob.name ?? 'attachment',
    type: options.type ?? (blob.type || 'application/octet-stream'),
    size,
    async *open() {
      const step = LIMITS.blobChunkPlaintextBytes;
      for (let start = 0; start < size; start += step) {
        yield new Uint8Array(await blob.slice(start, Math.min(size, start + step)).arrayBuffer());
      }
    },
  };
}

/** The browser's `Blob` constructor, typed for what is used here. */
type BlobParts = Array<Uint8Array | BlobLike>;
const BlobConstructor = (
  globalThis as unknown as { Blob: new (parts: BlobParts, options?: { type?: string }) => BlobLike }
).Blob;

export interface BrowserDownloadOptions extends TransferOptions {
  /**
   * Keeps the ciphertext chunks as they arrive, so that the same download after a reload reads
   * them from IndexedDB and fetches only the rest from the relay. Forgotten once the download
   * succeeds, or fails to verify.
   */
  partial?: PartialDownloads;
}

/**
 * Runs `client.download` with the chunks `partial` kept for this attachment. What was kept is
 * forgotten once the download verified, and also when it failed to verify (`DECRYPT_FAILED`:
 * kept chunks not of this file must not fail every next attempt); any other failure (the relay
 * out of reach, the page closing) leaves them to resume from.
 */
async function downloadKept(
  client: LiaisonClient,
  attachment: Attachment,
  sink: (bytes: Uint8Array) => void | Promise<void>,
  { partial, ...options }: BrowserDownloadOptions,
): Promise<void> {
  const download: DownloadOptions = partial ? { ...options, chunks: partial.chunks(attachment.blobId) } : options;
  try {
    await client.download(attachment, sink, download);
  } catch (error) {
    if (partial && isLiaisonError(error, 'DECRYPT_FAILED')) await partial.forget(attachment.blobId);
    throw error;
  }
  // The file is verified and delivered: a failure to forget must not turn that into an error
  // (what lingers is ciphertext, listed by `blobIds` for the application to forget later).
  await partial?.forget(attachment.blobId).catch(() => undefined);
}

/**
 * Downloads an attachment into a `Blob` of its type. Each decrypted chunk is handed to the browser
 * as a Blob of its own as it arrives (the browser keeps Blob bytes outside the JavaScript heap and
 * may page them to disk), and the whole is returned only once it decrypted and its SHA-256
 * matched: a Blob this returns is always verified. With `partial`, a download cut short resumes.
 */
export async function downloadToBlob(
  client: LiaisonClient,
  attachment: Attachment,
  options: BrowserDownloadOptions = {},
): Promise<BlobLike> {
  const parts: BlobLike[] = [];
  await downloadKept(client, attachment, (bytes) => void parts.push(new BlobConstructor([bytes])), options);
  return new BlobConstructor(parts, { type: attachment.type });
}

/** What the SDK needs of a `WritableStream` (a file picked with `showSaveFilePicker`, a service worker's response…). */
export interface WritableStreamLike {
  getWriter(): {
    readonly ready: Promise<unknown>;
    write(chunk: Uint8Array): Promise<void>;
    close(): Promise<void>;
    abort(reason?: unknown): Promise<void>;
  };
}

/**
 * Downloads an attachment into a `WritableStream`, a chunk at a time, waiting for the stream to
 * take each (its backpressure). Closes the stream once the whole file decrypted and its SHA-256
 * matched; aborts it if the download fails, so that a file being written is discarded, not left
 * holding unverified bytes. With `partial`, a download cut short resumes (into a new stream: the
 * kept chunks are decrypted and written again, only the missing ones come from the relay).
 */
export async function downloadToStream(
  client: LiaisonClient,
  attachment: Attachment,
  stream: WritableStreamLike,
  options: BrowserDownloadOptions = {},
): Promise<void> {
  const writer = stream.getWriter();
  try {
    await downloadKept(
      client,
      attachment,
      async (bytes) => {
        await writer.ready;
        await writer.write(bytes);
      },
      options,
    );
  } catch (error) {
    await writer.abort(error).catch(() => undefined);
    throw error;
  }
  await writer.close();
}

const FILES = 'files';

interface KeptFile {
  blob: BlobLike;
  name: string;
  type: string;
}

/**
 * The files of messages being sent, kept in IndexedDB (`liaison-files:<name>`) until the relay
 * has stored the message, so that a send cut short by a reload or a closed tab can be repeated
 * with the same message id: the SDK keeps each upload's key in the key store, and a repeated send
 * resumes each upload from the chunks the relay confirmed (docs/attachments.md, "Interruptions").
 *
 * IndexedDB stores a Blob's bytes as the browser's own files, as protected as the rest of the
 * profile and no more (the same as the file the user picked); `forget` removes them.
 */
export class UnsentFiles {
  private constructor(private readonly db: IdbDatabase) {}

  static async open(name = 'default'): Promise<UnsentFiles> {
    const factory = indexedDbFactory();
    if (!factory) throw new LiaisonError('INSECURE_CONTEXT', 'IndexedDB is not available here');
    const request = factory.open(`liaison-files:${name}`, 1);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(FILES)) request.result.createObjectStore(FILES);
    };
    return new UnsentFiles(await requested(request));
  }

  /** Copies the files of message `messageId` into IndexedDB (the browser copies Blob bytes without the page's heap). */
  async keep(
    messageId: string,
    files: Array<BlobLike | { blob: BlobLike; name?: string; type?: string }>,
  ): Promise<void> {
    const kept: KeptFile[] = files.map((file) => {
      const blob = 'blob' in file ? file.blob : file;
      const source = blobAttachment(blob, 'blob' in file ? file : {});
      return { blob, name: source.name, type: source.type };
    });
    const transaction = this.db.transaction(FILES, 'readwrite', { durability: 'strict' });
    transaction.objectStore(FILES).put(kept, messageId);
    await committed(transaction);
  }

  /** The kept files of `messageId` as attachments, read back from IndexedDB a slice at a time; none if nothing is kept. */
  async attachments(messageId: string): Promise<AttachmentSource[]> {
    const transaction = this.db.transaction(FILES, 'readonly');
    const kept = (await requested(transaction.objectStore(FILES).get(messageId))) as KeptFile[] | undefined;
    return (kept ?? []).map((file) => blobAttachment(file.blob, { name: file.name, type: file.type }));
  }

  /** Ids of the messages whose files are kept: sends to repeat after a reload. */
  async messageIds(): Promise<string[]> {
    const transaction = this.db.transaction(FILES, 'readonly');
    return requested(transaction.objectStore(FILES).getAllKeys());
  }

  /** Removes the files of a message that was stored (or given up). */
  async forget(messageId: string): Promise<void> {
    const transaction = this.db.transaction(FILES, 'readwrite');
    transaction.objectStore(FILES).delete(messageId);
    await committed(transaction);
  }

  close(): void {
    this.db.close();
  }
}

const CHUNKS = 'chunks';
/** A chunk's key: its blob id (a UUID, so without ':') and its index, ordered as numbers are. */
const chunkKey = (blobId: string, index: number) => `${blobId}:${String(index).padStart(8, '0')}`;
const ofBlob = (blobId: string) => keyRange(`${blobId}:`, `${blobId}:\uffff`);

/**
 * The ciphertext chunks of downloads under way, kept in IndexedDB (`liaison-downloads:<name>`,
 * keyed by blob id and index) so that a download cut short by a reload or a closed tab resumes:
 * pass it as `partial` to `downloadToBlob` or `downloadToStream`, again with the same attachment.
 *
 * Ciphertext is safe at rest: the key is in the message only, never kept here. A kept chunk is
 * checked on the way out as a fetched one is, so one altered in the profile fails the download
 * (`DECRYPT_FAILED`, as an altered chunk from the relay does). A chunk is written only once it
 * opened, one IndexedDB transaction per chunk: a reload loses at most the chunk in flight.
 */
export class PartialDownloads {
  private constructor(private readonly db: IdbDatabase) {}

  static async open(name = 'default'): Promise<PartialDownloads> {
    const factory = indexedDbFactory();
    if (!factory) throw new LiaisonError('INSECURE_CONTEXT', 'IndexedDB is not available here');
    const request = factory.open(`liaison-downloads:${name}`, 1);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(CHUNKS)) request.result.createObjectStore(CHUNKS);
    };
    return new PartialDownloads(await requested(request));
  }

  /**
   * The kept chunks of one blob, for `download(…, { chunks })`. IndexedDB failing (full, closing)
   * costs the resumption, never the download: a chunk not read is fetched, one not written is not kept.
   */
  chunks(blobId: string): ChunkCache {
    return {
      get: async (index) => {
        try {
          const transaction = this.db.transaction(CHUNKS, 'readonly');
          const kept = await requested(transaction.objectStore(CHUNKS).get(chunkKey(blobId, index)));
          return kept instanceof Uint8Array ? kept : undefined;
        } catch {
          return undefined;
        }
      },
      put: async (index, ciphertext) => {
        try {
          const transaction = this.db.transaction(CHUNKS, 'readwrite');
          transaction.objectStore(CHUNKS).put(ciphertext, chunkKey(blobId, index));
          await committed(transaction);
        } catch {
          // Not kept: this chunk is fetched again if the download has to resume.
        }
      },
    };
  }

  /** How many chunks of `blobId` are kept (each 4 MiB of the file, `LIMITS.blobChunkPlaintextBytes`): where a resumed download starts from. */
  async keptChunks(blobId: string): Promise<number> {
    const transaction = this.db.transaction(CHUNKS, 'readonly');
    return requested(transaction.objectStore(CHUNKS).count(ofBlob(blobId)));
  }

  /** Blob ids of the downloads with chunks kept. */
  async blobIds(): Promise<string[]> {
    const transaction = this.db.transaction(CHUNKS, 'readonly');
    const keys = await requested(transaction.objectStore(CHUNKS).getAllKeys());
    return [...new Set(keys.map((key) => key.slice(0, key.indexOf(':'))))];
  }

  /** Removes the kept chunks of `blobId` (done for you when its download succeeds or fails to verify). */
  async forget(blobId: string): Promise<void> {
    const transaction = this.db.transaction(CHUNKS, 'readwrite');
    transaction.objectStore(CHUNKS).delete(ofBlob(blobId));
    await committed(transaction);
  }

  close(): void {
    this.db.close();
  }
}
