import { decodeBase64url, encodeBase64url } from '@liaison/protocol';
import { sodium } from '../crypto/sodium.js';
import type { KeyStore } from '../key-store/key-store.js';

/** Records kept this long after delivery; the relay expires undelivered envelopes sooner (30 days). */
const KEEP_MS = 60 * 24 * 3600 * 1000;

/** Which envelope a record is about: the relay's message id alone is not enough, it can reuse it. */
export interface EnvelopeRef {
  senderDevice: string;
  messageId: string;
  /** The envelope's ciphertext, base64url, as the relay delivered it. */
  ciphertext: string;
}

/** A decrypted message not yet handed to the application, with the sender it was verified as. */
export interface PendingMessage {
  plaintext: Uint8Array;
  senderContactPoint: string;
}

/**
 * What this device has received, per sending device and message id, kept in the key store so it
 * survives restarts: `pending` holds a decrypted message not yet handed to the application (saved
 * before the session moves on), `delivered` makes a redelivered envelope a no-op.
 *
 * A pending plaintext is handed out only for the very envelope that produced it (same sending
 * device, same id, same ciphertext) and with the sender it was verified as: a relay that sends the
 * id again under another sender or with other bytes cannot attach someone else's name to it.
 */
export class Inbox {
  constructor(
    private readonly store: KeyStore,
    private readonly now: () => number,
  ) {}

  async delivered(ref: EnvelopeRef): Promise<boolean> {
    return (await this.read(ref))?.status === 'delivered';
  }

  /** The plaintext kept for exactly this envelope, if any. */
  async pending(ref: EnvelopeRef): Promise<PendingMessage | undefined> {
    const value = await this.read(ref);
    if (value?.status !== 'pending' || value.envelope !== envelopeHash(ref)) return undefined;
    const plaintext = typeof value.plaintext === 'string' ? decodeBase64url(value.plaintext) : undefined;
    if (!plaintext || typeof value.sender !== 'string') return undefined;
    return { plaintext, senderContactPoint: value.sender };
  }

  keepPending(ref: EnvelopeRef, message: PendingMessage): Promise<void> {
    return this.store.setState(
      key(ref),
      JSON.stringify({
        status: 'pending',
        plaintext: encodeBase64url(message.plaintext),
        sender: message.senderContactPoint,
        envelope: envelopeHash(ref),
        at: this.now(),
      }),
    );
  }

  markDelivered(ref: EnvelopeRef): Promise<void> {
    return this.store.setState(key(ref), JSON.stringify({ status: 'delivered', at: this.now() }));
  }

  /** Forgets delivered records older than the relay could still redeliver. */
  async prune(): Promise<void> {
    for (const name of await this.store.stateKeys('inbox:')) {
      const raw = await this.store.getState(name);
      const value = raw ? (JSON.parse(raw) as { status: string; at: number }) : undefined;
      if (value?.status === 'delivered' && value.at < this.now() - KEEP_MS) await this.store.setState(name, undefined);
    }
  }

  private async read(ref: EnvelopeRef): Promise<Record<string, unknown> | undefined> {
    const raw = await this.store.getState(key(ref));
    return raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
  }
}

function key(ref: EnvelopeRef): string {
  return `inbox:${ref.senderDevice}:${ref.messageId}`;
}

function envelopeHash(ref: EnvelopeRef): string {
  return encodeBase64url(sodium().crypto_generichash(32, new TextEncoder().encode(ref.ciphertext), null));
}
