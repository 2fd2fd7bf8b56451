import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { LIMITS } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import { hashOnThisThread, oneStepAtATime, type TransferHash, type TransferHashFactory } from './transfer-hash.js';

/**
 * The worker's program (CommonJS, run from this string so that it needs no file of its own beside
 * the compiled SDK): the same libsodium as the calling thread, one SHA-256 state per transfer, fed
 * in order. It says when libsodium is ready; a chunk is answered with null once hashed; `digest`
 * answers the digest and forgets the state, `drop` forgets it unanswered.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const sodium = require(workerData.sodium);
const states = new Map();
let queue = sodium.ready.then(() => parentPort.postMessage({ ready: true }));
parentPort.on('message', ({ id, chunk, digest, drop }) => {
  queue = queue.then(() => {
    if (drop) return void states.delete(id);
    if (!states.has(id)) states.set(id, sodium.crypto_hash_sha256_init());
    if (digest) {
      parentPort.postMessage({ id, answer: sodium.crypto_hash_sha256_final(states.get(id)) });
      return void states.delete(id);
    }
    sodium.crypto_hash_sha256_update(states.get(id), chunk);
    parentPort.postMessage({ id, answer: null });
  });
});
`;

/**
 * Chunks of one transfer handed to the worker and not yet hashed: while it hashes one, the next
 * waits there, so neither thread waits for the other at each chunk (a download at 0.79–1.01 of its
 * crypto's speed against 0.70–0.91 with one; docs/performance.md).
 */
const HELD = 2;

/**
 * Node: a transfer of more than one chunk hashes on a worker thread while the calling thread
 * receives and decrypts (or reads and seals) the next chunk. The hash was a third of a download's
 * CPU on the calling thread; with it elsewhere a download runs at about its crypto's speed
 * (docs/performance.md). One thread serves every transfer of the process: it starts with the first
 * (about 0.1 s) and stays, holding the process open only while a transfer waits for it. A file of
 * one chunk hashes on the calling thread, and so does every transfer once a thread could not start
 * (the transfers that were waiting for that one fail with INTERNAL).
 */
export const workerHash: TransferHashFactory = (size) => {
  if (size <= LIMITS.blobChunkPlaintextBytes || HashingThread.unavailable) return hashOnThisThread(size);
  let thread: HashingThread;
  try {
    thread = HashingThread.shared();
  } catch {
    // A bundle that moved libsodium out of reach, or a runtime without workers: slower, still right.
    HashingThread.unavailable = true;
    return hashOnThisThread(size);
  }
  return oneStepAtATime(new WorkerHash(thread));
};

/** Ends the shared hashing thread: the transfers using it fail with INTERNAL, the next ones start another. */
export function stopHashingThread(): Promise<void> {
  return HashingThread.stop();
}

type Answer = { resolve(answer: Uint8Array | null): void; reject(error: Error): void };

/** The process's hashing thread, and the answers each transfer awaits from it, in order. */
class HashingThread {
  /** Set once a thread could not start (or failed before libsodium was ready in it): from then on, the calling thread hashes. */
  static unavailable = false;
  private static current: HashingThread | undefined;
  private static lastId = 0;
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Answer[]>();
  private awaited = 0;
  private ready = false;
  private failure: Error | undefined;

  static shared(): HashingThread {
    if (!HashingThread.current || HashingThread.current.failure) HashingThread.current = new HashingThread();
    return HashingThread.current;
  }

  static async stop(): Promise<void> {
    const thread = HashingThread.current;
    thread?.fail('the hashing thread was stopped', true);
    await thread?.worker.terminate();
  }

  private constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { sodium: createRequire(import.meta.url).resolve('libsodium-wrappers-sumo') },
      // Not the calling process's loaders and flags (a TypeScript loader would cost the start).
      execArgv: [],
    });
    this.worker.unref();
    this.worker.on('message', (message: { ready: true } | { id: number; answer: Uint8Array | null }) => {
      if ('ready' in message) {
        this.ready = true;
        return;
      }
      // Answers still on their way when the thread failed were rejected already.
      if (this.failure) return;
      this.waiting.get(message.id)?.shift()?.resolve(message.answer);
      this.awaited -= 1;
      if (this.awaited === 0) this.worker.unref();
    });
    this.worker.on('error', () => this.fail('the hashing thread failed'));
    this.worker.on('messageerror', () => this.fail('the hashing thread got a message it could not read'));
    this.worker.on('exit', () => this.fail('the hashing thread stopped'));
  }

  newId(): number {
    HashingThread.lastId += 1;
    this.waiting.set(HashingThread.lastId, []);
    return HashingThread.lastId;
  }

  /** Sends a chunk (handed over, not copied) or asks for the digest; resolves with the answer. */
  ask(id: number, message: { chunk: Uint8Array } | { digest: true }): Promise<Uint8Array | null> {
    if (this.failure) return Promise.reject(this.failure);
    const answers = this.waiting.get(id);
    if (!answers) return Promise.reject(new LiaisonError('INTERNAL', 'the hash was closed'));
    return new Promise((resolve, reject) => {
      answers.push({ resolve, reject });
      // The thread holds the process open while a transfer waits for it, and only then.
      if (this.awaited++ === 0) this.worker.ref();
      this.worker.postMessage({ id, ...message }, 'chunk' in message ? [message.chunk.buffer as ArrayBuffer] : []);
    });
  }

  forget(id: number): void {
    const left = this.waiting.get(id) ?? [];
    this.waiting.delete(id);
    if (left.length > 0) for (const answer of left) answer.reject(new LiaisonError('INTERNAL', 'the hash was closed'));
    if (!this.failure) this.worker.postMessage({ id, drop: true });
  }

  /** `couldStart`: false for a thread that failed before libsodium was ready in it, which the next would too. */
  private fail(reason: string, couldStart = this.ready): void {
    if (this.failure) return;
    this.failure = new LiaisonError('INTERNAL', reason);
    if (!couldStart) HashingThread.unavailable = true;
    for (const answers of this.waiting.values()) for (const answer of answers.splice(0)) answer.reject(this.failure);
    this.awaited = 0;
    // A thread that failed holds nothing any more, nor the process: it is ended, and the next transfer starts another.
    this.worker.unref();
    void this.worker.terminate();
  }
}

/** One transfer's hash on the shared thread; its steps come one at a time (`oneStepAtATime`). */
class WorkerHash implements TransferHash {
  private readonly id: number;
  /** Each chunk handed over and not yet known hashed, oldest first. */
  private readonly held: Promise<unknown>[] = [];

  constructor(private readonly thread: HashingThread) {
    this.id = thread.newId();
  }

  async update(chunk: Uint8Array): Promise<void> {
    if (this.held.length >= HELD) await this.held.shift();
    // A copy, handed over without another: the caller keeps its chunk (a sink may hold it). Not
    // `slice`: on a Node Buffer it is a view, and handing it over would detach the caller's bytes.
    const copy = new Uint8Array(chunk);
    const hashed = this.thread.ask(this.id, { chunk: copy });
    // Awaited by a later step; until then its failure is not unhandled.
    hashed.catch(() => undefined);
    this.held.push(hashed);
  }

  async digest(): Promise<Uint8Array> {
    await Promise.all(this.held.splice(0));
    return (await this.thread.ask(this.id, { digest: true })) as Uint8Array;
  }

  close(): void {
    this.thread.forget(this.id);
  }
}
