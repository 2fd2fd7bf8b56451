import { decodeBase64url, encodeBase64url } from '@liaison/protocol';
import type { KeyStore } from '../key-store/key-store.js';

/** Records kept this long after delivery; the relay expires undelivered envelopes sooner (30 days). */
const KEEP_MS = 60 * 24 * 3600 * 1000;

type Record = { status: 'pending'; plaintext: Uint8Array } | { status: 'delivered' };

/**
 * What this device has received, by message id, kept in the key store so it survives restarts:
 * `pending` holds a decrypted message not yet handed to the application (saved before the
 * session moves on), `delivered` makes a redelivered envelope a no-op.
 */
export class Inbox {
  constructor(
    private readonly store: KeyStore,
    private readonly now: () => number,
  ) {}

  async get(messageId: string): Promise<Record | undefined> {
    const raw = await this.store.getState(`inbox:${messageId}`);
    if (!raw) return undefined;
    const value = JSON.parse(raw) as { status: string; plaintext?: string };
    if (value.status === 'pending' && value.plaintext) {
      return { status: 'pending', plaintext: decodeBase64url(value.plaintext) ?? new Uint8Array() };
    }
    return { status: 'delivered' };
  }

  pending(messageId: string, plaintext: Uint8Array): Promise<void> {
    return this.store.setState(
      `inbox:${messageId}`,
      JSON.stringify({ status: 'pending', plaintext: encodeBase64url(plaintext), at: this.now() }),
    );
  }

  delivered(messageId: string): Promise<void> {
    return this.store.setState(`inbox:${messageId}`, JSON.stringify({ status: 'delivered', at: this.now() }));
  }

  /** Forgets delivered records older than the relay could still redeliver. */
  async prune(): Promise<void> {
    for (const key of await this.store.stateKeys('inbox:')) {
      const raw = await this.store.getState(key);
      const value = raw ? (JSON.parse(raw) as { status: string; at: number }) : undefined;
      if (value?.status === 'delivered' && value.at < this.now() - KEEP_MS) await this.store.setState(key, undefined);
    }
  }
}
