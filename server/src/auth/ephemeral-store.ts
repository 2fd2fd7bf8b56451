/**
 * Short-lived shared state: single-use challenge nonces, bearer tokens and rate-limit counters.
 * One node keeps it in process (this file); the cluster keeps it in Redis behind the same interface.
 * ephemeral-store.test.ts is the contract both pass.
 */
export interface EphemeralStore {
  /** Stores a value until `ttlMs` passes. */
  put(key: string, value: string, ttlMs: number): Promise<void>;
  get(key: string): Promise<string | undefined>;
  /** Returns the value and deletes it, atomically: what makes a challenge single-use. */
  take(key: string): Promise<string | undefined>;
  /** Adds one to a counter that lives for `windowMs` from its first increment; returns the new count and its remaining life. */
  increment(key: string, windowMs: number): Promise<{ count: number; resetInMs: number }>;
  close(): Promise<void>;
}

export class MemoryEphemeralStore implements EphemeralStore {
  private readonly values = new Map<string, { value: string; expiresAt: number }>();
  private readonly counters = new Map<string, { count: number; resetAt: number }>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    // Expired entries are also dropped on access; the sweep bounds memory for keys never read again.
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  async put(key: string, value: string, ttlMs: number) {
    this.values.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  async get(key: string) {
    return this.live(key);
  }

  async take(key: string) {
    // Read and delete with no await between: two takes in flight at once must not both see the value.
    const value = this.live(key);
    this.values.delete(key);
    return value;
  }

  async increment(key: string, windowMs: number) {
    const now = this.now();
    let counter = this.counters.get(key);
    if (!counter || counter.resetAt <= now) {
      counter = { count: 0, resetAt: now + windowMs };
      this.counters.set(key, counter);
    }
    counter.count += 1;
    return { count: counter.count, resetInMs: counter.resetAt - now };
  }

  async close() {
    clearInterval(this.sweeper);
  }

  private live(key: string): string | undefined {
    const entry = this.values.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.values.delete(key);
      return undefined;
    }
    return entry.value;
  }

  private sweep() {
    const now = this.now();
    for (const [key, entry] of this.values) if (entry.expiresAt <= now) this.values.delete(key);
    for (const [key, counter] of this.counters) if (counter.resetAt <= now) this.counters.delete(key);
  }
}
