import { LIMITS } from '@liaison/protocol';
import { sodium } from '../crypto/sodium.js';
import { LiaisonError } from '../errors.js';

/**
 * Attachments are sealed with libsodium's secretstream (XChaCha20-Poly1305): one stream per file,
 * a fresh random key each, one stream message per chunk of `LIMITS.blobChunkPlaintextBytes`, the
 * last tagged FINAL. Each chunk's authentication covers its position in the stream, so a chunk
 * altered, swapped, dropped or added, or a stream cut short, fails to open.
 *
 * Resuming after a restart: secretstream's state is the same on both sides and moves the same way
 * whether a chunk is sealed or opened, and it cannot be saved (it lives in libsodium's memory). So
 * a stream is resumed from its key and header (libsodium's `init_pull` builds exactly the state
 * `init_push` did) by passing through the chunks already done again: sealing them anew gives the
 * same bytes, and sealing a chunk already opened moves an opener on as opening it did.
 */
export class AttachmentSealer {
  readonly key: Uint8Array;
  readonly header: Uint8Array;
  private readonly state: number;
  private finished = false;

  /** A new stream with a fresh key, or (`resume`) the stream of that key and header from its start. */
  constructor(resume?: { key: Uint8Array; header: Uint8Array }) {
    const s = sodium();
    if (resume) {
      this.key = resume.key;
      this.header = resume.header;
      this.state = s.crypto_secretstream_xchacha20poly1305_init_pull(resume.header, resume.key) as unknown as number;
    } else {
      this.key = s.crypto_secretstream_xchacha20poly1305_keygen();
      const { state, header } = s.crypto_secretstream_xchacha20poly1305_init_push(this.key);
      this.state = state as unknown as number;
      this.header = header;
    }
  }

  seal(plaintext: Uint8Array, last: boolean): Uint8Array {
    if (this.finished) throw new Error('the attachment stream is already finished');
    this.finished = last;
    const s = sodium();
    const tag = last
      ? s.crypto_secretstream_xchacha20poly1305_TAG_FINAL
      : s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    return s.crypto_secretstream_xchacha20poly1305_push(this.state as never, plaintext, null, tag);
  }
}

export class AttachmentOpener {
  private readonly state: number;
  private finished = false;

  constructor(key: Uint8Array, header: Uint8Array) {
    try {
      this.state = sodium().crypto_secretstream_xchacha20poly1305_init_pull(header, key) as unknown as number;
    } catch {
      throw new LiaisonError('DECRYPT_FAILED', 'the attachment key or header is malformed');
    }
  }

  /** The plaintext of the next chunk; `last` says whether the sender must have ended the stream here. */
  open(ciphertext: Uint8Array, last: boolean): Uint8Array {
    if (this.finished) throw new LiaisonError('DECRYPT_FAILED', 'the attachment has data after its end');
    const s = sodium();
    const opened = s.crypto_secretstream_xchacha20poly1305_pull(this.state as never, ciphertext, null) as
      | { message: Uint8Array; tag: number }
      | false;
    if (!opened) throw new LiaisonError('DECRYPT_FAILED', 'an attachment chunk was altered or is out of order');
    this.finished = opened.tag === s.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    if (this.finished !== last) {
      throw new LiaisonError(
        'DECRYPT_FAILED',
        last ? 'the attachment was cut short: its last chunk is missing' : 'the attachment ended early',
      );
    }
    return opened.message;
  }

  /**
   * Moves past a chunk whose plaintext this side already has (kept from before a restart), as if
   * it had been opened. Not the last chunk: that one is always fetched and opened.
   */
  skip(plaintext: Uint8Array): void {
    if (this.finished) throw new LiaisonError('DECRYPT_FAILED', 'the attachment has data after its end');
    const s = sodium();
    s.crypto_secretstream_xchacha20poly1305_push(
      this.state as never,
      plaintext,
      null,
      s.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
    );
  }
}

/** SHA-256 over a stream, from libsodium. */
export class Sha256 {
  private readonly state = sodium().crypto_hash_sha256_init();

  update(bytes: Uint8Array): void {
    sodium().crypto_hash_sha256_update(this.state, bytes);
  }

  digest(): Uint8Array {
    return sodium().crypto_hash_sha256_final(this.state);
  }
}

/**
 * A file as chunks of exactly `LIMITS.blobChunkPlaintextBytes` (the last one shorter; an empty file
 * is one empty chunk), from pieces of any size. Refuses a source whose length is not `size`. A
 * piece that holds a whole chunk (a browser Blob read a chunk-sized slice at a time) is passed on
 * as a view of it, not copied: one chunk less in memory per transfer.
 */
export async function* plaintextChunks(source: AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  const chunkBytes = LIMITS.blobChunkPlaintextBytes;
  // The chunk being filled (or held whole); none between chunks.
  let buffer: Uint8Array | undefined;
  let filled = 0;
  let emitted = 0;
  let total = 0;
  for await (const piece of source) {
    total += piece.length;
    if (total > size) throw new LiaisonError('INVALID_INPUT', `the attachment has more than its ${size} bytes`);
    let offset = 0;
    while (offset < piece.length) {
      // A full chunk is passed on only once more data comes: the last one is yielded after the loop.
      if (buffer && filled === buffer.length) {
        yield buffer;
        emitted += filled;
        buffer = undefined;
        filled = 0;
      }
      const length = Math.min(chunkBytes, size - emitted);
      if (!buffer) {
        if (piece.length - offset >= length) {
          buffer = piece.subarray(offset, offset + length);
          filled = length;
          offset += length;
          continue;
        }
        buffer = new Uint8Array(length);
      }
      const take = Math.min(piece.length - offset, buffer.length - filled);
      buffer.set(piece.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
    }
  }
  if (total !== size) throw new LiaisonError('INVALID_INPUT', `the attachment has ${total} bytes, not ${size}`);
  yield buffer ? buffer.subarray(0, filled) : new Uint8Array(0);
}
