import {
  type AuthorityCertificate,
  type CaseRecord,
  type CertificateChain,
  type ContactPointCertificate,
  type DeviceCertificate,
  encodeRecordContext,
  type NetworkManifest,
  NO_ENTRY,
  type RecordEntry,
  type RecordSubject,
  type Revocation,
  type TrustedRoot,
  type UnsignedRecordHead,
} from '@liaison/protocol';
import { sodium } from '../crypto/sodium.js';
import { LiaisonError } from '../errors.js';
import type { DeviceChain, EvidenceLog, LogEntry } from './evidence-log.js';
import { renderRecordHtml } from './render-record.js';
import { parseContent } from './request-fold.js';
import { entryHash, type RecordReport, verifyRecord } from './verify-record.js';

export interface RecordExport {
  /** The bundle to keep and hand over: JSON, checked offline by `liaison record verify`. */
  record: CaseRecord;
  /** What the record establishes, as `verifyRecord` reads it with this device's roots. */
  report: RecordReport;
  /** The same, for people: a self-contained HTML page. */
  html: string;
  /** Entries this device holds that were left out because they would not verify, and why. */
  omitted: { messageId: string; type: LogEntry['type']; reason: string }[];
}

/**
 * What an export reads of a device (`LiaisonClient.evidenceSource()`): its evidence log, its own
 * chain, its trust anchors, and a signer of record heads only. The device's key never leaves the
 * client, and what it signs here is always a record head (canonical tag 15).
 */
export interface RecordSource {
  log: Pick<EvidenceLog, 'requests' | 'entries' | 'chainsOf' | 'manifestNaming'>;
  self: { contactPointId: string; deviceId: string; chain: CertificateChain };
  signHead: (head: UnsignedRecordHead & { context: Uint8Array }) => string;
  trustedRoots: readonly TrustedRoot[];
  revocations: readonly Revocation[];
  now: () => number;
}

/** Entries left out of an export because they would not verify, at most this many before export gives up. */
const MAX_OMITTED = 20;

/**
 * A case record of one conversation (`{ conversation: contactPointId }`) or one request
 * (`{ request: requestId }`) that `client` holds: cut from its evidence log, chains and signs it, then checks it as a court's
 * verifier would. An entry that would not verify there (a signer revoked since, by a revocation this
 * device was given) is left out and named in `omitted`, rather than making the whole record unexportable.
 */
export async function exportRecord(
  client: { evidenceSource(): RecordSource },
  wanted: { conversation: string } | { request: string },
): Promise<RecordExport> {
  const context = client.evidenceSource();
  const { log } = context;
  let subject: RecordSubject;
  if ('request' in wanted) {
    const peer = (await log.requests()).find((r) => r.requestId === wanted.request)?.peer;
    if (peer === undefined) throw new LiaisonError('NOT_FOUND', `this device holds no request ${wanted.request}`);
    subject = { conversation: peer, request: wanted.request };
  } else {
    subject = { conversation: wanted.conversation };
  }
  const logged = inSubject(await log.entries(subject.conversation), subject.request);
  const omitted: RecordExport['omitted'] = [];
  for (;;) {
    const record = await build(subject, logged, context);
    const checked = verifyRecord(record, { trustedRoots: context.trustedRoots });
    if (checked.ok) return { record, report: checked.report, html: renderRecordHtml(checked.report), omitted };
    const failed = checked.entry === undefined ? undefined : logged[checked.entry - 1];
    if (!failed || omitted.length >= MAX_OMITTED)
      throw new LiaisonError('INVALID_MESSAGE', `the record does not verify here: ${checked.reason}`);
    logged.splice((checked.entry as number) - 1, 1);
    omitted.push({
      messageId: failed.type === 'message' ? failed.messageId : failed.receipt.messageId,
      type: failed.type,
      reason: checked.reason,
    });
  }
}

async function build(subject: RecordSubject, logged: readonly LogEntry[], context: RecordSource): Promise<CaseRecord> {
  const { log, self } = context;
  const chains: DeviceChain[] = [self.chain];
  const manifests = new Map<string, NetworkManifest>();
  const entries: RecordEntry[] = [];
  let prev = NO_ENTRY;
  for (const item of logged) {
    let entry: RecordEntry;
    if (item.type === 'message') {
      const { hash: _, ...message } = item;
      entry = { ...message, prev };
      chains.push(...(await log.chainsOf(item.fromDevice)));
    } else if (item.type === 'receipt') {
      entry = { type: 'receipt', prev, receipt: item.receipt };
      chains.push(...(await log.chainsOf(item.receipt.byDevice)));
    } else {
      entry = { type: 'relay-receipt', prev, receipt: item.receipt };
      const manifest = await log.manifestNaming(item.receipt.networkId, item.receipt.relayKey);
      if (manifest) manifests.set(`${manifest.networkId}:${manifest.version}`, manifest);
    }
    entries.push(entry);
    prev = entryHash(entry);
  }
  const unsigned = {
    format: 'liaison-case-record' as const,
    version: 1 as const,
    subject,
    exportedBy: self.contactPointId,
    exportedByDevice: self.deviceId,
    exportedAt: context.now(),
    certificates: certificatesOf(chains),
    manifests: [...manifests.values()],
    revocations: [...context.revocations],
    entries,
    head: prev,
  };
  const { certificates: _c, manifests: _m, revocations: _r, entries: _e, ...head } = unsigned;
  const signature = context.signHead({
    ...head,
    entryCount: entries.length,
    context: sodium().crypto_hash_sha256(encodeRecordContext(unsigned)),
  });
  return { ...unsigned, signature };
}

/** A request's messages (its opening and those about it) and what attests them; the whole log for a conversation. */
function inSubject(entries: LogEntry[], requestId: string | undefined): LogEntry[] {
  if (requestId === undefined) return entries;
  const messages = new Set<string>();
  for (const entry of entries) {
    if (entry.type !== 'message') continue;
    const request = parseContent(entry.content)?.request;
    if ((request?.op === 'open' ? entry.messageId : request?.requestId) === requestId) messages.add(entry.messageId);
  }
  return entries.filter((e) => messages.has(e.type === 'message' ? e.messageId : e.receipt.messageId));
}

function certificatesOf(chains: readonly DeviceChain[]): CaseRecord['certificates'] {
  const once = <T extends { signature: string }>(items: T[]) => [
    ...new Map(items.map((c) => [c.signature, c])).values(),
  ];
  return {
    authorities: once<AuthorityCertificate>(chains.map((c) => c.authority)),
    contactPoints: once<ContactPointCertificate>(chains.map((c) => c.contactPoint)),
    devices: once<DeviceCertificate>(chains.map((c) => c.device)),
  };
}
