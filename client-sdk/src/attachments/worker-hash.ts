import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { LIMITS } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import { hashOnThisThread, type TransferHash, type TransferHashFactory } from './transfer-hash.js';

/**
 * The worker's program (CommonJS, run from this string so that it needs no file of its own beside
 * the compiled SDK): the same libsodium as this thread, one SHA-256 state, fed in order. A chunk
 * is answered with null once hashed; null asks for the digest.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodium);
let state;
let queue = sodium.ready.then(() => { state = sodium.crypto_hash_sha256_init(); });
parentPort.on('message', (chunk) => {
  queue = queue.then(() => {
    if (chunk === null) return parentPort.postMessage(sodium.crypto_hash_sha256_final(state));
    sodium.crypto_hash_sha256_update(state, chunk);
    parentPort.postMessage(null);
  });
});
`;

const SODIUM = createRequire(import.meta.url).resolve('libsodium-wrappers-sumo');

/**
 * Chunks handed to the worker and not yet hashed: while it hashes one, the next waits there, so
 * neither thread waits for the other at each chunk (a download at 0.79–0.99 of its crypto's speed
 * against 0.70–0.91 with one; docs/performance.md).
 */
const HELD = 2;

/**
 * Node: a transfer of more than one chunk hashes on a worker thread while this one receives and
 * decrypts (or reads and seals) the next chunk. The hash was a third of a download's CPU on this
 * thread; with it elsewhere a download runs at about its crypto's speed (docs/performance.md). A
 * one-chunk file is hashed here: starting a thread would cost more than the hash.
 */
export const workerHash: TransferHashFactory = (size) =>
  size <= LIMITS.blobChunkPlaintextBytes ? hashOnThisThread(size) : new WorkerHash();

class WorkerHash implements TransferHash {
  private readonly worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sodium: SODIUM } });
  /** The answers awaited, in the order the worker gives them. */
  private readonly waiting: { resolve(answer: Uint8Array | null): void; reject(error: Error): void }[] = [];
  private failure: Error | undefined;
  /** Each chunk handed over and not yet known hashed, oldest first. */
  private readonly held: Promise<unknown>[] = [];

  constructor() {
    // The worker keeps the process alive only while an answer is awaited: a transfer that never
    // closed its hash must not hold the process, and one waiting for its digest must not lose it.
    this.worker.unref();
    this.worker.on('message', (answer: Uint8Array | null) => {
      this.waiting.shift()?.resolve(answer);
      if (this.waiting.length === 0) this.worker.unref();
    });
    this.worker.on('error', () => this.fail('the hashing thread failed'));
    this.worker.on('exit', () => this.fail('the hashing thread stopped'));
  }

  async update(chunk: Uint8Array): Promise<void> {
    if (this.held.length >= HELD) await this.held.shift();
    // A copy, handed over without another: the caller keeps its chunk (a sink may hold it). Not
    // `slice`: on a Node Buffer it is a view, and handing it over would detach the caller's bytes.
    const copy = new Uint8Array(chunk);
    const hashed = this.ask(copy, [copy.buffer]);
    // Awaited by a later step; until then its failure is not unhandled.
    hashed.catch(() => undefined);
    this.held.push(hashed);
  }

  async digest(): Promise<Uint8Array> {
    await Promise.all(this.held.splice(0));
    return (await this.ask(null, [])) as Uint8Array;
  }

  close(): void {
    void this.worker.terminate();
  }

  private ask(message: Uint8Array | null, transfer: ArrayBuffer[]): Promise<Uint8Array | null> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.worker.ref();
      this.worker.postMessage(message, transfer);
    });
  }

  private fail(reason: string): void {
    this.failure ??= new LiaisonError('INTERNAL', reason);
    for (const waiting of this.waiting.splice(0)) waiting.reject(this.failure);
  }
}
