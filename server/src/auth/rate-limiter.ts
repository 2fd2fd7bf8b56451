import { RelayError } from '../errors.js';
import type { EphemeralStore } from './ephemeral-store.js';

const MINUTE = 60_000;

/** Fixed-window limits kept in the ephemeral store, so that in a cluster every node counts together. */
export class RateLimiter {
  constructor(private readonly store: EphemeralStore) {}

  /**
   * Counts one use of `key`; throws RATE_LIMITED with a retry-after once `limit` uses fall in one
   * window (a minute unless `windowMs` says otherwise). With `failOpen`, an unreachable store lets
   * the call through uncounted (for sends, which must go on while Redis is down); otherwise the
   * store's error stands.
   */
  async take(key: string, limit: number, options: { failOpen?: boolean; windowMs?: number } = {}): Promise<void> {
    let counted: { count: number; resetInMs: number };
    try {
      counted = await this.store.increment(`rate:${key}`, options.windowMs ?? MINUTE);
    } catch (error) {
      if (options.failOpen) return;
      throw error;
    }
    const { count, resetInMs } = counted;
    if (count > limit) {
      throw new RelayError('RATE_LIMITED', `too many requests; retry in ${Math.ceil(resetInMs / 1000)} s`, {
        retryAfterMs: resetInMs,
      });
    }
  }
}
