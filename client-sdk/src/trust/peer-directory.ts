import {
  type Availability,
  type DeviceCertificate,
  type DirectoryEntry,
  LIMITS,
  type VerifiedContactPoint,
} from '@liaison/protocol';
import { BoundedMap } from '../bounded-map.js';
import type { SessionPeer } from '../crypto/session-cipher.js';
import { LiaisonError } from '../errors.js';
import { accountKeyOf } from './identities.js';
import { type TrustAnchors, verifiedContactPoint, verifiedDevice } from './verify.js';

export interface VerifiedEntry {
  contactPoint: VerifiedContactPoint;
  devices: DeviceCertificate[];
  availability: Availability;
}

/** A contact point as this client verified it, with the devices certified for it then. */
export interface VerifiedPeer {
  contactPoint: VerifiedContactPoint;
  devices: ReadonlyMap<string, DeviceCertificate>;
}

/**
 * How long a client goes on trusting what it verified without asking the relay again, and for how
 * many contact points. A device revoked meanwhile (the relay drops it from the directory at once)
 * is refused by this client at most `maxAgeMs` later.
 */
export const PEER_CACHE_LIMITS = { maxAgeMs: 5 * 60_000, maxPeers: 1_000 } as const;

interface Cached extends VerifiedPeer {
  /** This device's clock when the entry was verified. */
  verifiedAt: number;
  /** The earliest end of the certificates it rests on, on the relay's clock. */
  expiresAt: number;
}

/**
 * The contact points this client verified, kept so that a message does not cost a directory call,
 * and used only while they may still be trusted: until the first certificate of the chain expires
 * (on the relay's clock, as every validity window), until the relay shows the devices changed
 * (a DEVICE_MISMATCH refusal: `forget`), and for `PEER_CACHE_LIMITS.maxAgeMs` at most; after that
 * the relay's current entry is fetched and verified again. Every entry was verified against the
 * client's own roots and revocations: the relay can make an entry end sooner, never last longer.
 */
export class PeerDirectory {
  private readonly peers = new BoundedMap<string, Cached>(PEER_CACHE_LIMITS.maxPeers);

  constructor(
    /** The relay's directory entry for a contact point. */
    private readonly fetch: (contactPointId: string) => Promise<DirectoryEntry>,
    private readonly anchors: TrustAnchors,
    /** The relay's clock, which validity windows are read against. */
    private readonly relayNow: () => number,
    /** This device's clock, which the age of a verification is counted on. */
    private readonly now: () => number,
  ) {}

  /** A directory entry whose designation and every device verify here, or a LiaisonError. Not remembered. */
  verify(entry: DirectoryEntry): VerifiedEntry {
    const now = this.validAt();
    const contactPoint = verifiedContactPoint(entry, this.anchors, now);
    for (const device of entry.devices) verifiedDevice({ ...entry, device }, this.anchors, now);
    return { contactPoint, devices: entry.devices, availability: entry.availability };
  }

  /** The relay's answer about `contactPointId`, verified here and remembered. */
  accept(contactPointId: string, entry: DirectoryEntry): VerifiedPeer {
    if (entry.contactPoint.contactPointId !== contactPointId) {
      throw new LiaisonError(
        'CHAIN_MISMATCH',
        `the relay answered for "${entry.contactPoint.contactPointId}" instead of "${contactPointId}"`,
      );
    }
    const { contactPoint, devices } = this.verify(entry);
    const peer: Cached = {
      contactPoint,
      devices: new Map(devices.map((d) => [d.deviceId, d])),
      verifiedAt: this.now(),
      expiresAt: Math.min(entry.authority.notAfter, entry.contactPoint.notAfter, ...devices.map((d) => d.notAfter)),
    };
    this.peers.set(contactPointId, peer);
    return peer;
  }

  /**
   * A contact point, verified: as remembered while that may still be trusted and, when `device` is
   * given, names it; else as the relay's directory has it now.
   */
  async lookup(contactPointId: string, device?: string): Promise<VerifiedPeer> {
    const known = this.current(contactPointId);
    if (known && (device === undefined || known.devices.has(device))) return known;
    return this.accept(contactPointId, await this.fetch(contactPointId));
  }

  /** Whether this contact point was verified here before (whether or not that still counts). */
  remembers(contactPointId: string): boolean {
    return this.peers.has(contactPointId);
  }

  /** The relay reported that these contact points' devices changed: verify them again at next use. */
  forget(contactPointIds: Iterable<string>): void {
    for (const id of contactPointIds) this.peers.delete(id);
  }

  private current(contactPointId: string): Cached | undefined {
    const peer = this.peers.get(contactPointId);
    if (!peer) return undefined;
    // A clock set back makes the age negative: that counts as old, not as young.
    const age = this.now() - peer.verifiedAt;
    return age >= 0 && age < PEER_CACHE_LIMITS.maxAgeMs && this.validAt() < peer.expiresAt ? peer : undefined;
  }

  /**
   * The time validity windows are read at: the relay's clock (so that a device whose own clock is
   * behind still accepts certificates), but never earlier than this device's clock allows for
   * skew: a relay that keeps its clock in the past cannot keep an expired certificate valid.
   */
  validAt(): number {
    return Math.max(this.relayNow(), this.now() - LIMITS.maxClockSkewMs);
  }
}

/** A device of a verified contact point, as a session is bound to it. */
export function sessionPeer(verified: VerifiedContactPoint, deviceId: string): SessionPeer {
  return { deviceId, contactPointId: verified.contactPoint.contactPointId, accountKey: accountKeyOf(verified) };
}
