import type { BundlesResponse, VerifiedContactPoint } from '@liaison/protocol';
import { hybridDevices } from '../crypto/bundle.js';
import type { SessionCipher, SessionPeer } from '../crypto/session-cipher.js';
import { isLiaisonError } from '../errors.js';
import type { PeerIdentities } from '../trust/identities.js';
import { type PeerDirectory, sessionPeer } from '../trust/peer-directory.js';
import { type TrustAnchors, verifiedEscalationChain } from '../trust/verify.js';
import type { RelayApi } from './relay-api.js';

/** A device a message is encrypted for; with its prekey bundle when there is no session with it yet. */
export interface Target {
  peer: SessionPeer;
  bundle?: BundlesResponse['bundles'][number];
}

/** Who gets a copy of one message, by escalation level, and the recipient's designation it was planned from. */
export interface Levels {
  head: VerifiedContactPoint;
  targets: Target[][];
}

/**
 * Who a message is encrypted for, from verified designations and device certificates only: the
 * recipient's devices and this contact point's other devices at level 0, and for an urgent message
 * every device of each member of the recipient's escalation chain at its level.
 */
export class Recipients {
  constructor(
    private readonly self: { contactPointId: string; deviceId: string },
    private readonly api: Pick<RelayApi, 'bundles'>,
    private readonly cipher: SessionCipher,
    private readonly directory: PeerDirectory,
    private readonly identities: PeerIdentities,
    private readonly anchors: TrustAnchors,
  ) {}

  /**
   * Level 0 is the recipient and this contact point's other devices; for an urgent message, level
   * k is the k-th member of the recipient's escalation chain (nobody when the member is this
   * contact point or unknown to the directory).
   */
  async levels(contactPointId: string, urgent: boolean): Promise<Levels> {
    const recipient = await this.targets(contactPointId);
    const level0 = [...recipient.targets];
    if (contactPointId !== this.self.contactPointId)
      level0.push(...(await this.targets(this.self.contactPointId)).targets);
    const head = recipient.contactPoint;
    if (!urgent) return { head, targets: [level0] };
    const members: (Awaited<ReturnType<Recipients['targets']>> | undefined)[] = [];
    for (const member of head.contactPoint.escalationChain) {
      if (member === this.self.contactPointId) members.push(undefined);
      else members.push(await this.targets(member).catch(unknownAs(undefined)));
    }
    verifiedEscalationChain(
      head,
      members.map((m) => m?.contactPoint),
      this.anchors,
      this.directory.validAt(),
    );
    return { head, targets: [level0, ...members.map((m) => m?.targets ?? [])] };
  }

  /**
   * A message to several contact points (a room's members) at level 0: every device of each, and
   * this contact point's other devices. Not urgent: nobody escalates a room's message.
   */
  async several(contactPointIds: readonly string[]): Promise<Target[]> {
    const targets: Target[] = [];
    for (const id of new Set([...contactPointIds, this.self.contactPointId]))
      targets.push(...(await this.targets(id)).targets);
    return targets;
  }

  /** Every device a message to these levels is encrypted for, this one aside. */
  readers(levels: Levels): string[] {
    return [...new Set(levels.targets.flat().map((t) => t.peer.deviceId))].filter((d) => d !== this.self.deviceId);
  }

  /** The relay refused the device lists of a message to these contact points: verify them again. */
  forgetSeveral(contactPointIds: readonly string[]): void {
    this.directory.forget([...contactPointIds, this.self.contactPointId]);
  }

  /** The relay refused these levels' device lists: verify every contact point in them again. */
  forget(levels: Levels): void {
    const head = levels.head.contactPoint;
    this.directory.forget([head.contactPointId, this.self.contactPointId, ...head.escalationChain]);
  }

  /**
   * The devices of a contact point, verified: as the directory has them while every one has a
   * session here, else with prekey bundles fetched for all of them.
   */
  private async targets(contactPointId: string): Promise<{ contactPoint: VerifiedContactPoint; targets: Target[] }> {
    if (this.directory.remembers(contactPointId)) {
      const known = await this.directory.lookup(contactPointId);
      await this.identities.check(known.contactPoint);
      await this.cipher.rememberHybrid(hybridDevices(known.devices.values()));
      const peers = [...known.devices.keys()].map((deviceId) => sessionPeer(known.contactPoint, deviceId));
      const sessions = await Promise.all(
        peers.map((peer) => (peer.deviceId === this.self.deviceId ? true : this.cipher.hasSession(peer))),
      );
      if (sessions.every(Boolean)) {
        await this.identities.checkOwner(contactPointId, known.devices.keys());
        return { contactPoint: known.contactPoint, targets: peers.map((peer) => ({ peer })) };
      }
    }
    const response = await this.api.bundles(contactPointId);
    const verified = this.directory.accept(contactPointId, {
      ...response,
      devices: response.bundles.map((b) => b.device),
      availability: { status: 'available' },
    });
    await this.identities.check(verified.contactPoint);
    await this.identities.checkOwner(contactPointId, verified.devices.keys());
    await this.cipher.rememberHybrid(hybridDevices(verified.devices.values()));
    return {
      contactPoint: verified.contactPoint,
      targets: response.bundles.map((bundle) => ({
        peer: sessionPeer(verified.contactPoint, bundle.device.deviceId),
        bundle,
      })),
    };
  }
}

/** Turns a NOT_FOUND refusal into `fallback`; any other error stands. */
function unknownAs<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    if (isLiaisonError(error, 'NOT_FOUND')) return fallback;
    throw error;
  };
}
