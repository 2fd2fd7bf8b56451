import type { Redis } from 'ioredis';
import type { EphemeralStore } from './ephemeral-store.js';

// INCR, and start the window on the first increment: one round trip, atomic.
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return { count, redis.call('PTTL', KEYS[1]) }`;

/**
 * The ephemeral store of a cluster: every node sees the same challenges, tokens and counters.
 * Commands fail fast while Redis is unreachable (no offline queue), and the relay answers
 * UNAVAILABLE: authentication waits for Redis, stored data never does.
 */
export class RedisEphemeralStore implements EphemeralStore {
  constructor(private readonly redis: Redis) {}

  async put(key: string, value: string, ttlMs: number) {
    await this.redis.set(key, value, 'PX', ttlMs);
  }

  async get(key: string) {
    return (await this.redis.get(key)) ?? undefined;
  }

  async take(key: string) {
    return (await this.redis.getdel(key)) ?? undefined;
  }

  async increment(key: string, windowMs: number) {
    const [count, ttl] = (await this.redis.eval(INCREMENT, 1, key, windowMs)) as [number, number];
    return { count, resetInMs: Math.max(0, ttl) };
  }

  async close() {}
}
