import { type Attachment, LIMITS } from '@liaison/protocol';
import type { AttachmentSource, TransferOptions } from '../attachments/transfer.js';
import type { LiaisonClient } from '../client/liaison-client.js';
import { LiaisonError } from '../errors.js';
import { committed, type IdbDatabase, indexedDbFactory, requested } from './web-apis.js';

/**
 * Attachments in a web page (docs/browser.md): a `File` or `Blob` uploaded a slice at a time, a
 * download into a `Blob` or a `WritableStream`, and files kept in IndexedDB so that a send cut
 * short by a reload can be repeated. Memory stays at a few chunks whatever the file's size: the
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

/**
 * Downloads an attachment into a `Blob` of its type. Each decrypted chunk is handed to the browser
 * as a Blob of its own as it arrives (the browser keeps Blob bytes outside the JavaScript heap and
 * may page them to disk), and the whole is returned only once it decrypted and its SHA-256
 * matched: a Blob this returns is always verified.
 */
export async function downloadToBlob(
  client: LiaisonClient,
  attachment: Attachment,
  options: TransferOptions = {},
): Promise<BlobLike> {
  const parts: BlobLike[] = [];
  await client.download(attachment, (bytes) => void parts.push(new BlobConstructor([bytes])), options);
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
 * holding unverified bytes.
 */
export async function downloadToStream(
  client: LiaisonClient,
  attachment: Attachment,
  stream: WritableStreamLike,
  options: TransferOptions = {},
): Promise<void> {
  const writer = stream.getWriter();
  try {
    await client.download(
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
