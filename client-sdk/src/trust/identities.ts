import { decodeBase64url, type VerifiedContactPoint } from '@liaison/protocol';
import { equalBytes } from '../crypto/bytes.js';
import { isLiaisonError, LiaisonError } from '../errors.js';
import type { KeyStore } from '../key-store/key-store.js';

/**
 * First contact with peers, after their chains verified: what this device recorded of each
 * contact point's account key (trust on first use) and of each device key's contact point.
 */

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

/**
 * Records which contact point a device key speaks for, the first time a verified chain shows it,
 * and refuses the same device key under any other contact point afterwards. A device certificate
 * is signed by one account key; a second contact point that certifies someone else's device key
 * (with a relay's help) wants to be taken for its owner, and is refused here.
 */
export async function checkDeviceOwner(store: KeyStore, deviceId: string, contactPointId: string): Promise<void> {
  const key = `device-owner:${deviceId}`;
  const owner = await store.getState(key);
  if (owner === undefined) return store.setState(key, contactPointId);
  if (owner !== contactPointId) {
    throw new LiaisonError(
      'UNTRUSTED_IDENTITY',
      `device ${deviceId} is certified for ${contactPointId} but belongs to ${owner}: one device key speaks for one contact point`,
    );
  }
}

/** The account key a verified designation names. */
export function accountKeyOf(verified: VerifiedContactPoint): Uint8Array {
  return decodeBase64url(verified.contactPoint.accountKey) as Uint8Array;
}

/** The first-contact checks of one client, on its key store; a changed key is reported as it is refused. */
export class PeerIdentities {
  constructor(
    private readonly store: KeyStore,
    private readonly self: string,
    private readonly now: () => number,
    private readonly changed: (contactPointId: string) => Promise<void>,
  ) {}

  /** Refuses a changed account key (and reports it) until the user accepts it; this contact point's own is verified. */
  async check(verified: VerifiedContactPoint): Promise<PeerIdentityStatus> {
    const contactPointId = verified.contactPoint.contactPointId;
    if (contactPointId === this.self) return 'verified';
    try {
      return await checkPeerIdentity(this.store, contactPointId, accountKeyOf(verified), this.now());
    } catch (error) {
      if (isLiaisonError(error, 'UNTRUSTED_IDENTITY')) await this.changed(contactPointId);
      throw error;
    }
  }

  /** Each of these device keys speaks for `contactPointId` alone (checkDeviceOwner). */
  async checkOwner(contactPointId: string, deviceIds: Iterable<string>): Promise<void> {
    for (const deviceId of deviceIds) await checkDeviceOwner(this.store, deviceId, contactPointId);
  }

  /** The account key recorded for a contact point, if any. */
  async recorded(contactPointId: string): Promise<Uint8Array | undefined> {
    return (await this.store.getPeerIdentity(contactPointId))?.accountKey;
  }

  /** The user accepts the key this designation names, after comparing safety numbers. */
  accept(verified: VerifiedContactPoint): Promise<void> {
    return acceptPeerIdentity(this.store, verified.contactPoint.contactPointId, accountKeyOf(verified), this.now());
  }

  /** The user compared safety numbers: this key is marked verified. */
  markVerified(contactPointId: string, accountKey: Uint8Array): Promise<void> {
    return markPeerVerified(this.store, contactPointId, accountKey, this.now());
  }
}
