import { type Envelope, LIMITS } from '@liaison/protocol';
import type { Kysely } from 'kysely';
import { queuedEnvelopes } from '../storage/messages.js';
import type { Database } from '../storage/schema.js';

/**
 * Pushes one connected device its stored envelopes, oldest first, with at most `window` of them
 * unacknowledged at a time. What one pass reads, or one commit offers, goes in one `push` (one
 * socket.io frame): a frame costs the relay a system call whatever it carries (issue #25). It
 * keeps no high-water mark: each pass reads what is stored and not in flight, so an envelope whose
 * transaction committed late is still delivered on this connection.
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
    /** Several envelopes for this device, oldest first, never more than `window`: one frame. */
    private readonly push: (envelopes: Envelope[]) => void,
    private readonly onError: (error: unknown) => void,
    private readonly redelivery: { afterMs: number; now: () => number },
  ) {}

  /** New envelopes may be waiting. */
  nudge(): void {
    void this.pump().catch(this.onError);
  }

  /**
   * Envelopes one commit made for this device, in commit order, offered by the node that stored
   * them: each is pushed at once without reading storage when nothing older can be waiting: every
   * earlier envelope of its sender to this device was offered to this queue (`inOrder`, see
   * send-order.ts), and the queue is caught up with everything else (its last pass read all it
   * found, no pass is running, the window has room). Those go together in one frame. From the
   * first that cannot, the rest are read from storage, in `seq` order, like any other: an earlier
   * envelope of the same sender (stored by a node that died before its notice, say) then comes first.
   */
  offer(offered: readonly { envelope: Envelope; inOrder: boolean }[]): void {
    if (this.closed) return;
    const pushedAt = this.redelivery.now();
    const frame: Envelope[] = [];
    let fromStorage = false;
    for (const { envelope, inOrder } of offered) {
      // Already pushed by a pass that read it from storage after its commit.
      if (this.inFlight.has(envelope.messageId)) continue;
      fromStorage ||= !inOrder || this.running || !this.caughtUp || this.inFlight.size >= this.window;
      if (fromStorage) continue;
      this.inFlight.set(envelope.messageId, pushedAt);
      frame.push(envelope);
    }
    this.pushFrames(frame);
    // The pass that reads the rest counts the frame's envelopes in flight already, and comes after it.
    if (fromStorage) this.nudge();
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

  /** In as few frames as the byte bound of one frame allows (one, unless ciphertexts are large). */
  private pushFrames(envelopes: Envelope[]): void {
    let start = 0;
    let bytes = 0;
    for (const [i, envelope] of envelopes.entries()) {
      // The decoded size of canonical base64url, as the send's own bound counts it.
      const size = Math.floor((envelope.ciphertext.length * 3) / 4);
      if (i > start && bytes + size > LIMITS.maxPushedCiphertextBytes) {
        this.push(envelopes.slice(start, i));
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    if (start === 0) {
      if (envelopes.length > 0) this.push(envelopes);
    } else this.push(envelopes.slice(start));
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
          for (const { envelope } of batch) this.inFlight.set(envelope.messageId, pushedAt);
          this.pushFrames(batch.map(({ envelope }) => envelope));
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
