import { decodeBase64url } from './base64url.js';
import {
  encodeAuthorityCertificate,
  encodeContactPointCertificate,
  encodeDeviceCertificate,
  encodeRevocation,
} from './canonical.js';
import type {
  AuthorityCertificate,
  ContactPointCertificate,
  DeviceCertificate,
  Revocation,
  TrustedRoot,
} from './certificates.js';
import type { ErrorCode } from './errors.js';
import { LIMITS } from './limits.js';

/**
 * The rules that make a contact point verified, shared by the relay (at registration) and the
 * SDK (before it encrypts to anyone). The Ed25519 check itself is passed in, so that this package
 * stays free of crypto code while both sides use libsodium's.
 */

export type SignatureCheck = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

export interface TrustContext {
  trustedRoots: readonly TrustedRoot[];
  /** Revocations known to the verifier; ones not signed by the right issuer are ignored. */
  revocations: readonly Revocation[];
  now: number;
  verifySignature: SignatureCheck;
}

export type TrustFailureCode = Extract<
  ErrorCode,
  'UNKNOWN_ROOT' | 'BAD_SIGNATURE' | 'EXPIRED' | 'NOT_YET_VALID' | 'REVOKED' | 'CHAIN_MISMATCH'
>;

export type TrustLink = 'authority' | 'contact-point' | 'device' | 'escalation';

export interface TrustFailure {
  ok: false;
  code: TrustFailureCode;
  link: TrustLink;
  message: string;
}

/** What a verified chain establishes, in the words a person needs. */
export interface VerifiedContactPoint {
  networkId: string;
  networkName: string;
  authority: AuthorityCertificate;
  contactPoint: ContactPointCertificate;
}

export interface VerifiedDevice extends VerifiedContactPoint {
  device: DeviceCertificate;
}

export type TrustResult<T> = ({ ok: true } & T) | TrustFailure;

const fail = (code: TrustFailureCode, link: TrustLink, message: string): TrustFailure => ({
  ok: false,
  code,
  link,
  message,
});

function key(text: string): Uint8Array {
  return decodeBase64url(text) ?? new Uint8Array(0);
}

function signedBy(
  ctx: Pick<TrustContext, 'verifySignature'>,
  publicKey: string,
  message: Uint8Array,
  signature: string,
): boolean {
  try {
    return ctx.verifySignature(key(publicKey), message, key(signature));
  } catch {
    return false;
  }
}

/**
 * A certificate is taken up to LIMITS.maxClockSkewMs before its start: the issuer's clock may run
 * ahead of the verifier's, and a designation made a minute ago must not be refused for it. The
 * end of a window gets no such grace: an expiry is a decision to stop trusting.
 */
function window(ctx: TrustContext, link: TrustLink, what: string, c: { notBefore: number; notAfter: number }) {
  if (ctx.now + LIMITS.maxClockSkewMs < c.notBefore)
    return fail('NOT_YET_VALID', link, `${what} is not valid before ${iso(c.notBefore)}`);
  if (ctx.now >= c.notAfter) return fail('EXPIRED', link, `${what} expired on ${iso(c.notAfter)}`);
  return undefined;
}

const iso = (t: number) => new Date(t).toISOString();

/**
 * The rule of revocations, for the SDK and the relay alike: a revocation counts only when it is by
 * the issuer right above its subject (one of `issuerKeys`: the network's root keys for an
 * authority, the authority's key for a contact point, the account key for a device) and signed by
 * that issuer.
 */
export function checkRevocation(
  revocation: Revocation,
  issuerKeys: readonly string[],
  ctx: Pick<TrustContext, 'verifySignature'>,
): 'valid' | 'other-issuer' | 'bad-signature' {
  if (!issuerKeys.includes(revocation.issuerKey)) return 'other-issuer';
  const { signature, ...body } = revocation;
  return signedBy(ctx, revocation.issuerKey, encodeRevocation(body), signature) ? 'valid' : 'bad-signature';
}

/** The known revocation of this subject that counts, if any. */
function revoked(
  ctx: TrustContext,
  networkId: string,
  subject: Revocation['subject'],
  subjectId: string,
  issuerKeys: readonly string[],
): Revocation | undefined {
  return ctx.revocations.find(
    (r) =>
      r.networkId === networkId &&
      r.subject === subject &&
      r.subjectId === subjectId &&
      checkRevocation(r, issuerKeys, ctx) === 'valid',
  );
}

/** Network root → authority: the authority's certificate is real, current and not revoked. */
export function verifyAuthority(
  authority: AuthorityCertificate,
  ctx: TrustContext,
): TrustResult<{ networkId: string; networkName: string; authority: AuthorityCertificate }> {
  const roots = ctx.trustedRoots.filter((r) => r.networkId === authority.networkId);
  if (roots.length === 0) {
    return fail('UNKNOWN_ROOT', 'authority', `network "${authority.networkId}" is not one this client trusts`);
  }
  const { signature: authoritySignature, ...authorityBody } = authority;
  const root = roots.find((r) =>
    signedBy(ctx, r.publicKey, encodeAuthorityCertificate(authorityBody), authoritySignature),
  );
  if (!root) {
    return fail(
      'BAD_SIGNATURE',
      'authority',
      `the certificate of "${authority.authorityId}" is not signed by the root of "${authority.networkId}"`,
    );
  }
  const authorityWindow = window(
    ctx,
    'authority',
    `the certificate of authority "${authority.authorityId}"`,
    authority,
  );
  if (authorityWindow) return authorityWindow;
  const rootKeys = roots.map((r) => r.publicKey);
  if (revoked(ctx, authority.networkId, 'authority', authority.authorityId, rootKeys)) {
    return fail('REVOKED', 'authority', `authority "${authority.authorityId}" was revoked by its network`);
  }
  return { ok: true, networkId: authority.networkId, networkName: root.name, authority };
}

/** Network root → authority → contact point: the designation is real, current and not revoked. */
export function verifyContactPoint(
  chain: { authority: AuthorityCertificate; contactPoint: ContactPointCertificate },
  ctx: TrustContext,
): TrustResult<VerifiedContactPoint> {
  const { authority, contactPoint } = chain;
  const issuer = verifyAuthority(authority, ctx);
  if (!issuer.ok) return issuer;

  if (contactPoint.networkId !== authority.networkId || contactPoint.authorityId !== authority.authorityId) {
    return fail(
      'CHAIN_MISMATCH',
      'contact-point',
      `contact point "${contactPoint.contactPointId}" names authority "${contactPoint.authorityId}" of "${contactPoint.networkId}", not "${authority.authorityId}" of "${authority.networkId}"`,
    );
  }
  const { signature: designationSignature, ...designationBody } = contactPoint;
  if (!signedBy(ctx, authority.publicKey, encodeContactPointCertificate(designationBody), designationSignature)) {
    return fail(
      'BAD_SIGNATURE',
      'contact-point',
      `the designation of "${contactPoint.contactPointId}" is not signed by "${authority.authorityId}"`,
    );
  }
  const designationWindow = window(
    ctx,
    'contact-point',
    `the designation of "${contactPoint.contactPointId}"`,
    contactPoint,
  );
  if (designationWindow) return designationWindow;
  if (revoked(ctx, authority.networkId, 'contact-point', contactPoint.contactPointId, [authority.publicKey])) {
    return fail(
      'REVOKED',
      'contact-point',
      `the designation of "${contactPoint.contactPointId}" was revoked by "${authority.authorityId}"`,
    );
  }
  return { ...issuer, contactPoint };
}

/** The full chain down to one device, signed by the contact point's account key. */
export function verifyDevice(
  chain: { authority: AuthorityCertificate; contactPoint: ContactPointCertificate; device: DeviceCertificate },
  ctx: TrustContext,
): TrustResult<VerifiedDevice> {
  const designation = verifyContactPoint(chain, ctx);
  if (!designation.ok) return designation;
  const { contactPoint, device } = chain;
  if (device.contactPointId !== contactPoint.contactPointId) {
    return fail(
      'CHAIN_MISMATCH',
      'device',
      `the device belongs to "${device.contactPointId}", not "${contactPoint.contactPointId}"`,
    );
  }
  const { signature, ...body } = device;
  if (!signedBy(ctx, contactPoint.accountKey, encodeDeviceCertificate(body), signature)) {
    return fail(
      'BAD_SIGNATURE',
      'device',
      `the device "${device.deviceName}" is not signed by the account key of "${contactPoint.contactPointId}"`,
    );
  }
  const deviceWindow = window(ctx, 'device', `the certificate of device "${device.deviceName}"`, device);
  if (deviceWindow) return deviceWindow;
  if (revoked(ctx, contactPoint.networkId, 'device', device.deviceId, [contactPoint.accountKey])) {
    return fail('REVOKED', 'device', `device "${device.deviceName}" of "${contactPoint.contactPointId}" was revoked`);
  }
  return { ...designation, device };
}

/**
 * The escalation chain of a verified contact point, against its members' own verified
 * designations: each named member, in order, must be a contact point of the same authority.
 * `undefined` stands for a member the directory does not know (a level nobody can be reached at).
 */
export function verifyEscalationChain<M extends VerifiedContactPoint | undefined>(
  head: VerifiedContactPoint,
  members: readonly M[],
): TrustResult<{ members: readonly M[] }> {
  const named = head.contactPoint.escalationChain;
  if (members.length !== named.length) {
    return fail(
      'CHAIN_MISMATCH',
      'escalation',
      `the escalation chain names ${named.length} members, ${members.length} were given`,
    );
  }
  for (const [i, member] of members.entries()) {
    if (member === undefined) continue;
    if (member.contactPoint.contactPointId !== named[i]) {
      return fail('CHAIN_MISMATCH', 'escalation', `escalation level ${i + 1} should be "${named[i]}"`);
    }
    if (
      member.networkId !== head.networkId ||
      member.authority.authorityId !== head.authority.authorityId ||
      member.authority.publicKey !== head.authority.publicKey
    ) {
      return fail(
        'CHAIN_MISMATCH',
        'escalation',
        `escalation member "${named[i]}" belongs to another authority than "${head.authority.authorityId}"`,
      );
    }
  }
  return { ok: true, members };
}
