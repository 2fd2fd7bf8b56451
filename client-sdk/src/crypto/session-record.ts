import { decodeBase64url } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import { equalBytes, fromHex, toHex, wipe } from './bytes.js';
import { MAX_OLD_CHAINS, MAX_SKIPPED_PER_CHAIN, MAX_SKIPPED_TOTAL, type RatchetState } from './ratchet.js';
import { CLASSICAL_VERSION, type ContactPointBinding, HYBRID_VERSION, type SessionVersion } from './x3dh.js';

/** One session with a remote device: a ratchet and what binds it to the two identities. */
export interface SessionState {
  /** 1: classical (X3DH); 2: hybrid (PQXDH with ML-KEM-768). Every message of the session carries it. */
  version: SessionVersion;
  ratchet: RatchetState;
  associatedData: Uint8Array;
  remoteIdentityKey: Uint8Array;
  /** The contact point the remote device spoke for when the session began (also bound in `associatedData`). */
  peer: ContactPointBinding;
  /** The initiator's X3DH ephemeral key: names the session, so a repeated prekey message finds it. */
  baseKey: Uint8Array;
  /** Set on the initiator's side until the first reply: every message repeats the X3DH header. */
  pendingPrekey?: PendingPrekey;
}

export interface PendingPrekey {
  signedPrekeyId: number;
  oneTimePrekeyId?: number;
  /** Hybrid sessions: the KEM prekey used and the ciphertext, repeated with the header. */
  kem?: { prekeyId: number; ciphertext: Uint8Array };
}

/**
 * All sessions with one remote device. Several can exist when both sides started one at once;
 * the one that last decrypted is current, and a few previous ones are kept so that messages
 * still in flight on them decrypt (and promote them).
 */
export interface SessionRecord {
  current?: SessionState;
  previous: SessionState[];
}

export const MAX_PREVIOUS_SESSIONS = 4;

// JSON records: version 1 sessions were not bound to contact points (dropped when read, and new
// ones start); version 2 is the JSON form written until the binary one (still read, never written).
const JSON_RECORD_VERSION = 2;

/** Whether a session was made with this contact point (same id, same account key). */
export function boundTo(state: SessionState, peer: ContactPointBinding): boolean {
  return state.peer.contactPointId === peer.contactPointId && equalBytes(state.peer.accountKey, peer.accountKey);
}

/** Makes `state` current, keeping the previous current one and dropping the oldest beyond the limit. */
export function promote(record: SessionRecord, state: SessionState): SessionRecord {
  const others = [record.current, ...record.previous].filter(
    (s): s is SessionState => s !== undefined && !equalBytes(s.baseKey, state.baseKey),
  );
  // A classical session that decrypts a late message never displaces a hybrid one with the same
  // contact point: it is kept for messages still in flight, and the hybrid one goes on encrypting.
  const current = record.current;
  if (
    state.version === CLASSICAL_VERSION &&
    current?.version === HYBRID_VERSION &&
    !equalBytes(current.baseKey, state.baseKey) &&
    boundTo(current, state.peer)
  ) {
    return { current, previous: [state, ...others.filter((s) => s !== current)].slice(0, MAX_PREVIOUS_SESSIONS) };
  }
  return { current: state, previous: others.slice(0, MAX_PREVIOUS_SESSIONS) };
}

/** Overwrites every key and byte string of a record, and empties it (a cipher forgetting what it kept). */
export function wipeRecord(record: SessionRecord): void {
  for (const s of [record.current, ...record.previous]) {
    if (!s) continue;
    const r = s.ratchet;
    wipe(r.rootKey, r.sendingKeyPair.privateKey, r.sendingKeyPair.publicKey, r.sendingChainKey);
    wipe(r.receivingKey, r.receivingChainKey, ...r.skipped.values());
    wipe(s.associatedData, s.remoteIdentityKey, s.peer.accountKey, s.baseKey, s.pendingPrekey?.kem?.ciphertext);
    r.skipped.clear();
    r.oldChains.length = 0;
  }
  delete record.current;
  record.previous = [];
}

// The record comes from the device's own key store; a malformed one means corruption, and is
// refused whole. It is a key store failure, not a forged message: the receiver does not
// acknowledge a message it could not decide on (DECRYPT_FAILED would be acknowledged and lost).
function corrupt(why?: string): never {
  throw new LiaisonError('KEY_STORE_UNREADABLE', `stored session record is corrupt${why ? ` (${why})` : ''}`);
}
// The writer refuses what the reader would: a record is never written that cannot be read back.
function unwritable(why: string): never {
  throw new LiaisonError('KEY_STORE_UNREADABLE', `session record not written: it could not be read back (${why})`);
}
function jsonBytes(value: unknown): Uint8Array {
  const decoded = typeof value === 'string' ? decodeBase64url(value) : undefined;
  return decoded ?? corrupt();
}
function maybeBytes(value: unknown): Uint8Array | null {
  return value === null ? null : jsonBytes(value);
}
function count(value: unknown): number {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : corrupt();
}
function object(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : corrupt();
}
function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : corrupt();
}

const KEY = 32;
const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
// Chains are named by the lowercase hex of their receiving key in memory (ratchet.ts), skipped keys by chain:n.
const CHAIN_NAME = /^[0-9a-f]{64}$/;
const SKIPPED_ID = /^[0-9a-f]{64}:(0|[1-9][0-9]{0,9})$/;
const utf8 = new TextEncoder();

const isKey = (bytes: Uint8Array | null) => bytes === null || bytes.length === KEY;
const isU32 = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n >= 0 && n <= U32_MAX);

/**
 * What a session must hold, in either form: checked on every record read (binary or JSON) and
 * before every record written, so the writer and the reader agree. The limits are the ratchet's
 * (ratchet.ts: skipped keys per chain and in all, chains left behind) and the binary form's (key
 * and field lengths, u32 counters). Returns what is wrong, or undefined.
 */
function stateProblem(s: SessionState): string | undefined {
  return shapeProblem(s) ?? ratchetProblem(s);
}

/**
 * The shape of each field: what the binary form holds by construction (it reads 32 bytes for a
 * key, a u32 for a counter, builds chain names and skipped key ids itself), so only the JSON form
 * and the writer need it. It runs on every save: the cheap checks, and no allocation per skipped key.
 */
function shapeProblem(s: SessionState): string | undefined {
  const r = s.ratchet;
  const keys = [r.rootKey, r.sendingKeyPair.publicKey, r.sendingKeyPair.privateKey, r.sendingChainKey];
  keys.push(r.receivingKey, r.receivingChainKey, s.remoteIdentityKey, s.peer.accountKey, s.baseKey);
  if (!keys.every(isKey)) return 'a key is not 32 bytes';
  if (![r.sendingN, r.previousSendingN, r.receivingN].every(isU32)) return 'a counter is not a u32';
  if (s.associatedData.length > U16_MAX) return 'associated data too long';
  if (utf8.encode(s.peer.contactPointId).length > 255) return 'contact point id over 255 bytes';
  const pending = s.pendingPrekey;
  if (pending) {
    if (![pending.signedPrekeyId, pending.oneTimePrekeyId, pending.kem?.prekeyId].every(isU32)) {
      return 'a prekey id is not a u32';
    }
    if (pending.kem && pending.kem.ciphertext.length > U16_MAX) return 'KEM ciphertext too long';
  }
  if (!r.oldChains.every((chain) => CHAIN_NAME.test(chain))) return 'a chain name is not 32 bytes of hex';
  for (const [id, key] of r.skipped) {
    if (key.length !== KEY) return 'a key is not 32 bytes';
    // 64 hex digits, ":", and up to 10 digits: only a 10-digit n can pass a u32.
    if (!SKIPPED_ID.test(id) || (id.length === 75 && Number(id.slice(65)) > U32_MAX)) {
      return 'a skipped key id is not chain:n';
    }
  }
  return undefined;
}

/** The ratchet's limits, and no state it never makes; for well-shaped fields (shapeProblem). */
function ratchetProblem(s: SessionState): string | undefined {
  const r = s.ratchet;
  // A receiving chain without its key; the sending half waiting (ratchet.ts: no sending chain
  // beside a receiving key) other than after a receiving step; messages counted on a chain that
  // does not exist.
  if (r.receivingChainKey && !r.receivingKey) return 'a receiving chain without its key';
  if (!r.sendingChainKey && r.receivingKey && !r.receivingChainKey) return 'no chain at all beside a receiving key';
  if ((!r.sendingChainKey && r.sendingN !== 0) || (!r.receivingChainKey && r.receivingN !== 0)) {
    return 'messages counted on a chain that does not exist';
  }
  if (r.oldChains.length > MAX_OLD_CHAINS) return 'more chains left behind than a session keeps';
  if (r.skipped.size > MAX_SKIPPED_TOTAL) return 'more skipped keys than a session keeps';
  // By chain only when the total could break the limit (a skipped key id begins with its chain's 64 hex digits).
  if (r.skipped.size > MAX_SKIPPED_PER_CHAIN) {
    const perChain = new Map<string, number>();
    for (const id of r.skipped.keys()) {
      const chain = id.slice(0, 64);
      const count = (perChain.get(chain) ?? 0) + 1;
      if (count > MAX_SKIPPED_PER_CHAIN) return 'more skipped keys in a chain than a session keeps';
      perChain.set(chain, count);
    }
  }
  return undefined;
}

/** Refuses a record read that breaks what a session holds; `binary`: its fields are well-shaped by construction. */
function checked(record: SessionRecord, { binary }: { binary: boolean }): SessionRecord {
  if (record.previous.length > MAX_PREVIOUS_SESSIONS) corrupt('too many previous sessions');
  for (const s of [record.current, ...record.previous]) {
    const why = s && (binary ? ratchetProblem(s) : stateProblem(s));
    if (why) corrupt(why);
  }
  return record;
}

// Records written before hybrid sessions have no version: they are classical.
function sessionVersion(value: unknown): SessionVersion {
  if (value === undefined) return CLASSICAL_VERSION;
  return value === CLASSICAL_VERSION || value === HYBRID_VERSION ? value : corrupt();
}

// The ratchet keeps one key per skipped message: a record naming one twice was not written by it.
function skippedOnce(entries: [string, Uint8Array][]): Map<string, Uint8Array> {
  const skipped = new Map(entries);
  if (skipped.size !== entries.length) corrupt('a skipped key twice');
  return skipped;
}

function deserializeJsonState(value: unknown): SessionState {
  const s = object(value);
  const r = object(s.ratchet);
  const pending = s.pendingPrekey === null ? undefined : object(s.pendingPrekey);
  const pendingKem = pending?.kem === undefined ? undefined : object(pending.kem);
  const peer = object(s.peer);
  return {
    version: sessionVersion(s.version),
    ratchet: {
      rootKey: jsonBytes(r.rootKey),
      sendingKeyPair: { publicKey: jsonBytes(r.sendingPublic), privateKey: jsonBytes(r.sendingPrivate) },
      sendingChainKey: maybeBytes(r.sendingChainKey),
      sendingN: count(r.sendingN),
      previousSendingN: count(r.previousSendingN),
      receivingKey: maybeBytes(r.receivingKey),
      receivingChainKey: maybeBytes(r.receivingChainKey),
      receivingN: count(r.receivingN),
      skipped: skippedOnce(
        list(r.skipped).map((entry) => {
          const [id, key] = list(entry);
          return [typeof id === 'string' ? id : corrupt(), jsonBytes(key)];
        }),
      ),
      oldChains: list(r.oldChains).map((c) => (typeof c === 'string' ? c : corrupt())),
    },
    associatedData: jsonBytes(s.associatedData),
    remoteIdentityKey: jsonBytes(s.remoteIdentityKey),
    peer: {
      contactPointId: typeof peer.contactPointId === 'string' ? peer.contactPointId : corrupt(),
      accountKey: jsonBytes(peer.accountKey),
    },
    baseKey: jsonBytes(s.baseKey),
    ...(pending && {
      pendingPrekey: {
        signedPrekeyId: count(pending.signedPrekeyId),
        ...(pending.oneTimePrekeyId !== undefined && { oneTimePrekeyId: count(pending.oneTimePrekeyId) }),
        ...(pendingKem && {
          kem: { prekeyId: count(pendingKem.prekeyId), ciphertext: jsonBytes(pendingKem.ciphertext) },
        }),
      },
    }),
  };
}

/** The JSON form written before the binary one: records in key stores from then are still read. */
function deserializeJsonRecord(data: Uint8Array): SessionRecord {
  let json: Record<string, unknown>;
  try {
    json = object(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data)));
  } catch {
    corrupt();
  }
  if (json.version === 1) return { previous: [] };
  if (json.version !== JSON_RECORD_VERSION) corrupt();
  return checked(
    {
      ...(json.current !== null && { current: deserializeJsonState(json.current) }),
      previous: list(json.previous).map(deserializeJsonState),
    },
    { binary: false },
  );
}

/*
 * The binary form, written on every message (issue 25: the JSON form cost more than a ratchet
 * step's hashing). Big-endian, every length explicit, every key 32 bytes:
 *
 *   record:  "LSR" | format 3 u8 | has current u8 (0/1) | previous sessions u8 | the sessions
 *   session: version u8 | flags u8 | root key | sending public key | sending private key |
 *            [sending chain key] | sending n u32 | previous sending n u32 | [receiving key] |
 *            [receiving chain key] | receiving n u32 | associated data u16-length-prefixed |
 *            remote identity key | contact point id u8-length-prefixed UTF-8 | account key |
 *            base key | [pending prekey: signed prekey id u32 | [one-time prekey id u32] |
 *            [KEM prekey id u32 | KEM ciphertext u16-length-prefixed]] |
 *            old chains u8 | their receiving keys | skipped keys u16 | each: chain key 32 | n u32 | message key
 *
 * Flags say which bracketed parts are present. Anything else (an unknown format or flag, a
 * count over its limit, bytes short or left over, a contact point id that is not UTF-8) is
 * refused whole, as a corrupt JSON record always was.
 */
const MAGIC = [0x4c, 0x53, 0x52]; // "LSR"; a JSON record starts with "{"
const BINARY_FORMAT = 3;
const FLAG = {
  sendingChainKey: 1,
  receivingKey: 2,
  receivingChainKey: 4,
  pendingPrekey: 8,
  oneTimePrekey: 16,
  kem: 32,
} as const;
const KNOWN_FLAGS = 63;

/** Writes into a buffer of the record's exact size, counted first (no growing, no copy of key material). */
class Writer {
  private readonly buffer: Uint8Array;
  private readonly view: DataView;
  private length = 0;
  constructor(size: number) {
    this.buffer = new Uint8Array(size);
    this.view = new DataView(this.buffer.buffer);
  }
  u8(value: number): void {
    this.view.setUint8(this.length++, value);
  }
  u16(value: number): void {
    if (!(Number.isInteger(value) && value >= 0 && value <= U16_MAX)) unwritable('u16 out of range');
    this.view.setUint16(this.length, value);
    this.length += 2;
  }
  u32(value: number): void {
    if (!isU32(value)) unwritable('u32 out of range');
    this.view.setUint32(this.length, value);
    this.length += 4;
  }
  raw(bytes: Uint8Array): void {
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }
  key(bytes: Uint8Array): void {
    if (bytes.length !== KEY) unwritable('a key is not 32 bytes');
    this.raw(bytes);
  }
  finish(): Uint8Array {
    if (this.length !== this.buffer.length) unwritable('size miscounted');
    return this.buffer;
  }
}

/** The bytes writeState writes for `s`, and its contact point id's UTF-8. */
function stateSize(s: SessionState, contactPointId: Uint8Array): number {
  const r = s.ratchet;
  const pending = s.pendingPrekey;
  return (
    2 +
    3 * KEY +
    (r.sendingChainKey ? KEY : 0) +
    8 +
    (r.receivingKey ? KEY : 0) +
    (r.receivingChainKey ? KEY : 0) +
    4 +
    2 +
    s.associatedData.length +
    KEY +
    1 +
    contactPointId.length +
    2 * KEY +
    (pending
      ? 4 + (pending.oneTimePrekeyId !== undefined ? 4 : 0) + (pending.kem ? 6 + pending.kem.ciphertext.length : 0)
      : 0) +
    1 +
    r.oldChains.length * KEY +
    2 +
    r.skipped.size * (2 * KEY + 4)
  );
}

class Reader {
  private offset = 0;
  private readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private take(n: number): number {
    const at = this.offset;
    if (at + n > this.bytes.length) corrupt();
    this.offset += n;
    return at;
  }
  u8(): number {
    return this.view.getUint8(this.take(1));
  }
  u16(): number {
    return this.view.getUint16(this.take(2));
  }
  u32(): number {
    return this.view.getUint32(this.take(4));
  }
  raw(n: number): Uint8Array {
    const at = this.take(n);
    return this.bytes.slice(at, at + n);
  }
  key(): Uint8Array {
    return this.raw(KEY);
  }
  end(): void {
    if (this.offset !== this.bytes.length) corrupt();
  }
}

// ignoreBOM: a leading byte order mark stays part of the id, so the id re-encodes to the same bytes.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Chains are named by the hex of their receiving key in memory (ratchet.ts); 32 raw bytes stored.
function chainBytes(name: string): Uint8Array {
  const bytes = fromHex(name);
  if (bytes?.length !== KEY) unwritable('a chain name is not 32 bytes of hex');
  return bytes;
}

function writeState(w: Writer, s: SessionState, contactPointId: Uint8Array): void {
  const r = s.ratchet;
  const pending = s.pendingPrekey;
  w.u8(s.version);
  w.u8(
    (r.sendingChainKey ? FLAG.sendingChainKey : 0) |
      (r.receivingKey ? FLAG.receivingKey : 0) |
      (r.receivingChainKey ? FLAG.receivingChainKey : 0) |
      (pending ? FLAG.pendingPrekey : 0) |
      (pending?.oneTimePrekeyId !== undefined ? FLAG.oneTimePrekey : 0) |
      (pending?.kem ? FLAG.kem : 0),
  );
  w.key(r.rootKey);
  w.key(r.sendingKeyPair.publicKey);
  w.key(r.sendingKeyPair.privateKey);
  if (r.sendingChainKey) w.key(r.sendingChainKey);
  w.u32(r.sendingN);
  w.u32(r.previousSendingN);
  if (r.receivingKey) w.key(r.receivingKey);
  if (r.receivingChainKey) w.key(r.receivingChainKey);
  w.u32(r.receivingN);
  w.u16(s.associatedData.length);
  w.raw(s.associatedData);
  w.key(s.remoteIdentityKey);
  if (contactPointId.length > 255) unwritable('contact point id over 255 bytes');
  w.u8(contactPointId.length);
  w.raw(contactPointId);
  w.key(s.peer.accountKey);
  w.key(s.baseKey);
  if (pending) {
    w.u32(pending.signedPrekeyId);
    if (pending.oneTimePrekeyId !== undefined) w.u32(pending.oneTimePrekeyId);
    if (pending.kem) {
      w.u32(pending.kem.prekeyId);
      w.u16(pending.kem.ciphertext.length);
      w.raw(pending.kem.ciphertext);
    }
  }
  w.u8(r.oldChains.length);
  for (const chain of r.oldChains) w.raw(chainBytes(chain));
  w.u16(r.skipped.size);
  for (const [id, messageKey] of r.skipped) {
    const colon = id.indexOf(':');
    w.raw(chainBytes(id.slice(0, colon)));
    w.u32(Number(id.slice(colon + 1)));
    w.key(messageKey);
  }
}

function readState(r: Reader): SessionState {
  const version = r.u8();
  if (version !== CLASSICAL_VERSION && version !== HYBRID_VERSION) corrupt();
  const flags = r.u8();
  if (flags & ~KNOWN_FLAGS) corrupt();
  const has = (flag: number) => (flags & flag) !== 0;
  if (!has(FLAG.pendingPrekey) && (has(FLAG.oneTimePrekey) || has(FLAG.kem))) corrupt();
  const rootKey = r.key();
  const sendingKeyPair = { publicKey: r.key(), privateKey: r.key() };
  const sendingChainKey = has(FLAG.sendingChainKey) ? r.key() : null;
  const sendingN = r.u32();
  const previousSendingN = r.u32();
  const receivingKey = has(FLAG.receivingKey) ? r.key() : null;
  const receivingChainKey = has(FLAG.receivingChainKey) ? r.key() : null;
  const receivingN = r.u32();
  const associatedData = r.raw(r.u16());
  const remoteIdentityKey = r.key();
  let contactPointId: string;
  try {
    contactPointId = strictUtf8.decode(r.raw(r.u8()));
  } catch {
    corrupt();
  }
  const peer = { contactPointId, accountKey: r.key() };
  const baseKey = r.key();
  let pendingPrekey: PendingPrekey | undefined;
  if (has(FLAG.pendingPrekey)) {
    pendingPrekey = { signedPrekeyId: r.u32() };
    if (has(FLAG.oneTimePrekey)) pendingPrekey.oneTimePrekeyId = r.u32();
    if (has(FLAG.kem)) pendingPrekey.kem = { prekeyId: r.u32(), ciphertext: r.raw(r.u16()) };
  }
  const oldChains: string[] = [];
  const oldChainCount = r.u8();
  if (oldChainCount > MAX_OLD_CHAINS) corrupt();
  for (let n = oldChainCount; n > 0; n--) oldChains.push(toHex(r.key()));
  const skippedCount = r.u16();
  if (skippedCount > MAX_SKIPPED_TOTAL) corrupt();
  const skipped = new Map<string, Uint8Array>();
  for (let i = 0; i < skippedCount; i++) {
    const chain = toHex(r.key());
    const n = r.u32();
    skipped.set(`${chain}:${n}`, r.key());
  }
  if (skipped.size !== skippedCount) corrupt('a skipped key twice');
  return {
    version,
    ratchet: {
      rootKey,
      sendingKeyPair,
      sendingChainKey,
      sendingN,
      previousSendingN,
      receivingKey,
      receivingChainKey,
      receivingN,
      skipped,
      oldChains,
    },
    associatedData,
    remoteIdentityKey,
    peer,
    baseKey,
    ...(pendingPrekey && { pendingPrekey }),
  };
}

/** The record in its binary form (above), the only form written. */
export function serializeSessionRecord(record: SessionRecord): Uint8Array {
  if (record.previous.length > MAX_PREVIOUS_SESSIONS) unwritable('too many previous sessions');
  const states = record.current ? [record.current, ...record.previous] : record.previous;
  for (const s of states) {
    const why = stateProblem(s);
    if (why) unwritable(why);
  }
  const ids = states.map((s) => utf8.encode(s.peer.contactPointId));
  const w = new Writer(states.reduce((n, s, i) => n + stateSize(s, ids[i] as Uint8Array), 6));
  for (const b of MAGIC) w.u8(b);
  w.u8(BINARY_FORMAT);
  w.u8(record.current ? 1 : 0);
  w.u8(record.previous.length);
  for (const [i, s] of states.entries()) writeState(w, s, ids[i] as Uint8Array);
  return w.finish();
}

/**
 * Reads a record in either form: binary, or JSON as written before it (rewritten in binary on
 * the next save). Throws KEY_STORE_UNREADABLE on anything else (malformed, or a newer SDK's format).
 */
export function deserializeSessionRecord(data: Uint8Array): SessionRecord {
  if (data[0] === 0x7b) return deserializeJsonRecord(data);
  if (data.length < 6 || data[0] !== MAGIC[0] || data[1] !== MAGIC[1] || data[2] !== MAGIC[2]) corrupt();
  if (data[3] !== BINARY_FORMAT) {
    // A newer SDK's record: this one cannot read it (the binary form is one-way, docs/crypto.md).
    throw new LiaisonError('KEY_STORE_UNREADABLE', `stored session record is of an unknown format (${data[3]})`);
  }
  const r = new Reader(data);
  r.raw(4);
  const hasCurrent = r.u8();
  if (hasCurrent > 1) corrupt();
  const previousCount = r.u8();
  if (previousCount > MAX_PREVIOUS_SESSIONS) corrupt();
  const current = hasCurrent ? readState(r) : undefined;
  const previous: SessionState[] = [];
  for (let i = 0; i < previousCount; i++) previous.push(readState(r));
  r.end();
  return checked({ ...(current && { current }), previous }, { binary: true });
}
