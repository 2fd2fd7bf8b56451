import { LIMITS, Receipt } from '@liaison/protocol';
import { BoundedMap } from '../bounded-map.js';
import type { KeyStore } from '../key-store/key-store.js';
import { malformedElement, pushedFrame } from './pushed-frame.js';
import type { RelayApi } from './relay-api.js';

/**
 * Receipts seen, to show each once. The relay pushes them live and lists them again from the
 * stored cursor at each catch-up, so a receipt must be remembered until the cursor passes it: a
 * catch-up runs at each connection and whenever half this many receipts came since the last, and
 * a receipt that drops out of memory has been passed by then.
 */
export const SEEN_RECEIPTS_LIMIT = 10_000;

const CURSOR = 'receipts:cursor';

const Frame = pushedFrame(LIMITS.maxReceiptsPerEvent);

/** Receipts of this contact point's messages, from the relay's pushes and its stored list, each shown once. */
export class Receipts {
  private readonly seen = new BoundedMap<string, true>(SEEN_RECEIPTS_LIMIT);
  private sinceCatchUp = 0;
  private catchingUp: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: Pick<RelayApi, 'receipts'>,
    private readonly store: KeyStore,
    private readonly show: (receipt: Receipt) => Promise<void>,
    private readonly report: (error: unknown) => Promise<void>,
  ) {}

  /**
   * A `receipts` event the relay pushed (its word, checked as any input): each receipt shown in
   * turn. An event that is not an array of 1 to LIMITS.maxReceiptsPerEvent elements is reported and
   * dropped whole; within one, an element that is not a Receipt is reported (INVALID_MESSAGE) and
   * the others shown all the same. What is not shown is listed again at the next catch-up. Never
   * rejects: a failing listener is reported, and the next receipt shown.
   */
  async pushedAll(frame: unknown): Promise<void> {
    const elements = Frame.safeParse(frame);
    if (!elements.success) {
      return this.tell(malformedElement('receipt', frame));
    }
    for (const element of elements.data) {
      const receipt = Receipt.safeParse(element);
      if (!receipt.success) {
        await this.tell(malformedElement('receipt', element));
        continue;
      }
      await this.pushed(receipt.data).catch((error) => this.tell(error));
    }
  }

  /** Reports, and ignores a report that fails: it must not stop what comes next. */
  private tell(error: unknown): Promise<void> {
    return this.report(error).catch(() => undefined);
  }

  /** A receipt the relay pushed. */
  async pushed(receipt: Receipt): Promise<void> {
    await this.receipt(receipt);
    if (++this.sinceCatchUp >= SEEN_RECEIPTS_LIMIT / 2) void this.catchUp().catch((error) => this.report(error));
  }

  /** Reads the relay's list from the stored cursor on, showing what was missed, and moves the cursor. One at a time. */
  catchUp(): Promise<void> {
    this.sinceCatchUp = 0;
    this.catchingUp = this.catchingUp.catch(() => undefined).then(() => this.readList());
    return this.catchingUp;
  }

  private async readList(): Promise<void> {
    let cursor = Number((await this.store.getState(CURSOR)) ?? 0);
    for (;;) {
      const page = await this.api.receipts(cursor);
      for (const receipt of page.receipts) await this.receipt(receipt);
      if (page.cursor === cursor || page.receipts.length === 0) break;
      cursor = page.cursor;
      await this.store.setState(CURSOR, String(cursor));
    }
  }

  private async receipt(receipt: Receipt): Promise<void> {
    const key = `${receipt.messageId}:${receipt.status}:${receipt.deviceId ?? ''}:${receipt.at}`;
    if (this.seen.has(key)) return;
    this.seen.set(key, true);
    await this.show(receipt);
  }
}
