/**
 * Exponential backoff with full jitter: each wait is drawn uniformly below a ceiling that doubles
 * from `baseMs` up to `maxMs`. The jitter spreads the retries of many devices that lost their
 * connection at the same moment (a whole office behind one address, after a relay restart), so
 * they do not all come back at once.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next wait; after a relay's retry-after of `afterMs`, the jittered wait comes on top of it. */
  next(afterMs = 0): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return afterMs + Math.round(this.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }
}
