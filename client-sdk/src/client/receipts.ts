import type { Receipt } from '@liaison/protocol';
import type { KeyStore } from '../key-store/key-store.js';
import type { RelayApi } from './relay-api.js';

const CURSOR = 'receipts:cursor';

/** Receipts of this contact point's messages, from the relay's pushes and its stored list, each shown once. */
export class Receipts {
  private readonly seen = new Set<string>();
  private catchingUp: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: Pick<RelayApi, 'receipts'>,
    private readonly store: KeyStore,
    private readonly show: (receipt: Receipt) => Promise<void>,
  ) {}

  /** A receipt the relay pushed. */
  async pushed(receipt: Receipt): Promise<void> {
    await this.receipt(receipt);
  }

  /** Reads the relay's list from the stored cursor on, showing what was missed, and moves the cursor. One at a time. */
  catchUp(): Promise<void> {
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
    this.seen.add(key);
    await this.show(receipt);
  }
}
