import type { AuthChallengeStatement } from './auth.js';
import { decodeBase64url } from './base64url.js';
import type {
  AuthorityCertificate,
  ContactPointCertificate,
  DeviceCertificate,
  Revocation,
  Unsigned,
} from './certificates.js';
import type { UnsignedEvidenceReceipt, UnsignedRelayReceipt } from './evidence.js';
import type { UnsignedNetworkManifest } from './federation.js';
import { KEM_KEY_TYPE, type KemPrekeyBody, type SignedPrekeyBody } from './prekeys.js';
import type { CaseRecord, RecordEntry, UnsignedRecordHead } from './record.js';
import type { RoomChange, UnsignedRoomStatement } from './rooms.js';
import type { WebhookRegistration } from './urgent.js';
import { PROTOCOL_VERSION } from './version.js';

/**
 * The bytes every signature in Liaison covers. Layout of a statement:
 *
 *   "LIAISON" (7 ASCII bytes) | version (u8) | statement tag (u8) | fields in a fixed order
 *
 * Field encodings: string = u32 length + UTF-8; bytes = u32 length + raw bytes (base64url fields
 * are decoded first); u64 = 8 bytes big-endian (timestamps, ids); bool = u8; list = u32 count +
 * items; optional = u8 0, or u8 1 + value. All integers big-endian. The tag separates statement
 * kinds, so a signature over one kind never verifies as another.
 */

const MAGIC = new TextEncoder().encode('LIAISON');

export const STATEMENT_TAGS = {
  authorityCertificate: 1,
  contactPointCertificate: 2,
  deviceCertificate: 3,
  revocation: 4,
  signedPrekey: 5,
  authChallenge: 6,
  webhookRegistration: 7,
  kemPrekey: 8,
  roomStatement: 9,
  networkManifest: 10,
  signedContent: 11,
  evidenceReceipt: 12,
  relayReceipt: 13,
  recordEntry: 14,
  recordHead: 15,
  recordContext: 16,
} as const;
export type StatementTag = (typeof STATEMENT_TAGS)[keyof typeof STATEMENT_TAGS];

const utf8 = new TextEncoder();

class CanonicalWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  constructor(tag: StatementTag) {
    this.push(MAGIC);
    this.push(Uint8Array.of(PROTOCOL_VERSION, tag));
  }

  private push(chunk: Uint8Array): this {
    this.chunks.push(chunk);
    this.length += chunk.length;
    return this;
  }

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError('u32 out of range');
    const chunk = new Uint8Array(4);
    new DataView(chunk.buffer).setUint32(0, value);
    return this.push(chunk);
  }

  u64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError('u64 out of range');
    const chunk = new Uint8Array(8);
    const view = new DataView(chunk.buffer);
    view.setUint32(0, Math.floor(value / 2 ** 32));
    view.setUint32(4, value >>> 0);
    return this.push(chunk);
  }

  bool(value: boolean): this {
    return this.push(Uint8Array.of(value ? 1 : 0));
  }

  bytes(value: Uint8Array): this {
    return this.u32(value.length).push(value);
  }

  /** A base64url field, written as the bytes it stands for. */
  base64url(value: string): this {
    const decoded = decodeBase64url(value);
    if (!decoded) throw new TypeError('not canonical base64url');
    return this.bytes(decoded);
  }

  string(value: string): this {
    return this.bytes(utf8.encode(value));
  }

  optionalString(value: string | undefined): this {
    this.bool(value !== undefined);
    return value === undefined ? this : this.string(value);
  }

  strings(values: readonly string[]): this {
    this.u32(values.length);
    for (const value of values) this.string(value);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

export function encodeAuthorityCertificate(c: Unsigned<AuthorityCertificate>): Uint8Array {
  return new CanonicalWriter(STATEMENT_TAGS.authorityCertificate)
    .string(c.networkId)
    .string(c.authorityId)
    .string(c.country)
    .string(c.name)
    .base64url(c.publicKey)
    .u64(c.notBefore)
    .u64(c.notAfter)
    .finish();
}

export function encodeContactPointCertificate(c: Unsigned<ContactPointCertificate>): Uint8Array {
  return new CanonicalWriter(STATEMENT_TAGS.contactPointCertificate)
    .string(c.networkId)
    .string(c.authorityId)
    .string(c.contactPointId)
    .string(c.kind)
    .string(c.displayName)
    .string(c.role)
    .strings(c.languages)
    .strings(c.competences)
    .string(c.timeZone)
    .base64url(c.accountKey)
    .strings(c.escalationChain)
    .u64(c.notBefore)
    .u64(c.notAfter)
    .finish();
}

/** Capabilities, when present, follow the other fields: a certificate without them encodes as it always did. */
export function encodeDeviceCertificate(c: Unsigned<DeviceCertificate>): Uint8Array {
  const writer = new CanonicalWriter(STATEMENT_TAGS.deviceCertificate)
    .string(c.contactPointId)
    .base64url(c.deviceId)
    .string(c.deviceName)
    .u64(c.notBefore)
    .u64(c.notAfter);
  if (c.capabilities !== undefined) writer.strings(c.capabilities);
  return writer.finish();
}

export function encodeRevocation(r: Unsigned<Revocation>): Uint8Array {
  return new CanonicalWriter(STATEMENT_TAGS.revocation)
    .string(r.networkId)
    .string(r.subject)
    .string(r.subjectId)
    .base64url(r.issuerKey)
    .string(r.reason)
    .u64(r.revokedAt)
    .finish();
}

export function encodeSignedPrekey(p: SignedPrekeyBody): Uint8Array {
  return new CanonicalWriter(STATEMENT_TAGS.signedPrekey).u64(p.id).base64url(p.publicKey).u64(p.createdAt).finish();
}

/** The key type is part of what is signed: a KEM prekey's signature never verifies for another kind of key. */
export function encodeKemPrekey(p: KemPrekeyBody): Uint8Array {
  if (p.keyType !== KEM_KEY_TYPE) throw new RangeError(`unknown KEM key type ${String(p.keyType)}`);
  return new CanonicalWriter(STATEMENT_TAGS.kemPrekey)
    .u64(p.id)
    .string(p.keyType)
    .bool(p.lastResort)
    .base64url(p.publicKey)
    .u64(p.createdAt)
    .finish();
}

export function encodeAuthChallenge(c: AuthChallengeStatement): Uint8Array {
  return new CanonicalWriter(STATEMENT_TAGS.authChallenge)
    .string(c.purpose)
    .base64url(c.nonce)
    .u64(c.issuedAt)
    .string(c.origin)
    .base64url(c.deviceId)
    .finish();
}

export function encodeWebhookRegistration(r: Unsigned<WebhookRegistration>): Uint8Array {
  const writer = new CanonicalWriter(STATEMENT_TAGS.webhookRegistration)
    .string(r.networkId)
    .string(r.authorityId)
    .bool(r.url !== undefined);
  if (r.url !== undefined) writer.string(r.url);
  return writer.base64url(r.secret).u64(r.issuedAt).finish();
}

/**
 * A room statement: the room, the parents in the order given, the author and its device, the time,
 * then the change: its op, and its fields in the order of the schema.
 */
export function encodeRoomStatement(s: UnsignedRoomStatement): Uint8Array {
  const writer = new CanonicalWriter(STATEMENT_TAGS.roomStatement).string(s.roomId).u32(s.parents.length);
  for (const parent of s.parents) writer.base64url(parent);
  writer.string(s.author).base64url(s.authorDevice).u64(s.createdAt);
  return encodeRoomChange(writer, s.change).finish();
}

function encodeRoomChange(writer: CanonicalWriter, change: RoomChange): CanonicalWriter {
  writer.string(change.op);
  switch (change.op) {
    case 'create':
      writer.string(change.title).optionalString(change.caseReference).u32(change.members.length);
      for (const member of change.members) writer.string(member.contactPointId).string(member.role);
      return writer;
    case 'add':
    case 'set-role':
      return writer.string(change.contactPointId).string(change.role);
    case 'remove':
      return writer.string(change.contactPointId);
    case 'rename':
      return writer.string(change.title).optionalString(change.caseReference);
    case 'leave':
      return writer;
  }
}

/**
 * A network manifest: the network, version and time, then each relay (origin, key), its authority
 * ids, and each partner (id, root key), in the order given.
 */
export function encodeNetworkManifest(m: UnsignedNetworkManifest): Uint8Array {
  const writer = new CanonicalWriter(STATEMENT_TAGS.networkManifest)
    .string(m.networkId)
    .u64(m.version)
    .u64(m.issuedAt)
    .u32(m.relays.length);
  for (const relay of m.relays) writer.string(relay.origin).base64url(relay.signingKey);
  writer.strings(m.authorities).u32(m.partners.length);
  for (const partner of m.partners) writer.string(partner.networkId).base64url(partner.rootKey);
  return writer.finish();
}

/** What a sending device signs for a message: the SHA-256 of its content bytes. */
export function encodeSignedContent(contentHash: Uint8Array): Uint8Array {
  return new CanonicalWriter(STATEMENT_TAGS.signedContent).bytes(contentHash).finish();
}

/** A device's receipt: kind, message, content hash, sender, who, which device, when. */
export function encodeEvidenceReceipt(r: UnsignedEvidenceReceipt): Uint8Array {
  return new CanonicalWriter(STATEMENT_TAGS.evidenceReceipt)
    .string(r.kind)
    .string(r.messageId)
    .base64url(r.contentHash)
    .string(r.sender)
    .string(r.by)
    .base64url(r.byDevice)
    .u64(r.at)
    .finish();
}

/** A relay's "stored at": message, sender, sending device, time, network, relay key. */
export function encodeRelayReceipt(r: UnsignedRelayReceipt): Uint8Array {
  return new CanonicalWriter(STATEMENT_TAGS.relayReceipt)
    .string(r.messageId)
    .string(r.senderContactPoint)
    .base64url(r.senderDevice)
    .u64(r.storedAt)
    .string(r.networkId)
    .base64url(r.relayKey)
    .finish();
}

/** One entry of a case record, with the hash of the entry before it: what the next entry's `prev` hashes. */
export function encodeRecordEntry(entry: RecordEntry): Uint8Array {
  const writer = new CanonicalWriter(STATEMENT_TAGS.recordEntry).base64url(entry.prev).string(entry.type);
  switch (entry.type) {
    case 'message':
      return writer
        .string(entry.messageId)
        .string(entry.from)
        .base64url(entry.fromDevice)
        .base64url(entry.content)
        .base64url(entry.signature)
        .finish();
    case 'receipt': {
      const { signature, ...body } = entry.receipt;
      return writer.bytes(encodeEvidenceReceipt(body)).base64url(signature).finish();
    }
    case 'relay-receipt': {
      const { signature, ...body } = entry.receipt;
      return writer.bytes(encodeRelayReceipt(body)).base64url(signature).finish();
    }
  }
}

/**
 * What the exporting device signs: the record's format, the subject, who exported it and when, the
 * count and the last hash, and the SHA-256 of `encodeRecordContext` (its certificates, manifests and
 * revocations), so that none of them can be added, removed or reordered after export.
 */
export function encodeRecordHead(h: UnsignedRecordHead & { context: Uint8Array }): Uint8Array {
  return new CanonicalWriter(STATEMENT_TAGS.recordHead)
    .string(h.format)
    .u32(h.version)
    .string(h.subject.conversation)
    .optionalString(h.subject.request)
    .string(h.exportedBy)
    .base64url(h.exportedByDevice)
    .u64(h.exportedAt)
    .u32(h.entryCount)
    .base64url(h.head)
    .bytes(h.context)
    .finish();
}

/** A record's certificates, manifests and revocations, each as it was signed, in the record's order. */
export function encodeRecordContext(c: Pick<CaseRecord, 'certificates' | 'manifests' | 'revocations'>): Uint8Array {
  const writer = new CanonicalWriter(STATEMENT_TAGS.recordContext);
  const each = <T extends { signature: string }>(
    items: readonly T[],
    encode: (body: Omit<T, 'signature'>) => Uint8Array,
  ) => {
    writer.u32(items.length);
    for (const { signature, ...body } of items) writer.bytes(encode(body)).base64url(signature);
  };
  each(c.certificates.authorities, encodeAuthorityCertificate);
  each(c.certificates.contactPoints, encodeContactPointCertificate);
  each(c.certificates.devices, encodeDeviceCertificate);
  each(c.manifests, encodeNetworkManifest);
  each(c.revocations, encodeRevocation);
  return writer.finish();
}
