import type { Envelope } from '@liaison/protocol';
import type { Kysely } from 'kysely';
import { queuedEnvelopes } from '../storage/messages.js';
import type { Database } from '../storage/schema.js';

/**
 * Pushes one connected device its stored envelopes, oldest first, with at most `window` of them
 * unacknowledged at a time. It keeps no high-water mark: each pass reads what is stored and not in
 * flight, so an envelope whose transaction committed late is still delivered on this connection.
 * Passes never overlap; a nudge during a pass causes one more pass.
 */
export class DeliveryQueue {
  private readonly inFlight = new Set<string>();
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
  ) {}

  /** New envelopes may be waiting. */
  nudge(): void {
    void this.pump().catch(this.onError);
  }

  /**
   * An envelope just committed, offered by the node that stored it: pushed at once without reading
   * storage when nothing older can be waiting (caught up, no pass running, room in the window);
   * otherwise it is read from storage in order like any other.
   */
  offer(envelope: Envelope): void {
    // Already pushed by a pass that read it from storage after its commit.
    if (this.closed || this.inFlight.has(envelope.messageId)) return;
    if (this.running || !this.caughtUp || this.inFlight.size >= this.window) {
      this.nudge();
      return;
    }
    this.inFlight.add(envelope.messageId);
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

  private async pump(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        while (!this.closed) {
          const room = this.window - this.inFlight.size;
          this.windowFull = room <= 0;
          this.caughtUp = false;
          if (this.windowFull) break;
          const batch = await queuedEnvelopes(this.db, this.deviceId, [...this.inFlight], room);
          if (this.closed) break;
          for (const { envelope } of batch) {
            this.inFlight.add(envelope.messageId);
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
