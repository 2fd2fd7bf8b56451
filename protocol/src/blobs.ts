import { z } from 'zod';
import { LIMITS } from './limits.js';
import { DeviceId, fixedBytes, MessageId, PlainString, Timestamp, text, Uuid, uniqueList } from './primitives.js';

/**
 * Encrypted attachments travel as blobs: the SDK encrypts a file with libsodium's secretstream
 * (XChaCha20-Poly1305) in chunks of `LIMITS.blobChunkPlaintextBytes`, and uploads each encrypted
 * chunk. The relay stores ciphertext chunks, their count and size, and which devices may read
 * them; the key, name, type and hash travel inside the end-to-end encrypted message.
 * The endpoints are the blob ones of ENDPOINTS (endpoints.ts).
 */

/** Client-made, like message ids, so that a repeated create is idempotent. */
export const BlobId = Uuid;

/** Bytes one encrypted chunk adds to its plaintext: secretstream's tag and MAC. */
export const BLOB_CHUNK_OVERHEAD = 17;
/** Every chunk but the last has exactly this many ciphertext bytes; the last has 17 to this many. */
export const BLOB_CHUNK_BYTES = LIMITS.blobChunkPlaintextBytes + BLOB_CHUNK_OVERHEAD;

/** Chunks of a blob of `size` ciphertext bytes. */
export function blobChunkCount(size: number): number {
  return Math.ceil(size / BLOB_CHUNK_BYTES);
}

/** The ciphertext length chunk `index` of a blob of `size` bytes must have. */
export function blobChunkLength(size: number, index: number): number {
  return Math.min(BLOB_CHUNK_BYTES, size - index * BLOB_CHUNK_BYTES);
}

/** The ciphertext size of a file of `plaintextBytes` bytes (an empty file is one empty final chunk). */
export function blobSizeFor(plaintextBytes: number): number {
  const chunks = Math.max(1, Math.ceil(plaintextBytes / LIMITS.blobChunkPlaintextBytes));
  return plaintextBytes + chunks * BLOB_CHUNK_OVERHEAD;
}

/** Ciphertext size: at least one (empty) chunk; each chunk carries at least its overhead. */
export const BlobSize = z
  .int()
  .min(BLOB_CHUNK_OVERHEAD)
  .max(Number.MAX_SAFE_INTEGER)
  .refine((size) => blobChunkLength(size, blobChunkCount(size) - 1) >= BLOB_CHUNK_OVERHEAD, {
    message: 'not the size of a chunked ciphertext',
  });

/** The devices allowed to read a blob: those the message carrying its key is encrypted for. */
export const BlobReaders = z.strictObject({
  readers: uniqueList(DeviceId, LIMITS.maxEnvelopesPerSend).refine((r) => r.length > 0, 'at least one reader'),
});
export type BlobReaders = z.infer<typeof BlobReaders>;

export const CreateBlobRequest = z.strictObject({
  blobId: BlobId,
  /** The message that will carry the blob's key; lets the relay drop readers whose copy is cancelled. */
  messageId: MessageId,
  size: BlobSize,
  readers: BlobReaders.shape.readers,
});
export type CreateBlobRequest = z.infer<typeof CreateBlobRequest>;

export const BlobStatus = z.strictObject({
  blobId: BlobId,
  size: z.int().min(0),
  chunks: z.int().min(1),
  /** Chunks 0 .. storedChunks-1 are stored: an interrupted upload resumes at this index. */
  storedChunks: z.int().min(0),
  /** All chunks are stored: readers may download. */
  complete: z.boolean(),
  /** When the relay deletes the blob even if not every reader has downloaded it. */
  expiresAt: Timestamp,
});
export type BlobStatus = z.infer<typeof BlobStatus>;

/**
 * What the recipient needs to fetch and check an attachment; inside the end-to-end encrypted
 * message only, never seen by the relay.
 */
export const Attachment = z.strictObject({
  blobId: BlobId,
  name: text(255),
  /** Media type, as the sender's application gave it ("application/pdf"). */
  type: PlainString.max(127).regex(
    /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i,
    'a media type such as "application/pdf"',
  ),
  /** Plaintext bytes. */
  size: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** secretstream key and header. */
  key: fixedBytes(32),
  header: fixedBytes(24),
  /** SHA-256 of the plaintext, checked after decryption. */
  sha256: fixedBytes(32),
});
export type Attachment = z.infer<typeof Attachment>;
