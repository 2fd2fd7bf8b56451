import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisService, requireUrl } from './services.js';

export interface TestRedis {
  readonly url: string;
  /** Every key this test file uses starts with it. */
  readonly prefix: string;
  /** A client whose commands are confined to the prefix. */
  readonly redis: Redis;
  /** Deletes every key under the prefix and closes the client. */
  cleanup(): Promise<void>;
}

/** A key prefix of its own on the test Redis, so test files can run in parallel. */
export async function freshRedis(): Promise<TestRedis> {
  const url = requireUrl(redisService);
  const prefix = `liaison-test:${randomBytes(6).toString('hex')}:`;
  const redis = new Redis(url, { keyPrefix: prefix, lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  return {
    url,
    prefix,
    redis,
    async cleanup() {
      // keyPrefix does not apply to SCAN patterns, so match with the prefix spelled out.
      const raw = new Redis(url, { lazyConnect: true });
      await raw.connect();
      try {
        let cursor = '0';
        do {
          const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          if (keys.length > 0) await raw.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        raw.disconnect();
        redis.disconnect();
      }
    },
  };
}
