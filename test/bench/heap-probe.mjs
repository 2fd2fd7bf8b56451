/**
 * Bench only, never loaded by the relay on its own: preloaded into a server process by the relay
 * bench (NODE_OPTIONS=--import <this file>) so that the bench can measure its memory after a full
 * garbage collection. On SIGUSR2 it collects, then prints one line to stderr:
 *
 *   bench.heap {"heapUsed":…,"external":…,"arrayBuffers":…,"rss":…}   (bytes)
 *
 * Plain JavaScript, so that it loads before tsx does. Without a full collection the heap holds
 * whatever garbage the last minor collections left, and idle memory per connection varied
 * threefold between runs.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) {
  // The flag only exposes gc() in contexts made after it is set: a fresh one, and only here.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  process.on('SIGUSR2', () => {
    // Twice, a turn apart: the first collection runs finalizers whose objects the second frees.
    gc();
    setImmediate(() => {
      gc();
      const { heapUsed, external, arrayBuffers, rss } = process.memoryUsage();
      process.stderr.write(`bench.heap ${JSON.stringify({ heapUsed, external, arrayBuffers, rss })}\n`);
    });
  });
}
