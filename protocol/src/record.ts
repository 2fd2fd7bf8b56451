import { z } from 'zod';
import {
  AuthorityCertificate,
  ContactPointCertificate,
  DeviceCertificate,
  Revocation,
  type Unsigned,
} from './certificates.js';
import { EvidenceReceipt, RelayReceipt } from './evidence.js';
import { NetworkManifest } from './federation.js';
import { LIMITS } from './limits.js';
import {
  boundedBytes,
  ContactPointId,
  DeviceId,
  Ed25519Signature,
  fixedBytes,
  MessageId,
  Timestamp,
} from './primitives.js';

/**
 * A case record: everything one device holds about one conversation (or one request in it), in the
 * order it recorded it, self-contained so that `liaison record verify` checks it offline against
 * the network roots alone (docs/evidence.md).
 *
 * Each entry names the SHA-256 of the one before it (`prev`; 32 zero bytes for the first), taken
 * over the entry's canonical encoding (`encodeRecordEntry`), and the exporting device signs the
 * last entry's hash with the subject and the count (`encodeRecordHead`): an entry changed, dropped,
 * inserted or moved breaks the chain where it happened, and anything rebuilt after export breaks
 * the exporter's signature.
 */

export const EntryHash = fixedBytes(32);

/** A message as its sender signed it: the exact content bytes (UTF-8 JSON) and the signature over their hash. */
export const RecordMessage = z.strictObject({
  type: z.literal('message'),
  prev: EntryHash,
  messageId: MessageId,
  from: ContactPointId,
  fromDevice: DeviceId,
  content: boundedBytes(LIMITS.maxCiphertextBytes),
  signature: Ed25519Signature,
});
export type RecordMessage = z.infer<typeof RecordMessage>;

export const RecordReceipt = z.strictObject({
  type: z.literal('receipt'),
  prev: EntryHash,
  receipt: EvidenceReceipt,
});
export type RecordReceipt = z.infer<typeof RecordReceipt>;

export const RecordRelayReceipt = z.strictObject({
  type: z.literal('relay-receipt'),
  prev: EntryHash,
  receipt: RelayReceipt,
});
export type RecordRelayReceipt = z.infer<typeof RecordRelayReceipt>;

export const RecordEntry = z.discriminatedUnion('type', [RecordMessage, RecordReceipt, RecordRelayReceipt]);
export type RecordEntry = z.infer<typeof RecordEntry>;

export const RecordSubject = z.strictObject({
  /** The other contact point of the conversation. */
  conversation: ContactPointId,
  /** Only this request's messages (its opening and updates) and what attests them. */
  request: MessageId.optional(),
});
export type RecordSubject = z.infer<typeof RecordSubject>;

export const RECORD_LIMITS = {
  maxEntries: 50_000,
  maxCertificates: 2_000,
  maxManifests: 64,
  maxRevocations: 10_000,
  /** A record file `liaison record verify` reads. */
  maxFileBytes: 512 * 1024 * 1024,
} as const;

export const CaseRecord = z.strictObject({
  format: z.literal('liaison-case-record'),
  version: z.literal(1),
  subject: RecordSubject,
  exportedBy: ContactPointId,
  exportedByDevice: DeviceId,
  exportedAt: Timestamp,
  /** Every certificate a signature in the record needs, up to the network roots (which are not in it). */
  certificates: z.strictObject({
    authorities: z.array(AuthorityCertificate).max(RECORD_LIMITS.maxCertificates),
    contactPoints: z.array(ContactPointCertificate).max(RECORD_LIMITS.maxCertificates),
    devices: z.array(DeviceCertificate).max(RECORD_LIMITS.maxCertificates),
  }),
  /** The manifests that certify the relay keys of its relay receipts. */
  manifests: z.array(NetworkManifest).max(RECORD_LIMITS.maxManifests),
  /** Revocations the exporting device knew of; a verifier adds its own. */
  revocations: z.array(Revocation).max(RECORD_LIMITS.maxRevocations),
  entries: z.array(RecordEntry).max(RECORD_LIMITS.maxEntries),
  /** The last entry's hash (32 zero bytes when there is none). */
  head: EntryHash,
  signature: Ed25519Signature,
});
export type CaseRecord = z.infer<typeof CaseRecord>;
export type UnsignedRecordHead = Omit<
  Unsigned<CaseRecord>,
  'certificates' | 'manifests' | 'revocations' | 'entries'
> & {
  entryCount: number;
};

/** `prev` of a record's first entry. */
export const NO_ENTRY = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
