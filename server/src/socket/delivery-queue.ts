import type { Envelope } from '@liaison/protocol';
import type { Kysely } from 'kysely';
import { queuedEnvelopes } from '../storage/messages.js';
import type { Database } from '../storage/schema.js';

/**
 * Pushes one connected device its stored envelopes, oldest first, with at most `window` of them
 * unacknowledged at a time. It keeps no high-water mark: each pass reads what is stored and not in
 * flight, so an envelope whose transaction committed late is still delivered on this connection.
 * Passes never overlap; a nudge during a pass causes one more pass.
 *
 * An envelope pushed and not acknowledged within `redeliverAfterMs` is no longer counted in
 * flight: the next pass (a nudge, or the periodic catch-up) reads and pushes it again. A device
 * whose acknowledgement was lost (the database restarting as it arrived) thus gets its window back
 * without reconnecting; the SDK recognises what it already has.
 */
export class DeliveryQueue {
  /** Envelopes pushed and not yet acknowledged, with when they were pushed. */
  private readonly inFlight = new Map<string, number>();
  /** The last pass stopped because the window was full: an acknowledgement makes room to push more. */
  private windowFull = false;
  /** The last pass read everything stored for this device: a new envelope may be pushed as it is offered. */
  private caughtUp = false;
  private running = false;
  private again = false;
  private closed = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly deviceId: string,
    private readonly window: number,
    private readonly push: (envelope: Envelope) => void,
    private readonly onError: (error: unknown) => void,
    private readonly redelivery: { afterMs: number; now: () => number },
  ) {}

  /** New envelopes may be waiting. */
  nudge(): void {
    void this.pump().catch(this.onError);
  }

  /**
   * An envelope just committed, offered by the node that stored it: pushed at once without reading
   * storage when nothing older can be waiting: every earlier envelope of its sender to this device
   * was offered to this queue (`inOrder`, see send-order.ts), and the queue is caught up with
   * everything else (its last pass read all it found, no pass is running, the window has room).
   * Otherwise it is read from storage, in `seq` order, like any other: an earlier envelope of the
   * same sender (stored by a node that died before its notice, say) then comes first.
   */
  offer(envelope: Envelope, inOrder: boolean): void {
    // Already pushed by a pass that read it from storage after its commit.
    if (this.closed || this.inFlight.has(envelope.messageId)) return;
    if (!inOrder || this.running || !this.caughtUp || this.inFlight.size >= this.window) {
      this.nudge();
      return;
    }
    this.inFlight.set(envelope.messageId, this.redelivery.now());
    this.push(envelope);
  }

  /** Call after the acknowledged envelopes are deleted from storage. */
  acknowledged(messageIds: readonly string[]): void {
    for (const id of messageIds) this.inFlight.delete(id);
    // Otherwise everything stored was pushed, and whatever is stored next comes with its own nudge.
    if (this.windowFull) this.nudge();
  }

  /**
   * An acknowledgement could not be stored (the database is away or full): the envelopes are still
   * stored and no longer in flight, so a later pass (the next nudge, or the catch-up) pushes them
   * again, and the device, which has them, acknowledges again. Not at once: that would loop while
   * the database refuses.
   */
  unacknowledged(messageIds: readonly string[]): void {
    for (const id of messageIds) this.inFlight.delete(id);
    this.caughtUp = false;
  }

  close(): void {
    this.closed = true;
  }

  private forgetUnacknowledged(): void {
    const before = this.redelivery.now() - this.redelivery.afterMs;
    for (const [messageId, pushedAt] of this.inFlight) if (pushedAt <= before) this.inFlight.delete(messageId);
  }

  private async pump(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        this.forgetUnacknowledged();
        while (!this.closed) {
          const room = this.window - this.inFlight.size;
          this.windowFull = room <= 0;
          this.caughtUp = false;
          if (this.windowFull) break;
          const batch = await queuedEnvelopes(this.db, this.deviceId, [...this.inFlight.keys()], room);
          if (this.closed) break;
          const pushedAt = this.redelivery.now();
          for (const { envelope } of batch) {
            this.inFlight.set(envelope.messageId, pushedAt);
            this.push(envelope);
          }
          // Fewer than there was room for: that was everything stored when the pass looked.
          if (batch.length < room) {
            this.caughtUp = true;
            break;
          }
        }
      } while (this.again && !this.closed);
    } finally {
      this.running = false;
    }
  }
}
