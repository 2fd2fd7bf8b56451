import { decodeBase64url, encodeBase64url } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import { equalBytes } from './bytes.js';
import type { RatchetState } from './ratchet.js';
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

// Version 1 sessions were not bound to contact points: they are dropped when read, and new ones start.
const RECORD_VERSION = 2;

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

const b64 = encodeBase64url;

function serializeState(s: SessionState) {
  const r = s.ratchet;
  const pending = s.pendingPrekey;
  return {
    version: s.version,
    ratchet: {
      rootKey: b64(r.rootKey),
      sendingPublic: b64(r.sendingKeyPair.publicKey),
      sendingPrivate: b64(r.sendingKeyPair.privateKey),
      sendingChainKey: r.sendingChainKey && b64(r.sendingChainKey),
      sendingN: r.sendingN,
      previousSendingN: r.previousSendingN,
      receivingKey: r.receivingKey && b64(r.receivingKey),
      receivingChainKey: r.receivingChainKey && b64(r.receivingChainKey),
      receivingN: r.receivingN,
      skipped: [...r.skipped].map(([id, key]) => [id, b64(key)]),
      oldChains: r.oldChains,
    },
    associatedData: b64(s.associatedData),
    remoteIdentityKey: b64(s.remoteIdentityKey),
    peer: { contactPointId: s.peer.contactPointId, accountKey: b64(s.peer.accountKey) },
    baseKey: b64(s.baseKey),
    pendingPrekey: pending
      ? {
          signedPrekeyId: pending.signedPrekeyId,
          ...(pending.oneTimePrekeyId !== undefined && { oneTimePrekeyId: pending.oneTimePrekeyId }),
          ...(pending.kem && { kem: { prekeyId: pending.kem.prekeyId, ciphertext: b64(pending.kem.ciphertext) } }),
        }
      : null,
  };
}

export function serializeSessionRecord(record: SessionRecord): Uint8Array {
  const json = {
    version: RECORD_VERSION,
    current: record.current ? serializeState(record.current) : null,
    previous: record.previous.map(serializeState),
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

// The record comes from the device's own key store; a malformed one means corruption, and is refused whole.
function corrupt(): never {
  throw new LiaisonError('DECRYPT_FAILED', 'stored session record is corrupt');
}
function bytes(value: unknown): Uint8Array {
  const decoded = typeof value === 'string' ? decodeBase64url(value) : undefined;
  return decoded ?? corrupt();
}
function maybeBytes(value: unknown): Uint8Array | null {
  return value === null ? null : bytes(value);
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

// Records written before hybrid sessions have no version: they are classical.
function sessionVersion(value: unknown): SessionVersion {
  if (value === undefined) return CLASSICAL_VERSION;
  return value === CLASSICAL_VERSION || value === HYBRID_VERSION ? value : corrupt();
}

function deserializeState(value: unknown): SessionState {
  const s = object(value);
  const r = object(s.ratchet);
  const pending = s.pendingPrekey === null ? undefined : object(s.pendingPrekey);
  const pendingKem = pending?.kem === undefined ? undefined : object(pending.kem);
  const peer = object(s.peer);
  return {
    version: sessionVersion(s.version),
    ratchet: {
      rootKey: bytes(r.rootKey),
      sendingKeyPair: { publicKey: bytes(r.sendingPublic), privateKey: bytes(r.sendingPrivate) },
      sendingChainKey: maybeBytes(r.sendingChainKey),
      sendingN: count(r.sendingN),
      previousSendingN: count(r.previousSendingN),
      receivingKey: maybeBytes(r.receivingKey),
      receivingChainKey: maybeBytes(r.receivingChainKey),
      receivingN: count(r.receivingN),
      skipped: new Map(
        list(r.skipped).map((entry) => {
          const [id, key] = list(entry);
          return [typeof id === 'string' ? id : corrupt(), bytes(key)];
        }),
      ),
      oldChains: list(r.oldChains).map((c) => (typeof c === 'string' ? c : corrupt())),
    },
    associatedData: bytes(s.associatedData),
    remoteIdentityKey: bytes(s.remoteIdentityKey),
    peer: {
      contactPointId: typeof peer.contactPointId === 'string' ? peer.contactPointId : corrupt(),
      accountKey: bytes(peer.accountKey),
    },
    baseKey: bytes(s.baseKey),
    ...(pending && {
      pendingPrekey: {
        signedPrekeyId: count(pending.signedPrekeyId),
        ...(pending.oneTimePrekeyId !== undefined && { oneTimePrekeyId: count(pending.oneTimePrekeyId) }),
        ...(pendingKem && { kem: { prekeyId: count(pendingKem.prekeyId), ciphertext: bytes(pendingKem.ciphertext) } }),
      },
    }),
  };
}

export function deserializeSessionRecord(data: Uint8Array): SessionRecord {
  let json: Record<string, unknown>;
  try {
    json = object(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data)));
  } catch {
    corrupt();
  }
  if (json.version === 1) return { previous: [] };
  if (json.version !== RECORD_VERSION) corrupt();
  return {
    ...(json.current !== null && { current: deserializeState(json.current) }),
    previous: list(json.previous).map(deserializeState),
  };
}
