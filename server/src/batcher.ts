/**
 * Group commit: items submitted while a batch is being processed wait and go together in the next
 * one, so the database does one round trip (and one commit) for many callers instead of one each.
 * A lone item goes at once; under load, batches grow to what arrived during the previous one. (Two
 * batches in flight at once were measured: no gain on this machine, so one it is.)
 */
export class Batcher<I, O> {
  private waiting: { item: I; resolve: (value: O) => void; reject: (error: unknown) => void }[] = [];
  private running = false;

  /**
   * `process` answers each item of a batch in order: a value, or an Error for that item alone (an
   * item it gives no answer fails). If it throws, every item of the batch fails with that error.
   */
  constructor(
    private readonly process: (items: I[]) => Promise<(O | Error)[]>,
    private readonly maxBatch: number,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.maxBatch);
        try {
          const results = await this.process(batch.map((b) => b.item));
          for (const [i, { resolve, reject }] of batch.entries()) {
            const result = results[i];
            if (result === undefined) reject(new Error('the batch gave no answer for this item'));
            else if (result instanceof Error) reject(result);
            else resolve(result);
          }
        } catch (error) {
          for (const { reject } of batch) reject(error);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
