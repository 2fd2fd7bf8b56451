import { LiaisonError } from '../errors.js';
import type { KeyStore } from '../key-store/key-store.js';
import { equalBytes } from './bytes.js';

export type PeerIdentityStatus = 'new' | 'known' | 'verified';

/**
 * Checks a contact point's account key against what this device recorded. The first key seen is
 * recorded (trust on first use, after its certificate chain verified); a different key later is
 * refused with UNTRUSTED_IDENTITY until the user accepts it, never silently taken.
 */
export async function checkPeerIdentity(
  store: KeyStore,
  contactPointId: string,
  accountKey: Uint8Array,
  now: number,
): Promise<PeerIdentityStatus> {
  const known = await store.getPeerIdentity(contactPointId);
  if (!known) {
    await store.putPeerIdentity(contactPointId, { accountKey, firstSeenAt: now });
    return 'new';
  }
  if (!equalBytes(known.accountKey, accountKey)) {
    throw new LiaisonError(
      'UNTRUSTED_IDENTITY',
      `the account key of ${contactPointId} changed${known.verifiedAt ? ' since you verified it' : ''}: compare safety numbers before accepting it`,
    );
  }
  return known.verifiedAt ? 'verified' : 'known';
}

/** The user accepts a changed key: it replaces the old one, unverified. */
export async function acceptPeerIdentity(
  store: KeyStore,
  contactPointId: string,
  accountKey: Uint8Array,
  now: number,
): Promise<void> {
  await store.putPeerIdentity(contactPointId, { accountKey, firstSeenAt: now });
}

/** The user compared safety numbers and confirms this key. */
export async function markPeerVerified(
  store: KeyStore,
  contactPointId: string,
  accountKey: Uint8Array,
  now: number,
): Promise<void> {
  const known = await store.getPeerIdentity(contactPointId);
  if (known && !equalBytes(known.accountKey, accountKey)) {
    throw new LiaisonError(
      'UNTRUSTED_IDENTITY',
      `the key being verified is not the one recorded for ${contactPointId}`,
    );
  }
  await store.putPeerIdentity(contactPointId, { accountKey, firstSeenAt: known?.firstSeenAt ?? now, verifiedAt: now });
}
