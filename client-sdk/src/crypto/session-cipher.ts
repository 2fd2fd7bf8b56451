import { decodeBase64url } from '@liaison/protocol';
import { isLiaisonError, LiaisonError } from '../errors.js';
import type { KeyStore } from '../key-store/key-store.js';
import { concat, equalBytes, wipe } from './bytes.js';
import { type IdentityKeyPair, kemKeyPair } from './keys.js';
import { messagePrefix, type ParsedMessage, parseMessage } from './message.js';
import { initiatorState, ratchetDecrypt, ratchetEncrypt, responderState } from './ratchet.js';
import {
  boundTo,
  deserializeSessionRecord,
  promote,
  type SessionRecord,
  type SessionState,
  serializeSessionRecord,
  wipeRecord,
} from './session-record.js';
import {
  type ContactPointBinding,
  HYBRID_VERSION,
  type RemoteBundle,
  type SessionVersion,
  x3dhInitiate,
  x3dhRespond,
} from './x3dh.js';

export interface EncryptedMessage {
  kind: 'prekey-message' | 'message';
  body: Uint8Array;
}

/** A remote device, and the contact point (verified by the caller) it speaks for. */
export interface SessionPeer extends ContactPointBinding {
  deviceId: string;
}

/**
 * Encrypts to and decrypts from remote devices, one session record per device id (a device id is
 * the device's Ed25519 identity key). Every session is bound to both contact points, this one's
 * and the peer's: a session serves only the contact point it was made with. Operations on one
 * device are serialised; a record is saved before the call returns, and a failed decrypt saves
 * nothing.
 *
 * One SessionCipher per key store at a time. Operations are serialised within a cipher, not
 * between two: two ciphers on one store encrypting at once would both take the same chain key and
 * send two messages under one key and nonce. Two that take turns (a restart, a store restored)
 * are safe. The key stores have one owner (IndexedDbKeyStore: a Web Lock; FileKeyStore: one
 * process per file, the application's rule).
 */
export class SessionCipher {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly decoded = new Map<string, { bytes: Uint8Array; record: SessionRecord }>();
  // Counts forget() calls: a save under way when one happens does not keep its record.
  private forgotten = 0;

  /** `owner`: the contact point this key store's device speaks for. */
  constructor(
    private readonly store: KeyStore,
    private readonly owner: ContactPointBinding,
  ) {}

  /**
   * Wipes the records kept decoded (load), their bytes and every key in them, as the key store's
   * own close wipes what it holds: LiaisonClient.close() calls it, so a lock screen leaves no
   * session secret behind in the cipher either. The cipher goes on working after it, reading
   * records from the store again. An operation under way keeps the record it works on until it ends.
   */
  forget(): void {
    this.forgotten += 1;
    for (const { bytes, record } of this.decoded.values()) {
      wipe(bytes);
      wipeRecord(record);
    }
    this.decoded.clear();
  }

  /**
   * Whether a session with this device, made with this contact point, is ready to encrypt. A
   * classical session with a device known to speak hybrid sessions is not: the next message starts
   * a hybrid one from a new bundle.
   */
  async hasSession(peer: SessionPeer): Promise<boolean> {
    const { current } = await this.load(peer.deviceId, { readOnly: true });
    return current !== undefined && (await this.usable(current, peer));
  }

  /**
   * Records that these devices speak hybrid sessions (their verified certificates say so), for
   * good: from then on no bundle without a KEM prekey is accepted for them, whatever certificate a
   * relay shows later (an older one, from before the device was certified for hybrid sessions),
   * and a classical session with them is replaced by a hybrid one.
   */
  async rememberHybrid(deviceIds: Iterable<string>): Promise<void> {
    for (const deviceId of deviceIds) {
      if (!(await this.speaksHybrid(deviceId))) await this.store.setState(hybridKey(deviceId), '1');
    }
  }

  /** Whether this device was recorded as speaking hybrid sessions (`rememberHybrid`, or a hybrid session either way). */
  async speaksHybrid(deviceId: string): Promise<boolean> {
    return (await this.store.getState(hybridKey(deviceId))) !== undefined;
  }

  /**
   * The version of the session that encrypts for this device now: 2 hybrid (post-quantum initial
   * agreement), 1 classical (a device that predates hybrid sessions), undefined when none.
   */
  async sessionVersion(peer: SessionPeer): Promise<SessionVersion | undefined> {
    const { current } = await this.load(peer.deviceId, { readOnly: true });
    return current && boundTo(current, peer) ? current.version : undefined;
  }

  /**
   * Encrypts for one device. With no session yet with it as `peer`'s device (or only a classical
   * one with a device known to speak hybrid sessions), starts one from `bundle`, whose signed
   * prekey (and KEM prekey) must carry a valid signature by the device's identity key (the device
   * id). A bundle of a device known to speak hybrid sessions must have a KEM prekey.
   */
  encrypt(peer: SessionPeer, plaintext: Uint8Array, bundle?: RemoteBundle): Promise<EncryptedMessage> {
    const { deviceId } = peer;
    return this.serialised(deviceId, async () => {
      let record = await this.load(deviceId);
      if (bundle?.requiresHybrid) await this.rememberHybrid([deviceId]);
      if (!record.current || !(await this.usable(record.current, peer))) {
        if (!bundle) throw new LiaisonError('NO_SESSION', 'no session with this device and no prekey bundle');
        const parties = { initiator: this.owner, responder: peer };
        const required = { ...bundle, requiresHybrid: bundle.requiresHybrid || (await this.speaksHybrid(deviceId)) };
        record = promote(record, startSession(await this.identity(), remoteIdentity(deviceId), required, parties));
      }
      const state = record.current as SessionState;
      if (state.version === HYBRID_VERSION) await this.rememberHybrid([deviceId]);
      // The identity key is read only for the messages that repeat the X3DH header (it is copied out of the store).
      const prekey = state.pendingPrekey && {
        identityKey: (await this.identity()).publicKey,
        baseKey: state.baseKey,
        ...state.pendingPrekey,
      };
      let prefix: Uint8Array = new Uint8Array(0);
      const { ciphertext } = ratchetEncrypt(state.ratchet, plaintext, (header) => {
        prefix = messagePrefix(state.version, prekey, header);
        return concat(state.associatedData, prefix);
      });
      await this.save(deviceId, record);
      return { kind: prekey ? 'prekey-message' : 'message', body: concat(prefix, ciphertext) };
    });
  }

  /**
   * Decrypts a message from one device. `beforeCommit`, when given, runs with the plaintext
   * before the session is saved: an application that stores the plaintext there cannot lose a
   * message to a crash between decrypting it and handling it.
   */
  decrypt(
    peer: SessionPeer,
    body: Uint8Array,
    beforeCommit?: (plaintext: Uint8Array) => Promise<void>,
  ): Promise<Uint8Array> {
    const { deviceId } = peer;
    return this.serialised(deviceId, async () => {
      const message = parseMessage(body);
      const record = await this.load(deviceId);
      const sessions = [record.current, ...record.previous].filter((s): s is SessionState => s !== undefined);
      // A session made with another contact point never decrypts for this one: that is the unknown key-share.
      const candidates = sessions.filter((s) => boundTo(s, peer));

      if (message.prekey) {
        if (!equalBytes(message.prekey.identityKey, remoteIdentity(deviceId))) {
          throw new LiaisonError('UNTRUSTED_IDENTITY', 'prekey message names an identity other than its device');
        }
        const baseKey = message.prekey.baseKey;
        const existing = candidates.find((s) => equalBytes(s.baseKey, baseKey));
        if (!existing) return this.acceptNewSession(peer, record, message, beforeCommit);
        return this.commit(deviceId, record, decryptWith(existing, message), beforeCommit);
      }

      const failures: LiaisonError[] = [];
      for (const state of candidates) {
        let result: ReturnType<typeof decryptWith>;
        try {
          result = decryptWith(state, message);
        } catch (error) {
          if (!isLiaisonError(error)) throw error;
          failures.push(error);
          continue;
        }
        return this.commit(deviceId, record, result, beforeCommit);
      }
      if (candidates.length === 0 && sessions.length > 0) {
        throw new LiaisonError('UNTRUSTED_IDENTITY', 'this device has a session only with another contact point');
      }
      throw mostTelling(failures);
    });
  }

  private async acceptNewSession(
    peer: SessionPeer,
    record: SessionRecord,
    message: ParsedMessage,
    beforeCommit: ((plaintext: Uint8Array) => Promise<void>) | undefined,
  ): Promise<Uint8Array> {
    const prekey = message.prekey as NonNullable<ParsedMessage['prekey']>;
    const identity = await this.identity();
    const signedPrekey = (await this.store.getSignedPrekeys()).find((p) => p.id === prekey.signedPrekeyId);
    if (!signedPrekey) throw new LiaisonError('MISSING_PREKEY', 'the signed prekey this message uses is gone');
    const oneTimePrekey =
      prekey.oneTimePrekeyId === undefined ? undefined : await this.store.getOneTimePrekey(prekey.oneTimePrekeyId);
    if (prekey.oneTimePrekeyId !== undefined && !oneTimePrekey) {
      throw new LiaisonError('MISSING_PREKEY', 'the one-time prekey this message uses was already used');
    }
    const kemPrekey = prekey.kem && (await this.store.getKemPrekey(prekey.kem.prekeyId));
    if (prekey.kem && !kemPrekey) {
      throw new LiaisonError('MISSING_PREKEY', 'the KEM prekey this message uses was already used, or is gone');
    }
    const { version, sharedKey, associatedData } = x3dhRespond(
      identity,
      {
        signedPrekey,
        ...(oneTimePrekey && { oneTimePrekey }),
        ...(kemPrekey && prekey.kem && { kem: { keyPair: kemKeyPair(kemPrekey), ciphertext: prekey.kem.ciphertext } }),
      },
      prekey.identityKey,
      prekey.baseKey,
      { initiator: peer, responder: this.owner },
    );
    const state: SessionState = {
      version,
      ratchet: responderState(sharedKey, signedPrekey),
      associatedData,
      remoteIdentityKey: prekey.identityKey,
      peer: binding(peer),
      baseKey: prekey.baseKey,
    };
    const plaintext = await this.commit(peer.deviceId, record, decryptWith(state, message), beforeCommit);
    if (kemPrekey) wipe(kemPrekey.seed);
    // Only once the session is saved: a crash before this leaves an unused prekey, never a lost session.
    if (oneTimePrekey) await this.store.removeOneTimePrekey(oneTimePrekey.id);
    if (kemPrekey && !kemPrekey.lastResort) await this.store.removeKemPrekey(kemPrekey.id);
    // A device that started a hybrid session speaks them: it is never reached classically again.
    if (version === HYBRID_VERSION) await this.rememberHybrid([peer.deviceId]);
    return plaintext;
  }

  private async commit(
    deviceId: string,
    record: SessionRecord,
    result: { state: SessionState; plaintext: Uint8Array },
    beforeCommit?: (plaintext: Uint8Array) => Promise<void>,
  ): Promise<Uint8Array> {
    if (beforeCommit) await beforeCommit(result.plaintext);
    await this.save(deviceId, promote(record, result.state));
    return result.plaintext;
  }

  /**
   * Whether `state` may encrypt for `peer`: made with its contact point, and hybrid unless the
   * device is not known to speak hybrid sessions.
   */
  private async usable(state: SessionState, peer: SessionPeer): Promise<boolean> {
    if (!boundTo(state, peer)) return false;
    return state.version === HYBRID_VERSION || !(await this.speaksHybrid(peer.deviceId));
  }

  private async identity(): Promise<IdentityKeyPair> {
    const identity = await this.store.getIdentity();
    if (!identity) throw new LiaisonError('NO_IDENTITY', 'the key store has no identity key');
    return identity;
  }

  /**
   * The record as stored. The record this cipher last saved is kept decoded, beside its bytes, and
   * handed out instead of decoding the same bytes again when the store still holds exactly them
   * (a cipher that had the store before this one, in turn, or a restore, may have written since;
   * never one at the same time, see the class). It is handed out once: the caller
   * changes it and saves it, which keeps the new one, or fails and drops it, and then the next
   * load decodes the store's bytes. So a failed decrypt or a failed save changes nothing here either.
   * `readOnly` callers (which read which session is current, never a ratchet) leave it kept.
   */
  private async load(deviceId: string, { readOnly = false } = {}): Promise<SessionRecord> {
    const stored = await this.store.getSession(deviceId);
    const kept = this.decoded.get(deviceId);
    if (!readOnly) this.decoded.delete(deviceId);
    if (!stored) return { previous: [] };
    if (kept && sameBytes(kept.bytes, stored)) return kept.record;
    return deserializeSessionRecord(stored);
  }

  private async save(deviceId: string, record: SessionRecord): Promise<void> {
    const forgotten = this.forgotten;
    const bytes = serializeSessionRecord(record);
    await this.store.putSession(deviceId, bytes);
    if (forgotten !== this.forgotten) return;
    // A copy of the bytes: a key store may keep the array it was given, and forget() wipes this one.
    this.decoded.set(deviceId, { bytes: bytes.slice(), record });
    // The least recently saved go first beyond the limit (a Map iterates in insertion order).
    if (this.decoded.size > DECODED_RECORDS) this.decoded.delete(this.decoded.keys().next().value as string);
  }

  private serialised<T>(deviceId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(deviceId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.queues.set(deviceId, settled);
    void settled.then(() => {
      if (this.queues.get(deviceId) === settled) this.queues.delete(deviceId);
    });
    return next;
  }
}

const hybridKey = (deviceId: string) => `hybrid-device:${deviceId}`;

/** Decoded records kept by a cipher (load), for the devices it last wrote to. */
const DECODED_RECORDS = 64;

// Not constant-time: both are this device's own stored record, which no one else chooses.
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function remoteIdentity(deviceId: string): Uint8Array {
  const key = decodeBase64url(deviceId);
  if (key?.length !== 32) throw new LiaisonError('INVALID_INPUT', 'a device id is a 32-byte Ed25519 key in base64url');
  return key;
}

/** Just the contact point, without the device id, as a session keeps it. */
function binding({ contactPointId, accountKey }: ContactPointBinding): ContactPointBinding {
  return { contactPointId, accountKey: accountKey.slice() };
}

function startSession(
  identity: IdentityKeyPair,
  remoteIdentityKey: Uint8Array,
  bundle: RemoteBundle,
  parties: { initiator: ContactPointBinding; responder: ContactPointBinding },
): SessionState {
  if (!equalBytes(bundle.identityKey, remoteIdentityKey)) {
    throw new LiaisonError('UNTRUSTED_IDENTITY', 'the prekey bundle belongs to another device');
  }
  const { version, sharedKey, associatedData, ephemeralPublicKey, kem } = x3dhInitiate(identity, bundle, parties);
  return {
    version,
    ratchet: initiatorState(sharedKey, bundle.signedPrekey.publicKey),
    associatedData,
    remoteIdentityKey,
    peer: binding(parties.responder),
    baseKey: ephemeralPublicKey,
    pendingPrekey: {
      signedPrekeyId: bundle.signedPrekey.id,
      ...(bundle.oneTimePrekey && { oneTimePrekeyId: bundle.oneTimePrekey.id }),
      ...(kem && { kem }),
    },
  };
}

function decryptWith(state: SessionState, message: ParsedMessage): { state: SessionState; plaintext: Uint8Array } {
  const associatedData = concat(state.associatedData, message.authenticatedPrefix);
  const result = ratchetDecrypt(state.ratchet, message.header, message.ciphertext, associatedData);
  // A reply proves the peer has the session: stop repeating the X3DH header.
  const { pendingPrekey: _, ...rest } = state;
  return { state: { ...rest, ratchet: result.state }, plaintext: result.plaintext };
}

function mostTelling(failures: LiaisonError[]): LiaisonError {
  if (failures.length === 0) return new LiaisonError('NO_SESSION', 'no session with this device');
  for (const code of ['DUPLICATE_MESSAGE', 'TOO_MANY_SKIPPED'] as const) {
    const found = failures.find((f) => f.code === code);
    if (found) return found;
  }
  return new LiaisonError('DECRYPT_FAILED', 'message did not decrypt in any session with this device');
}
