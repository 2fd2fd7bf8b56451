import { randomBytes } from 'node:crypto';
import { BLOB_CHUNK_OVERHEAD, blobSizeFor, LIMITS } from '@liaison/protocol';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { concat } from '../crypto/bytes.js';
import { ready, sodium } from '../crypto/sodium.js';
import { isLiaisonError } from '../errors.js';
import { AttachmentOpener, AttachmentSealer, plaintextChunks, Sha256 } from './attachment-cipher.js';

beforeAll(ready);

// Test data from Node's generator: libsodium's randombytes_buf in WebAssembly is slow on megabytes.

const CHUNK = LIMITS.blobChunkPlaintextBytes;

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const chunk of source) out.push(chunk);
  return out;
}

/** A file split into pieces of the given sizes (cycled), as a reader would yield them. */
async function* pieces(file: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (let i = 0; offset < file.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length] ?? 1);
    yield file.subarray(offset, offset + size);
    offset += size;
  }
}

async function seal(file: Uint8Array) {
  const sealer = new AttachmentSealer();
  const chunks = await collect(plaintextChunks(pieces(file, [65_536]), file.length));
  const sealed = chunks.map((c, i) => sealer.seal(c, i === chunks.length - 1));
  return { key: sealer.key, header: sealer.header, sealed };
}

function openAll(key: Uint8Array, header: Uint8Array, sealed: Uint8Array[]): Uint8Array {
  const opener = new AttachmentOpener(key, header);
  return concat(...sealed.map((c, i) => opener.open(c, i === sealed.length - 1)));
}

/** Byte equality, without the matcher's element-by-element diff (slow on megabytes). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

function failure(run: () => unknown): string {
  try {
    run();
    return 'opened';
  } catch (error) {
    return isLiaisonError(error) ? error.code : String(error);
  }
}

describe('attachment encryption (secretstream in chunks)', () => {
  it('SHA-256 matches the FIPS 180-2 known answers, fed in pieces', () => {
    const hex = (parts: string[]) => {
      const hash = new Sha256();
      for (const part of parts) hash.update(new TextEncoder().encode(part));
      return sodium().to_hex(hash.digest());
    };
    expect(hex(['a', 'bc'])).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(hex(['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'])).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(hex([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('chunks a file of any size at exact boundaries, from pieces of any size; the sizes add up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 17),
        fc.array(fc.integer({ min: 4096, max: CHUNK + 100 }), { minLength: 1, maxLength: 5 }),
        async (size, sizes) => {
          const file = randomBytes(size);
          const chunks = await collect(plaintextChunks(pieces(file, sizes), size));
          expect(chunks.length).toBe(Math.max(1, Math.ceil(size / CHUNK)));
          expect(chunks.slice(0, -1).every((c) => c.length === CHUNK)).toBe(true);
          expect(same(concat(...chunks), file)).toBe(true);
          expect(chunks.reduce((n, c) => n + c.length + BLOB_CHUNK_OVERHEAD, 0)).toBe(blobSizeFor(size));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses a source longer or shorter than it said', async () => {
    const file = new Uint8Array(100);
    await expect(collect(plaintextChunks(pieces(file, [10]), 99))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(collect(plaintextChunks(pieces(file, [10]), 101))).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('opens what it sealed, and nothing altered, reordered, cut short, extended or under another key', async () => {
    const file = randomBytes(3 * CHUNK + 1000);
    const { key, header, sealed } = await seal(file);
    expect(sealed.length).toBe(4);
    expect(same(openAll(key, header, sealed), file)).toBe(true);

    const flipped = sealed.map((c) => c.slice());
    const victim = flipped[1] as Uint8Array;
    victim[500] = (victim[500] as number) ^ 1;
    expect(failure(() => openAll(key, header, flipped))).toBe('DECRYPT_FAILED');
    const swapped = [sealed[0], sealed[2], sealed[1], sealed[3]] as Uint8Array[];
    expect(failure(() => openAll(key, header, swapped))).toBe('DECRYPT_FAILED');
    // The last chunk missing: the stream never reaches FINAL where the file should end.
    expect(failure(() => openAll(key, header, sealed.slice(0, 3)))).toBe('DECRYPT_FAILED');
    const dropped = [sealed[0], sealed[2], sealed[3]] as Uint8Array[];
    expect(failure(() => openAll(key, header, dropped))).toBe('DECRYPT_FAILED');
    const replayed = [...sealed, sealed[3] as Uint8Array];
    expect(failure(() => openAll(key, header, replayed))).toBe('DECRYPT_FAILED');
    const other = sodium().crypto_secretstream_xchacha20poly1305_keygen();
    expect(failure(() => openAll(other, header, sealed))).toBe('DECRYPT_FAILED');
  });

  it('a failed chunk leaves the stream where it was: the genuine chunk still opens after a forged one', async () => {
    const file = randomBytes(2 * CHUNK);
    const { key, header, sealed } = await seal(file);
    const opener = new AttachmentOpener(key, header);
    const first = opener.open(sealed[0] as Uint8Array, false);
    expect(failure(() => opener.open(new Uint8Array(CHUNK + BLOB_CHUNK_OVERHEAD), true))).toBe('DECRYPT_FAILED');
    expect(same(concat(first, opener.open(sealed[1] as Uint8Array, true)), file)).toBe(true);
  });

  it('resumes a stream after a restart: sealed again from key and header, or skipped past by plaintext kept', async () => {
    const file = randomBytes(4 * CHUNK + 99);
    const { key, header, sealed } = await seal(file);
    const plain = await collect(plaintextChunks(pieces(file, [CHUNK]), file.length));
    await fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), (done) => {
        // The uploader restarted after `done` chunks: sealing them again yields the same stream.
        const resumed = new AttachmentSealer({ key, header });
        const again = plain.map((c, i) => resumed.seal(c, i === plain.length - 1));
        expect(again.every((c, i) => same(c, sealed[i] as Uint8Array))).toBe(true);
        // The downloader restarted with `done` chunks kept: it opens the rest.
        const opener = new AttachmentOpener(key, header);
        for (const c of plain.slice(0, done)) opener.skip(c);
        const rest = sealed.slice(done).map((c, i) => opener.open(c, done + i === sealed.length - 1));
        expect(same(concat(...plain.slice(0, done), ...rest), file)).toBe(true);
      }),
      { numRuns: 10 },
    );
    // Kept bytes that are not what was sent make the next chunk fail to open.
    const opener = new AttachmentOpener(key, header);
    opener.skip(randomBytes(CHUNK));
    expect(failure(() => opener.open(sealed[1] as Uint8Array, false))).toBe('DECRYPT_FAILED');
  });
});
