import { LIMITS } from '@liaison/protocol';
import { isLiaisonError, isRetryable, type LiaisonError } from '../errors.js';
import { Backoff } from './backoff.js';

/**
 * Bounds on how long acknowledgements wait while held (review 25b, finding 4): one slow envelope of
 * a frame (an application listener, a directory lookup) must not hold those handled before it until
 * the relay offers the whole frame again; and a full frame still goes out in two batches at most.
 */
export const ACK_HOLD_MAX_MS = 250;
export const ACK_HOLD_MAX_IDS = 64;

/**
 * Delivery acknowledgements on their way to the relay: batched (those of one pushed frame
 * together), and retried with backoff until the relay accepts them. The relay keeps an envelope
 * "in flight" until it is acknowledged and pushes only a bounded window of them, so an
 * acknowledgement lost to a transient failure (the database restarting) would otherwise hold the
 * device's delivery until it reconnects. Cleared when the connection ends: the relay then offers
 * the envelopes again, and the inbox recognises them.
 */
export class AckQueue {
  private readonly waiting = new Set<string>();
  private readonly backoff = new Backoff(250, 5_000);
  private sending = false;
  /**
   * While above 0, acknowledgements wait, so that those of one pushed frame leave together: until
   * the frame is done, ACK_HOLD_MAX_MS have passed, or ACK_HOLD_MAX_IDS wait, whichever is first.
   */
  private held = 0;
  /** Set while held acknowledgements wait: when it fires, they leave. */
  private holdTimer: ReturnType<typeof setTimeout> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private generation = 0;

  constructor(
    private readonly send: (messageIds: string[]) => Promise<unknown>,
    private readonly report: (error: LiaisonError) => unknown,
  ) {}

  add(messageId: string): void {
    this.waiting.add(messageId);
    if (this.held > 0 && this.waiting.size < ACK_HOLD_MAX_IDS) {
      this.holdTimer ??= setTimeout(() => {
        this.holdTimer = undefined;
        this.sendNow();
      }, ACK_HOLD_MAX_MS);
      return;
    }
    this.sendNow();
  }

  /** Acknowledgements added from now wait for `release` (nested holds wait for the last). */
  hold(): void {
    this.held++;
  }

  /** Sends what waited, as one batch (within LIMITS.maxAcksPerBatch). */
  release(): void {
    this.held = Math.max(0, this.held - 1);
    if (this.held === 0) this.sendNow();
  }

  clear(): void {
    this.generation++;
    this.waiting.clear();
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    clearTimeout(this.retry);
    this.retry = undefined;
  }

  /** Ends any hold's wait and sends what waits, unless a retry is already due for it. */
  private sendNow(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.waiting.size > 0 && !this.retry) void this.flush();
  }

  private async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      // What was added while held, after a batch left, waits for the hold's own end or timer.
      while (this.waiting.size > 0 && !this.holdTimer) {
        const generation = this.generation;
        const batch = [...this.waiting].slice(0, LIMITS.maxAcksPerBatch);
        try {
          await this.send(batch);
        } catch (error) {
          if (generation !== this.generation) continue;
          // What may pass with time is retried (a relay failing inside, too); anything else is reported and dropped.
          if (isRetryable(error) || isLiaisonError(error, 'INTERNAL')) {
            this.retry = setTimeout(() => {
              this.retry = undefined;
              void this.flush();
            }, this.backoff.next());
            return;
          }
          if (isLiaisonError(error)) this.report(error);
        }
        if (generation !== this.generation) continue;
        this.backoff.reset();
        for (const id of batch) this.waiting.delete(id);
      }
    } finally {
      this.sending = false;
    }
  }
}
