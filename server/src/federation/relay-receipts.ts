import { encodeBase64url, encodeRelayReceipt, type RelayReceipt, type UnsignedRelayReceipt } from '@liaison/protocol';
import { signDetached } from '../sodium.js';
import type { Partners } from './partners.js';

/** What a send result says the relay stored: the rest of a receipt is the relay's own. */
export type StoredMessage = Pick<
  UnsignedRelayReceipt,
  'messageId' | 'senderContactPoint' | 'senderDevice' | 'storedAt'
>;

/**
 * The relay's signed "stored at" (docs/evidence.md): its word that it stored a message from a
 * sending device at a time of its clock, under the signing key its network's manifest certifies
 * (the key it signs its requests to partner relays with, loaded once by Partners). A sender keeps
 * it as evidence a court can check without the relay, against the network's root. One signature
 * per send result, none per envelope; nothing is stored: a retry is signed again from the stored
 * time, which gives the same statement.
 */
export class RelayReceipts {
  private readonly networkId: string;
  private readonly relayKey: string;

  constructor(private readonly partners: Partners) {
    this.networkId = partners.network;
    this.relayKey = encodeBase64url(partners.key.publicKey);
  }

  sign(stored: StoredMessage): RelayReceipt {
    // Field by field: nothing a caller adds can slip into the signed statement.
    const body: UnsignedRelayReceipt = {
      messageId: stored.messageId,
      senderContactPoint: stored.senderContactPoint,
      senderDevice: stored.senderDevice,
      storedAt: stored.storedAt,
      networkId: this.networkId,
      relayKey: this.relayKey,
    };
    const signature = signDetached(this.partners.key.privateKey, encodeRelayReceipt(body));
    return { ...body, signature: encodeBase64url(signature) };
  }
}
