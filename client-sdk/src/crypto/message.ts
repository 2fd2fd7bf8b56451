import { LiaisonError } from '../errors.js';
import { concat, u32 } from './bytes.js';
import { decodeHeader, HEADER_LENGTH, type RatchetHeader } from './ratchet.js';
import { CLASSICAL_VERSION, HYBRID_VERSION, KEM_CIPHERTEXT_LENGTH, type SessionVersion } from './x3dh.js';

/**
 * The bytes of an envelope's ciphertext:
 *
 *   version u8 (the session's: 1 classical, 2 hybrid) | type u8 (1 message, 2 prekey message)
 *   [prekey message: initiator identity key 32 | ephemeral (base) key 32 | signed prekey id u32 |
 *                    has one-time prekey u8 | one-time prekey id u32 if present
 *    version 2 only: KEM prekey id u32 | ML-KEM-768 ciphertext 1088]
 *   ratchet header: ratchet key 32 | previous chain length u32 | message number u32
 *   AEAD ciphertext (XChaCha20-Poly1305; at least the 16-byte tag)
 *
 * Everything before the AEAD ciphertext is authenticated as associated data.
 */

const TYPE_MESSAGE = 1;
const TYPE_PREKEY_MESSAGE = 2;
const TAG_LENGTH = 16;

export interface PrekeyHeader {
  identityKey: Uint8Array;
  baseKey: Uint8Array;
  signedPrekeyId: number;
  oneTimePrekeyId?: number;
  /** Version 2 (hybrid) only. */
  kem?: { prekeyId: number; ciphertext: Uint8Array };
}

export interface ParsedMessage {
  version: SessionVersion;
  prekey?: PrekeyHeader;
  header: RatchetHeader;
  /** Every byte before the ciphertext: bound by the AEAD. */
  authenticatedPrefix: Uint8Array;
  ciphertext: Uint8Array;
}

export function messagePrefix(
  version: SessionVersion,
  prekey: PrekeyHeader | undefined,
  header: Uint8Array,
): Uint8Array {
  if (!prekey) return concat(Uint8Array.of(version, TYPE_MESSAGE), header);
  if ((version === HYBRID_VERSION) !== (prekey.kem !== undefined)) {
    throw new LiaisonError('INVALID_INPUT', 'a hybrid prekey message carries a KEM ciphertext, a classical one none');
  }
  const oneTime =
    prekey.oneTimePrekeyId === undefined ? Uint8Array.of(0) : concat(Uint8Array.of(1), u32(prekey.oneTimePrekeyId));
  const kem = prekey.kem ? concat(u32(prekey.kem.prekeyId), prekey.kem.ciphertext) : new Uint8Array(0);
  return concat(
    Uint8Array.of(version, TYPE_PREKEY_MESSAGE),
    prekey.identityKey,
    prekey.baseKey,
    u32(prekey.signedPrekeyId),
    oneTime,
    kem,
    header,
  );
}

export function parseMessage(bytes: Uint8Array): ParsedMessage {
  const invalid = (why: string) => new LiaisonError('INVALID_MESSAGE', `not a Liaison message: ${why}`);
  if (bytes.length < 2) throw invalid('too short');
  const version = bytes[0];
  if (version !== CLASSICAL_VERSION && version !== HYBRID_VERSION) {
    throw new LiaisonError('UNSUPPORTED_VERSION', `message version ${version}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 2;
  let prekey: PrekeyHeader | undefined;
  if (bytes[1] === TYPE_PREKEY_MESSAGE) {
    if (bytes.length < offset + 69) throw invalid('truncated prekey header');
    const identityKey = bytes.slice(offset, offset + 32);
    const baseKey = bytes.slice(offset + 32, offset + 64);
    const signedPrekeyId = view.getUint32(offset + 64);
    const hasOneTime = bytes[offset + 68];
    offset += 69;
    if (hasOneTime === 1) {
      if (bytes.length < offset + 4) throw invalid('truncated prekey header');
      prekey = { identityKey, baseKey, signedPrekeyId, oneTimePrekeyId: view.getUint32(offset) };
      offset += 4;
    } else if (hasOneTime === 0) {
      prekey = { identityKey, baseKey, signedPrekeyId };
    } else {
      throw invalid('bad one-time prekey flag');
    }
    if (version === HYBRID_VERSION) {
      if (bytes.length < offset + 4 + KEM_CIPHERTEXT_LENGTH) throw invalid('truncated KEM ciphertext');
      prekey.kem = {
        prekeyId: view.getUint32(offset),
        ciphertext: bytes.slice(offset + 4, offset + 4 + KEM_CIPHERTEXT_LENGTH),
      };
      offset += 4 + KEM_CIPHERTEXT_LENGTH;
    }
  } else if (bytes[1] !== TYPE_MESSAGE) {
    throw invalid('unknown message type');
  }
  if (bytes.length < offset + HEADER_LENGTH + TAG_LENGTH) throw invalid('truncated');
  const header = decodeHeader(bytes.slice(offset, offset + HEADER_LENGTH));
  offset += HEADER_LENGTH;
  return {
    version,
    ...(prekey ? { prekey } : {}),
    header,
    authenticatedPrefix: bytes.slice(0, offset),
    ciphertext: bytes.slice(offset),
  };
}
