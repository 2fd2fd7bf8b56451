import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { encodeBase64url, LIMITS } from '@liaison/protocol';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ready } from '../crypto/sodium.js';
import { isLiaisonError } from '../errors.js';
import { Sha256 } from './attachment-cipher.js';
import { hashOnThisThread } from './transfer-hash.js';
import { stopHashingThread, workerHash } from './worker-hash.js';

beforeAll(ready);

const CHUNK = LIMITS.blobChunkPlaintextBytes;
const MANY_CHUNKS = 3 * CHUNK;

function sha256(chunks: Uint8Array[]): Uint8Array {
  const hash = new Sha256();
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest();
}

describe('the SHA-256 of a transfer on a worker thread (Node)', () => {
  it('gives the digest of this thread for any chunks, and leaves every chunk as it was', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 70_000 }), { maxLength: 6 }), async (sizes) => {
        const chunks = sizes.map((size) => new Uint8Array(randomBytes(size)));
        const before = chunks.map((chunk) => Uint8Array.from(chunk));
        const hash = workerHash(MANY_CHUNKS);
        try {
          for (const chunk of chunks) await hash.update(chunk);
          expect(await hash.digest()).toEqual(sha256(before));
        } finally {
          hash.close();
        }
        expect(chunks).toEqual(before);
      }),
      { numRuns: 15 },
    );
  });

  it('hashes whole chunks, and views into a larger buffer (a Node Buffer) without detaching it', async () => {
    const file = randomBytes(2 * CHUNK + 123);
    const views = [file.subarray(0, CHUNK), file.subarray(CHUNK, 2 * CHUNK), file.subarray(2 * CHUNK)];
    const hash = workerHash(file.length);
    try {
      for (const view of views) await hash.update(view);
      expect(encodeBase64url(await hash.digest())).toBe(encodeBase64url(sha256([file])));
    } finally {
      hash.close();
    }
    // Still readable: the worker got copies, not the caller's memory.
    expect(file.byteLength).toBe(2 * CHUNK + 123);
    expect(sha256(views)).toEqual(sha256([file]));
  });

  it('gives a file of one chunk (hashed on the calling thread) the same digest', async () => {
    const small = new Uint8Array(randomBytes(1000));
    const [here, chosen] = [hashOnThisThread(small.length), workerHash(small.length)];
    await here.update(small);
    await chosen.update(small);
    expect(await chosen.digest()).toEqual(await here.digest());
  });

  it('keeps the order of chunks its caller did not wait for, on either thread', async () => {
    const chunks = [randomBytes(3 * 1024 * 1024 + 5), randomBytes(10), randomBytes(2 * 1024 * 1024)];
    for (const make of [workerHash, hashOnThisThread]) {
      const hash = make(MANY_CHUNKS);
      const updates = chunks.map((chunk) => hash.update(chunk));
      const digest = hash.digest();
      await Promise.all(updates);
      expect(await digest).toEqual(sha256(chunks));
      hash.close();
    }
  });

  it('keeps the transfers that share the thread apart', async () => {
    const files = [0, 1, 2].map(() => [randomBytes(CHUNK), randomBytes(1000)]);
    const digests = await Promise.all(
      files.map(async (chunks) => {
        const hash = workerHash(MANY_CHUNKS);
        for (const chunk of chunks) await hash.update(chunk);
        const digest = await hash.digest();
        hash.close();
        return digest;
      }),
    );
    expect(digests).toEqual(files.map(sha256));
  });

  it('refuses any step once digested or closed, instead of hashing on a freed state', async () => {
    const digested = workerHash(MANY_CHUNKS);
    await digested.update(new Uint8Array(10));
    await digested.digest();
    const closed = workerHash(MANY_CHUNKS);
    await closed.update(new Uint8Array(10));
    closed.close();
    for (const step of [
      () => digested.digest(),
      () => digested.update(new Uint8Array(1)),
      () => closed.digest(),
      () => closed.update(new Uint8Array(1)),
    ]) {
      expect(isLiaisonError(await step().catch((error: unknown) => error), 'INTERNAL')).toBe(true);
    }
    digested.close();
  });

  it('settles every step queued before a close, and keeps no state for the closed hash', async () => {
    const hash = workerHash(MANY_CHUNKS);
    const steps = [0, 1, 2, 3].map(() => hash.update(randomBytes(CHUNK)));
    hash.close();
    const outcomes = await Promise.allSettled([...steps, hash.digest()]);
    expect(outcomes.at(-1)?.status).toBe('rejected');
    // Another hash on the same thread afterwards is right.
    const next = workerHash(MANY_CHUNKS);
    await next.update(new Uint8Array(10));
    expect(await next.digest()).toEqual(sha256([new Uint8Array(10)]));
    next.close();
  });

  it('fails the transfers on a thread that stopped with INTERNAL, not silently, and starts another for the next', async () => {
    const hash = workerHash(MANY_CHUNKS);
    await hash.update(new Uint8Array(10));
    await stopHashingThread();
    expect(isLiaisonError(await hash.digest().catch((error: unknown) => error), 'INTERNAL')).toBe(true);
    hash.close();
    const next = workerHash(MANY_CHUNKS);
    await next.update(new Uint8Array(10));
    expect(await next.digest()).toEqual(sha256([new Uint8Array(10)]));
    next.close();
  });

  it('keeps the process alive while it waits for the digest, and lets it end after without a close', async () => {
    const script = join(import.meta.dirname, '__fixtures__', 'digest-last.ts');
    const child = spawn(process.execPath, ['--conditions=@liaison/source', '--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let printed = '';
    child.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    expect(printed.trim()).toBe(encodeBase64url(sha256([new Uint8Array(CHUNK).fill(7)])));
  }, 30_000);
});
