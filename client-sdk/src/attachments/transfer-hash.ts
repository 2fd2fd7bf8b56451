import { LiaisonError } from '../errors.js';
import { Sha256 } from './attachment-cipher.js';

/**
 * The SHA-256 of a transfer's plaintext (the one the message carries), fed a chunk at a time, in
 * order. It may run on this thread or on another (Node's `workerHash`), so every step is awaited.
 */
export interface TransferHash {
  /** Takes the next chunk; the caller may reuse or let go of it once this resolves. */
  update(chunk: Uint8Array): Promise<void>;
  digest(): Promise<Uint8Array>;
  /** Ends the hash, digested or not (a transfer that failed): frees what it holds. */
  close(): void;
}

/** Makes the hash of one transfer of `size` plaintext bytes. */
export type TransferHashFactory = (size: number) => TransferHash;

/** Bytes hashed between two turns of Node's event loop (see `hashOnThisThread`). */
const HASH_SLICE_BYTES = 1024 * 1024;

/**
 * The hash on this thread, the default. In Node, a mebibyte at a time with a turn of the event
 * loop before each slice: this thread also writes the chunk before this one to the relay's socket,
 * and while it hashed a chunk in one call (about 20 ms) that write stood still and the relay waited
 * for the rest of the body (an upload reached 0.65–0.78 of the crypto's speed, 0.93–0.96 since:
 * docs/performance.md). A download hashes the same way (measured: no change to its speed).
 * Browsers send a request's body from another process and have no `setImmediate`: there a chunk
 * is hashed in one call.
 */
export const hashOnThisThread: TransferHashFactory = () => {
  const hash = new Sha256();
  return oneStepAtATime({
    async update(chunk) {
      if (typeof setImmediate !== 'function') return hash.update(chunk);
      for (let offset = 0; offset < chunk.length; offset += HASH_SLICE_BYTES) {
        await new Promise((resolve) => setImmediate(resolve));
        hash.update(chunk.subarray(offset, offset + HASH_SLICE_BYTES));
      }
    },
    digest: async () => hash.digest(),
    close() {},
  });
};

/**
 * A hash whose steps run one after another in the order they were called, whether or not the
 * caller awaited the one before (slices of two chunks must not interleave), and none once it is
 * digested or closed: libsodium frees a state when it gives its digest.
 */
export function oneStepAtATime(hash: TransferHash): TransferHash {
  let last: Promise<unknown> = Promise.resolve();
  let over: 'digested' | 'closed' | undefined;
  const step = <T>(run: () => Promise<T>): Promise<T> => {
    if (over) return Promise.reject(new LiaisonError('INTERNAL', `the hash is already ${over}`));
    // A step queued before a close does not run after it.
    const result = last.then(() => {
      if (over === 'closed') throw new LiaisonError('INTERNAL', 'the hash was closed');
      return run();
    });
    last = result.catch(() => undefined);
    return result;
  };
  return {
    update: (chunk) => step(() => hash.update(chunk)),
    digest: () => {
      const digest = step(() => hash.digest());
      over ??= 'digested';
      return digest;
    },
    close: () => {
      over = 'closed';
      hash.close();
    },
  };
}
