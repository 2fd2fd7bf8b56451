/**
 * A Map that holds at most `capacity` entries: setting one more drops the entry set longest ago.
 * What a long-running client remembers of the relay's traffic stays this size however long it runs.
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Sets the value and makes the entry the most recent. */
  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** A copy of the entries, oldest first: setting entries while going through it is safe. */
  snapshot(): [K, V][] {
    return [...this.entries];
  }
}
