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

  /** Call after the acknowledged envelopes are deleted from storage. */
  acknowledged(messageIds: readonly string[]): void {
    for (const id of messageIds) this.inFlight.delete(id);
    // Otherwise everything stored was pushed, and whatever is stored next comes with its own nudge.
    if (this.windowFull) this.nudge();
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
          if (this.windowFull) break;
          const batch = await queuedEnvelopes(this.db, this.deviceId, [...this.inFlight], room);
          if (this.closed) break;
          for (const { envelope } of batch) {
            this.inFlight.add(envelope.messageId);
            this.push(envelope);
          }
          // Fewer than there was room for: that was everything stored when the pass looked.
          if (batch.length < room) break;
        }
      } while (this.again && !this.closed);
    } finally {
      this.running = false;
    }
  }
}
