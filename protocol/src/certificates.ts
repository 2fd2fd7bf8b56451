import { z } from 'zod';
import { LIMITS } from './limits.js';
import {
  AuthorityId,
  ContactPointId,
  CountryCode,
  DeviceId,
  Ed25519PublicKey,
  Ed25519Signature,
  LanguageTag,
  Name,
  NetworkId,
  ShortText,
  Slug,
  Timestamp,
  TimeZone,
  uniqueList,
} from './primitives.js';

/**
 * The four signed statements of section 2 of the design. Each is a flat object whose
 * `signature` covers the canonical encoding (canonical.ts) of every other field.
 */

/** A network's root public key, configured out of band in every relay and client that trusts it. */
export const TrustedRoot = z.strictObject({
  networkId: NetworkId,
  name: Name,
  publicKey: Ed25519PublicKey,
});
export type TrustedRoot = z.infer<typeof TrustedRoot>;

const validity = {
  notBefore: Timestamp,
  notAfter: Timestamp,
};

/** Signed by the network root: this authority, of this country, holds this key. */
export const AuthorityCertificate = z
  .strictObject({
    networkId: NetworkId,
    authorityId: AuthorityId,
    country: CountryCode,
    name: Name,
    publicKey: Ed25519PublicKey,
    ...validity,
    signature: Ed25519Signature,
  })
  .refine((c) => c.notBefore < c.notAfter, 'notBefore must be before notAfter');
export type AuthorityCertificate = z.infer<typeof AuthorityCertificate>;

/** What a contact point is designated for. Closed so that directory searches mean the same everywhere. */
export const COMPETENCES = [
  'mla',
  'extradition',
  'asset-recovery',
  'cybercrime-24-7',
  'evidence-preservation',
  'transfer-of-proceedings',
  'general',
] as const;
export const Competence = z.enum(COMPETENCES);
export type Competence = z.infer<typeof Competence>;

/** A person designated by an authority, or the authority's duty desk (staffed around the clock). */
export const ContactPointKind = z.enum(['person', 'duty-desk']);
export type ContactPointKind = z.infer<typeof ContactPointKind>;

/** Signed by the authority: the designation of a contact point, with its escalation chain. */
export const ContactPointCertificate = z
  .strictObject({
    networkId: NetworkId,
    authorityId: AuthorityId,
    contactPointId: ContactPointId,
    kind: ContactPointKind,
    displayName: Name,
    role: ShortText,
    languages: uniqueList(LanguageTag).min(1),
    competences: uniqueList(Competence).min(1),
    timeZone: TimeZone,
    /** The account identity key: it signs the contact point's device certificates. */
    accountKey: Ed25519PublicKey,
    /** Ordered ids of deputies and then the duty desk, all of the same authority. */
    escalationChain: uniqueList(ContactPointId, LIMITS.maxEscalationChain),
    ...validity,
    signature: Ed25519Signature,
  })
  .refine((c) => c.notBefore < c.notAfter, 'notBefore must be before notAfter')
  .refine((c) => !c.escalationChain.includes(c.contactPointId), 'a contact point cannot escalate to itself');
export type ContactPointCertificate = z.infer<typeof ContactPointCertificate>;

/**
 * What a device's certificate says it speaks, so that no relay can talk an initiator down to less.
 * `pq-hybrid`: the device publishes signed ML-KEM-768 prekeys and must be reached with a hybrid
 * (PQXDH) first message. Any slug is accepted, so that a capability added later does not make
 * older verifiers refuse the certificate.
 */
export const PQ_HYBRID_CAPABILITY = 'pq-hybrid';
export const DeviceCapabilities = uniqueList(Slug, 8).min(1);

/** Signed by the contact point's account key: this device (named by its identity key) is mine. */
export const DeviceCertificate = z
  .strictObject({
    contactPointId: ContactPointId,
    deviceId: DeviceId,
    deviceName: ShortText,
    ...validity,
    /** Absent in certificates issued before capabilities existed (their encoding is unchanged). */
    capabilities: DeviceCapabilities.optional(),
    signature: Ed25519Signature,
  })
  .refine((c) => c.notBefore < c.notAfter, 'notBefore must be before notAfter');
export type DeviceCertificate = z.infer<typeof DeviceCertificate>;

/** A device's full chain, as it registers and as the directory serves it. */
export const CertificateChain = z.strictObject({
  authority: AuthorityCertificate,
  contactPoint: ContactPointCertificate,
  device: DeviceCertificate,
});
export type CertificateChain = z.infer<typeof CertificateChain>;

export const RevocationSubject = z.enum(['authority', 'contact-point', 'device']);
export type RevocationSubject = z.infer<typeof RevocationSubject>;

export const RevocationReason = z.enum(['key-compromise', 'superseded', 'left-post', 'other']);
export type RevocationReason = z.infer<typeof RevocationReason>;

/**
 * Signed by the issuer above the subject: the root revokes an authority, the authority a contact
 * point, the account key a device. `subjectId` is the authority id, contact-point id or device id.
 */
export const Revocation = z.strictObject({
  networkId: NetworkId,
  subject: RevocationSubject,
  /** An authority or contact-point id (a slug), or a device id. */
  subjectId: z.union([Slug, DeviceId]),
  issuerKey: Ed25519PublicKey,
  reason: RevocationReason,
  revokedAt: Timestamp,
  signature: Ed25519Signature,
});
export type Revocation = z.infer<typeof Revocation>;

/**
 * What POST /v1/revocations takes: a revocation alone, or with the certificates of its issuer. A
 * relay checks a revocation's issuer against what it knows of the subject; for a subject no device
 * of which has registered there yet, the issuer's certificates (the authority's, for a contact
 * point; the authority's and the designation, for a device) show that the issuer is the one above
 * the subject, so the relay can record the revocation before the subject ever tries to register.
 */
export const RevocationSubmission = z.union([
  Revocation,
  z.strictObject({
    revocation: Revocation,
    issuer: z.strictObject({
      authority: AuthorityCertificate,
      contactPoint: ContactPointCertificate.optional(),
    }),
  }),
]);
export type RevocationSubmission = z.infer<typeof RevocationSubmission>;

/** A statement before it is signed. */
export type Unsigned<T> = Omit<T, 'signature'>;
