import { createAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import type { EphemeralStore } from './auth/ephemeral-store.js';
import { RedisEphemeralStore } from './auth/redis-ephemeral-store.js';
import type { Logger } from './log.js';
import type { RelayIo } from './socket/types.js';

export interface Cluster {
  store: EphemeralStore;
  /** Runs `onRecovered` each time Redis comes back after being unreachable. */
  onRecovered(listener: () => void): void;
  /** A Redis round trip, for the latency metric. */
  ping(): Promise<unknown>;
  /** Why this node cannot do its part of the cluster now (for /readyz), or undefined when it can. */
  problem(): string | undefined;
  close(): Promise<void>;
}

/**
 * Joins this node to the others through Redis: the socket.io Redis Streams adapter (a push, a
 * receipt or a disconnect reaches a socket on whichever node holds it, and a short Redis outage
 * loses no inter-node packet because the stream is resumed), and the shared ephemeral store.
 */
export function joinCluster(io: RelayIo, redisUrl: string, log: Logger): Cluster {
  const options = { keyPrefix: 'liaison:', lazyConnect: false, retryStrategy: (n: number) => Math.min(n * 200, 2000) };
  const storeClient = new Redis(redisUrl, { ...options, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  // The adapter reads its stream with blocking calls, so it gets a connection of its own.
  const adapterClient = new Redis(redisUrl, { retryStrategy: options.retryStrategy, maxRetriesPerRequest: null });
  let down = false;
  // The last error's code only: /readyz is public, and a message would name Redis's address.
  let lastError: string | undefined;
  const listeners: (() => void)[] = [];
  for (const client of [storeClient, adapterClient]) {
    client.on('error', (error: Error & { code?: string }) => {
      lastError = error.code ?? error.name;
      if (!down)
        log.warn(
          { event: 'redis.unreachable', err: error.message },
          'Redis unreachable: live pushes between nodes degraded',
        );
      down = true;
    });
  }
  storeClient.on('ready', () => {
    lastError = undefined;
    if (!down) return;
    down = false;
    log.info({ event: 'redis.recovered' }, 'Redis reachable again');
    for (const listener of listeners) listener();
  });
  io.adapter(createAdapter(adapterClient, { streamName: 'liaison:socket.io', maxLen: 100_000 }));
  return {
    store: new RedisEphemeralStore(storeClient),
    onRecovered: (listener) => listeners.push(listener),
    ping: () => storeClient.ping(),
    // Both connections, since each does half the work: tokens and limits, pushes between nodes.
    problem: () =>
      storeClient.status === 'ready' && adapterClient.status === 'ready'
        ? undefined
        : `Redis unreachable (${lastError ?? 'not connected'})`,
    async close() {
      storeClient.disconnect();
      adapterClient.disconnect();
    },
  };
}
