import {
  type AuthorityCertificate,
  type ContactPointCertificate,
  type DeviceCertificate,
  type Revocation,
  type TrustContext,
  type TrustedRoot,
  type TrustFailure,
  type TrustResult,
  type VerifiedContactPoint,
  type VerifiedDevice,
  verifyContactPoint,
  verifyDevice,
  verifyEscalationChain,
} from '@liaison/protocol';
import { verifySignature } from '../crypto/keys.js';
import { LiaisonError } from '../errors.js';

/** What a client trusts: the roots it was configured with, and the revocations it has seen. */
export interface TrustAnchors {
  trustedRoots: readonly TrustedRoot[];
  revocations?: readonly Revocation[];
}

function context(anchors: TrustAnchors, now: number): TrustContext {
  return { trustedRoots: anchors.trustedRoots, revocations: anchors.revocations ?? [], now, verifySignature };
}

function orThrow<T>(result: TrustResult<T>): T {
  if (!result.ok) throw trustError(result);
  return result;
}

export function trustError(failure: TrustFailure): LiaisonError {
  return new LiaisonError(failure.code, failure.message);
}

/** Verifies a designation with libsodium's Ed25519; throws a LiaisonError naming the failing link. */
export function verifiedContactPoint(
  chain: { authority: AuthorityCertificate; contactPoint: ContactPointCertificate },
  anchors: TrustAnchors,
  now = Date.now(),
): VerifiedContactPoint {
  return orThrow(verifyContactPoint(chain, context(anchors, now)));
}

export function verifiedDevice(
  chain: { authority: AuthorityCertificate; contactPoint: ContactPointCertificate; device: DeviceCertificate },
  anchors: TrustAnchors,
  now = Date.now(),
): VerifiedDevice {
  return orThrow(verifyDevice(chain, context(anchors, now)));
}

/**
 * Checks that each escalation member is a verified contact point of the head's own authority;
 * `undefined` marks a member the directory does not know, whose level nobody can be reached at.
 */
export function verifiedEscalationChain(
  head: VerifiedContactPoint,
  members: readonly ({ authority: AuthorityCertificate; contactPoint: ContactPointCertificate } | undefined)[],
  anchors: TrustAnchors,
  now = Date.now(),
): readonly (VerifiedContactPoint | undefined)[] {
  const verified = members.map((m) => m && verifiedContactPoint(m, anchors, now));
  return orThrow(verifyEscalationChain(head, verified)).members;
}

/** The result of a check, without throwing: for tools that explain a chain. */
export function checkDevice(
  chain: { authority: AuthorityCertificate; contactPoint: ContactPointCertificate; device: DeviceCertificate },
  anchors: TrustAnchors,
  now = Date.now(),
): TrustResult<VerifiedDevice> {
  return verifyDevice(chain, context(anchors, now));
}

export function checkContactPoint(
  chain: { authority: AuthorityCertificate; contactPoint: ContactPointCertificate },
  anchors: TrustAnchors,
  now = Date.now(),
): TrustResult<VerifiedContactPoint> {
  return verifyContactPoint(chain, context(anchors, now));
}
