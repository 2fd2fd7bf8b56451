import {
  CaseRecord,
  decodeBase64url,
  encodeBase64url,
  encodeRecordContext,
  encodeRecordEntry,
  encodeRecordHead,
  LIMITS,
  type MessageContent,
  manifestSignedBy,
  NO_ENTRY,
  type RecordEntry,
  type Revocation,
  type SignatureCheck,
  type TrustedRoot,
  type TrustFailure,
  type VerifiedDevice,
  verifyDevice,
} from '@liaison/protocol';
import { verifySignature } from '../crypto/keys.js';
import { sodium } from '../crypto/sodium.js';
import { receiptSigned, relayReceiptSigned } from './receipts.js';
import { foldInputs, foldRequest, parseContent, type RequestView } from './request-fold.js';
import { contentHash, signedByDevice } from './signed-content.js';

/** A person or office as the certificates name them. */
export interface Party {
  contactPointId: string;
  displayName: string;
  role: string;
  authorityName: string;
  country: string;
  networkName: string;
}

/** One thing the record establishes, in order. */
export interface Finding {
  /** 1-based, as a person counts entries. */
  entry: number;
  messageId: string;
  what: 'sent' | 'stored' | 'delivered' | 'acknowledged';
  /** The signer's clock (a device's) or the relay's (stored). */
  at: number;
  /** Who signed it: the sender, the recipient, or the relay's network. */
  by: Party | { relayOf: string };
  deviceName?: string;
  /** The same in plain words. */
  statement: string;
}

export interface RecordedMessage {
  messageId: string;
  from: Party;
  to: string;
  sentAt: number;
  subject?: string;
  text: string;
  reference?: string;
  attachments: { name: string; type: string; size: number; sha256: string }[];
  contentHash: string;
  /** The escalation level of this copy (0: the recipient's). */
  level: number;
}

export interface RecordReport {
  subject: { conversation: string; request?: string };
  exportedBy: Party;
  exportedAt: number;
  entries: number;
  findings: Finding[];
  messages: RecordedMessage[];
  requests: RequestView[];
}

/**
 * Why a record is refused, stable for programs: `malformed` (not a record, or too large),
 * `changed` (a signature no longer matches what it covers), `broken-chain` (an entry removed,
 * inserted or moved), `untrusted` (a signer's certificates do not lead to a trusted root, or no
 * longer held when it signed), `revoked`, `inconsistent` (a receipt for nothing the record holds, a
 * message outside its subject).
 */
export type RefusalCode = 'malformed' | 'changed' | 'broken-chain' | 'untrusted' | 'revoked' | 'inconsistent';

export type RecordVerification =
  | { ok: true; report: RecordReport }
  /** `entry`: 1-based, where the record stops being what its signers signed. */
  | { ok: false; code: RefusalCode; reason: string; entry?: number };

export interface VerifyOptions {
  trustedRoots: readonly TrustedRoot[];
  /** Revocations the verifier knows of, beyond those the record carries. */
  revocations?: readonly Revocation[];
}

/** SHA-256 of an entry's canonical encoding: the next entry's `prev`. */
export function entryHash(entry: RecordEntry): string {
  return encodeBase64url(sodium().crypto_hash_sha256(encodeRecordEntry(entry)));
}

class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
    readonly entry?: number,
  ) {
    super(message);
  }
}

/** Certificates one id may have in a record: renewals, not a pile to search through. */
const MAX_CERTIFICATES_PER_ID = 8;

const iso = (t: number) =>
  new Date(t)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');

/**
 * Checks a case record offline, against network roots only: every certificate chain (valid and not
 * revoked when each signature was made, by the signer's clock), every signature, every receipt
 * against the message it names, every relay key against its network's manifest, the hash chain,
 * and the exporter's signature over its head. Says what it establishes, or where it fails and why.
 */
export function verifyRecord(input: unknown, options: VerifyOptions): RecordVerification {
  const parsed = CaseRecord.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.join('.') || 'the file';
    const entry = issue?.path[0] === 'entries' && typeof issue.path[1] === 'number' ? issue.path[1] + 1 : undefined;
    return {
      ok: false,
      code: 'malformed',
      reason: `not a case record: ${at}: ${issue?.message ?? 'invalid'}`,
      ...(entry && { entry }),
    };
  }
  try {
    return { ok: true, report: check(parsed.data, options) };
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    return {
      ok: false,
      code: error.code,
      reason: error.message,
      ...(error.entry !== undefined && { entry: error.entry }),
    };
  }
}

interface Known {
  content: MessageContent;
  from: string;
  fromDevice: string;
  hash: string;
}

function check(record: CaseRecord, options: VerifyOptions): RecordReport {
  const revocations = [...record.revocations, ...(options.revocations ?? [])];
  const certificates = boundedCertificates(record.certificates);
  // Each certificate's signature is checked once, however many entries its device signed.
  const seen = new Map<string, boolean>();
  const verify: SignatureCheck = (key, message, signature) => {
    const id = `${encodeBase64url(key)}.${encodeBase64url(signature)}.${encodeBase64url(message)}`;
    const known = seen.get(id);
    if (known !== undefined) return known;
    const valid = verifySignature(key, message, signature);
    seen.set(id, valid);
    return valid;
  };
  const deviceAt = (deviceId: string, contactPointId: string, at: number, what: string, entry?: number) =>
    chainAt(certificates, options.trustedRoots, revocations, verify, { deviceId, contactPointId, at, what, entry });

  const { signature, certificates: _c, manifests, revocations: _r, entries, ...head } = record;
  const context = sodium().crypto_hash_sha256(encodeRecordContext(record));
  const signedHead = encodeRecordHead({ ...head, entryCount: entries.length, context });
  const exporterKey = decodeBase64url(record.exportedByDevice) as Uint8Array;
  const peer = record.subject.conversation;
  const messages = new Map<string, Known[]>();
  const findings: Finding[] = [];
  const recorded: RecordedMessage[] = [];
  let prev = NO_ENTRY;
  for (const [i, entry] of entries.entries()) {
    const n = i + 1;
    if (entry.type === 'message') {
      const bytes = decodeBase64url(entry.content) as Uint8Array;
      const key = decodeBase64url(entry.fromDevice) as Uint8Array;
      if (!signedByDevice(key, bytes, decodeBase64url(entry.signature) as Uint8Array))
        throw new Refusal(
          'changed',
          `entry ${n}: the content of message ${entry.messageId} is not what its sender's device signed: it was changed`,
          n,
        );
      linked(entry, prev, n);
      const content = parseContent(entry.content);
      if (!content || content.messageId !== entry.messageId)
        throw new Refusal('changed', `entry ${n}: message ${entry.messageId} has no readable content of that id`, n);
      const device = deviceAt(
        entry.fromDevice,
        entry.from,
        content.sentAt,
        `the sender of message ${entry.messageId}`,
        n,
      );
      const to = content.to as string;
      if (entry.from !== peer && to !== peer)
        throw new Refusal(
          'inconsistent',
          `entry ${n}: message ${entry.messageId} is not part of the conversation with "${peer}"`,
          n,
        );
      if (record.subject.request !== undefined) {
        const about = content.request?.op === 'open' ? content.messageId : content.request?.requestId;
        if (about !== record.subject.request)
          throw new Refusal(
            'inconsistent',
            `entry ${n}: message ${entry.messageId} is not about request ${record.subject.request}`,
            n,
          );
      }
      const hash = encodeBase64url(contentHash(bytes));
      const copies = messages.get(entry.messageId) ?? [];
      if (copies.some((c) => c.from !== entry.from))
        throw new Refusal('inconsistent', `entry ${n}: message id ${entry.messageId} is used by two senders`, n);
      messages.set(entry.messageId, [...copies, { content, from: entry.from, fromDevice: entry.fromDevice, hash }]);
      const level = content.urgent?.level ?? 0;
      recorded.push({
        messageId: entry.messageId,
        from: party(device),
        to,
        sentAt: content.sentAt,
        ...(content.subject !== undefined && { subject: content.subject }),
        text: content.text,
        ...(content.reference !== undefined && { reference: content.reference }),
        attachments: (content.attachments ?? []).map((a) => ({
          name: a.name,
          type: a.type,
          size: a.size,
          sha256: a.sha256,
        })),
        contentHash: hash,
        level,
      });
      findings.push({
        entry: n,
        messageId: entry.messageId,
        what: 'sent',
        at: content.sentAt,
        by: party(device),
        deviceName: device.device.deviceName,
        statement: `${iso(content.sentAt)}: ${name(device)} sent message ${entry.messageId} to "${to}"${level > 0 ? ` (the copy for escalation level ${level})` : ''}${describe(content)}, signed by their device "${device.device.deviceName}".`,
      });
    } else if (entry.type === 'receipt') {
      const r = entry.receipt;
      if (!receiptSigned(r))
        throw new Refusal(
          'changed',
          `entry ${n}: the ${r.kind} receipt for message ${r.messageId} is not what the device it names signed: it was changed`,
          n,
        );
      linked(entry, prev, n);
      const copy = messages.get(r.messageId)?.find((m) => m.hash === r.contentHash);
      if (!copy)
        throw new Refusal(
          'inconsistent',
          `entry ${n}: the ${r.kind} receipt names message ${r.messageId} with content that no earlier entry holds`,
          n,
        );
      if (copy.from !== r.sender)
        throw new Refusal(
          'inconsistent',
          `entry ${n}: the receipt names "${r.sender}" as sender, not "${copy.from}"`,
          n,
        );
      const readers = [copy.content.to as string, ...(copy.content.urgent?.escalation ?? [])];
      if (!readers.includes(r.by))
        throw new Refusal(
          'inconsistent',
          `entry ${n}: a receipt by "${r.by}", to whom message ${r.messageId} was not sent`,
          n,
        );
      const device = deviceAt(r.byDevice, r.by, r.at, `the device that signed a receipt for message ${r.messageId}`, n);
      findings.push({
        entry: n,
        messageId: r.messageId,
        what: r.kind,
        at: r.at,
        by: party(device),
        deviceName: device.device.deviceName,
        statement:
          r.kind === 'delivered'
            ? `${iso(r.at)}: the device "${device.device.deviceName}" of ${name(device)} received message ${r.messageId}, as sent (signed by that device).`
            : `${iso(r.at)}: ${name(device)} acknowledged message ${r.messageId}: a person confirmed having it (signed by their device "${device.device.deviceName}").`,
      });
    } else {
      const r = entry.receipt;
      if (!relayReceiptSigned(r))
        throw new Refusal(
          'changed',
          `entry ${n}: the relay receipt for message ${r.messageId} is not what the relay key it names signed: it was changed`,
          n,
        );
      linked(entry, prev, n);
      const manifest = manifests.find(
        (m) =>
          m.networkId === r.networkId &&
          m.relays.some((relay) => relay.signingKey === r.relayKey) &&
          options.trustedRoots.some(
            (root) => root.networkId === m.networkId && manifestSignedBy(m, root.publicKey, verify),
          ),
      );
      if (!manifest)
        throw new Refusal(
          'untrusted',
          `entry ${n}: the relay receipt for message ${r.messageId} is signed by a key that no manifest of "${r.networkId}" signed by a trusted root certifies`,
          n,
        );
      const copy = messages.get(r.messageId)?.[0];
      if (!copy || copy.from !== r.senderContactPoint || copy.fromDevice !== r.senderDevice)
        throw new Refusal(
          'inconsistent',
          `entry ${n}: the relay receipt names message ${r.messageId} from a sender no earlier entry holds`,
          n,
        );
      findings.push({
        entry: n,
        messageId: r.messageId,
        what: 'stored',
        at: r.storedAt,
        by: { relayOf: r.networkId },
        statement: `${iso(r.storedAt)}: the relay of network "${r.networkId}" stored message ${r.messageId} (signed with a relay key its network's manifest version ${manifest.version} certifies; the relay's clock).`,
      });
    }
    prev = entryHash(entry);
  }
  if (prev !== record.head)
    throw new Refusal(
      'broken-chain',
      'the record ends at another entry than its exporter signed: entries were removed or added at its end',
    );
  if (!verifySignature(exporterKey, signedHead, decodeBase64url(signature) as Uint8Array))
    throw new Refusal(
      'changed',
      `the record is not as "${record.exportedBy}"'s device signed it at export: it was changed afterwards (its certificates, manifests, revocations or head)`,
    );
  const exporter = deviceAt(record.exportedByDevice, record.exportedBy, record.exportedAt, 'the exporting device');

  const { messages: foldMessages, receipts, storedAt } = foldInputs(entries);
  const requestIds = [
    ...new Set(
      foldMessages
        .map((m) => (m.content.request?.op === 'open' ? m.messageId : undefined))
        .filter((id): id is string => id !== undefined),
    ),
  ];
  return {
    subject: record.subject,
    exportedBy: party(exporter),
    exportedAt: record.exportedAt,
    entries: entries.length,
    findings,
    messages: recorded,
    requests: requestIds
      .map((id) => foldRequest(id, foldMessages, receipts, storedAt))
      .filter((v): v is RequestView => v !== undefined),
  };
}

function linked(entry: RecordEntry, prev: string, n: number): void {
  if (entry.prev !== prev)
    throw new Refusal(
      'broken-chain',
      `entry ${n}: it does not follow the entry before it: an entry was removed, inserted or moved here, or the one before it changed`,
      n,
    );
}

/** The record's certificates, refused when one id has more than a few (a verifier's time is not the forger's to spend). */
function boundedCertificates(certificates: CaseRecord['certificates']): CaseRecord['certificates'] {
  const count = (ids: string[]) => {
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    return [...counts].find(([, n]) => n > MAX_CERTIFICATES_PER_ID)?.[0];
  };
  const crowded =
    count(certificates.devices.map((d) => d.deviceId)) ??
    count(certificates.contactPoints.map((c) => c.contactPointId)) ??
    count(certificates.authorities.map((a) => a.authorityId));
  if (crowded)
    throw new Refusal('malformed', `the record has more than ${MAX_CERTIFICATES_PER_ID} certificates for "${crowded}"`);
  return certificates;
}

/**
 * The chain of a device when it signed (`at`, the signer's clock, give or take the clock skew
 * allowed), from the record's certificates, under the verifier's roots, with the revocations dated
 * at or before that time.
 */
function chainAt(
  certificates: CaseRecord['certificates'],
  trustedRoots: readonly TrustedRoot[],
  revocations: readonly Revocation[],
  verify: SignatureCheck,
  signer: { deviceId: string; contactPointId: string; at: number; what: string; entry?: number | undefined },
): VerifiedDevice {
  const { deviceId, contactPointId, at, what, entry } = signer;
  const where = entry === undefined ? '' : `entry ${entry}: `;
  const devices = certificates.devices.filter((d) => d.deviceId === deviceId && d.contactPointId === contactPointId);
  if (devices.length === 0)
    throw new Refusal(
      'untrusted',
      `${where}no certificate in the record makes device ${deviceId} one of "${contactPointId}"'s (${what})`,
      entry,
    );
  const ctx = (now: number) => ({
    trustedRoots,
    revocations: revocations.filter((r) => r.revokedAt <= at),
    now,
    verifySignature: verify,
  });
  let failure: TrustFailure | undefined;
  for (const device of devices)
    for (const contactPoint of certificates.contactPoints.filter((c) => c.contactPointId === contactPointId))
      for (const authority of certificates.authorities.filter((a) => a.authorityId === contactPoint.authorityId)) {
        const chain = { authority, contactPoint, device };
        let result = verifyDevice(chain, ctx(at));
        if (!result.ok && result.code === 'NOT_YET_VALID')
          result = verifyDevice(chain, ctx(at + LIMITS.maxClockSkewMs));
        else if (!result.ok && result.code === 'EXPIRED') result = verifyDevice(chain, ctx(at - LIMITS.maxClockSkewMs));
        if (result.ok) return result;
        failure = result;
      }
  throw new Refusal(
    failure?.code === 'REVOKED' ? 'revoked' : 'untrusted',
    `${where}${what}: ${failure ? failure.message : `no certificates in the record lead from "${contactPointId}" to a network root`} (${failure?.code ?? 'UNKNOWN_ROOT'})`,
    entry,
  );
}

function party(device: VerifiedDevice): Party {
  return {
    contactPointId: device.contactPoint.contactPointId,
    displayName: device.contactPoint.displayName,
    role: device.contactPoint.role,
    authorityName: device.authority.name,
    country: device.authority.country,
    networkName: device.networkName,
  };
}

function name(device: VerifiedDevice): string {
  return `${device.contactPoint.displayName} ("${device.contactPoint.contactPointId}", ${device.authority.name}, ${device.authority.country})`;
}

function describe(content: MessageContent): string {
  const parts: string[] = [];
  if (content.request?.op === 'open') {
    const kind = content.request.kind.replaceAll('-', ' ');
    parts.push(`, opening ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} request`);
  }
  if (content.request?.op === 'update' && content.request.status)
    parts.push(`, stating request ${content.request.requestId} ${content.request.status.replaceAll('-', ' ')}`);
  if (content.subject) parts.push(`, subject "${content.subject}"`);
  if (content.attachments) parts.push(`, with ${content.attachments.length} attachment(s)`);
  return parts.join('');
}
