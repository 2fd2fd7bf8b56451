import { RelayError } from '../errors.js';
import type { EphemeralStore } from './ephemeral-store.js';

const MINUTE = 60_000;

/** Fixed-window limits kept in the ephemeral store, so that in a cluster every node counts together. */
export class RateLimiter {
  constructor(private readonly store: EphemeralStore) {}

  /** Counts one use of `key`; throws RATE_LIMITED with a retry-after once `perMinute` is passed. */
  async take(key: string, perMinute: number): Promise<void> {
    const { count, resetInMs } = await this.store.increment(`rate:${key}`, MINUTE);
    if (count > perMinute) {
      throw new RelayError('RATE_LIMITED', `too many requests; retry in ${Math.ceil(resetInMs / 1000)} s`, {
        retryAfterMs: resetInMs,
      });
    }
  }
}
