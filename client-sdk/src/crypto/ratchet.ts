import { LiaisonError } from '../errors.js';
import { concat, toHex, u32, wipe } from './bytes.js';
import { hkdfInto, hkdfSha256, hkdfSpace, hmacSha256Each } from './hkdf.js';
import { dh, generateKeyPair, type KeyPair } from './keys.js';
import { inLibsodiumMemory } from './sodium.js';

/**
 * The Double Ratchet (Signal's specification, revision 1): HKDF-SHA-256 root chain,
 * HMAC-SHA-256 message chains, XChaCha20-Poly1305 with the header bound as associated data.
 */

const utf8 = new TextEncoder();
const ROOT_INFO = utf8.encode('Liaison v1 ratchet root');
const MESSAGE_KEY_INFO = utf8.encode('Liaison v1 message key');
const ZERO_SALT = new Uint8Array(32);
// Chain KDF constants as in the specification's recommendation (Signal uses the same bytes).
const MESSAGE_KEY_SEED = Uint8Array.of(0x01);
const CHAIN_KEY_SEED = Uint8Array.of(0x02);

/** Keys kept for messages that have not arrived yet: per message jump, per chain, and in all. */
export const MAX_SKIP = 1000;
export const MAX_SKIPPED_PER_CHAIN = 1000;
export const MAX_SKIPPED_TOTAL = 2000;
/** Receiving chains remembered after a ratchet step, to recognise a replay on an old chain. */
export const MAX_OLD_CHAINS = 8;

export const HEADER_LENGTH = 40;

export interface RatchetHeader {
  /** The sender's current ratchet public key. */
  dh: Uint8Array;
  /** Messages in the sender's previous sending chain. */
  pn: number;
  /** This message's number in the current sending chain. */
  n: number;
}

export interface RatchetState {
  rootKey: Uint8Array;
  sendingKeyPair: KeyPair;
  sendingChainKey: Uint8Array | null;
  sendingN: number;
  previousSendingN: number;
  receivingKey: Uint8Array | null;
  receivingChainKey: Uint8Array | null;
  receivingN: number;
  /** Skipped message keys by `chain:n`, oldest first (Map keeps insertion order). */
  skipped: Map<string, Uint8Array>;
  /** Hex of receiving keys of chains already left behind. */
  oldChains: string[];
}

const hex = toHex;
const skippedId = (chain: Uint8Array, n: number) => `${hex(chain)}:${n}`;

function kdfRoot(rootKey: Uint8Array, dhOutput: Uint8Array): [Uint8Array, Uint8Array] {
  const out = hkdfSha256(dhOutput, rootKey, ROOT_INFO, 64);
  return [out.slice(0, 32), out.slice(32)];
}

function kdfChain(chainKey: Uint8Array): [Uint8Array, Uint8Array] {
  const [next, messageKey] = hmacSha256Each(chainKey, [CHAIN_KEY_SEED, MESSAGE_KEY_SEED]);
  return [next as Uint8Array, messageKey as Uint8Array];
}

/** The AEAD's key and nonce, expanded from a message key; each is used once. */
const MESSAGE_CIPHER_LENGTH = 32 + 24;
const AEAD_TAG_LENGTH = 16;

/**
 * Seals or opens `input` (XChaCha20-Poly1305) with the key and nonce `messageKey` expands to
 * (HKDF), all in one stretch of libsodium's memory: neither the key nor the nonce reaches
 * JavaScript, and the message and its associated data are copied in once. Undefined when what is
 * opened fails authentication.
 */
function messageAead(
  direction: 'seal' | 'open',
  messageKey: Uint8Array,
  input: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array | undefined {
  const output = input.length + (direction === 'seal' ? AEAD_TAG_LENGTH : -AEAD_TAG_LENGTH);
  if (output < 0) return undefined;
  const derivation = hkdfSpace(messageKey, ZERO_SALT, MESSAGE_KEY_INFO);
  const size = MESSAGE_CIPHER_LENGTH + derivation + associatedData.length + input.length + output;
  return inLibsodiumMemory(size, (stretch) => {
    const key = stretch.reserve(MESSAGE_CIPHER_LENGTH);
    hkdfInto(stretch, key, MESSAGE_CIPHER_LENGTH, messageKey, ZERO_SALT, MESSAGE_KEY_INFO);
    const nonce = key + 32;
    const ad = stretch.put(associatedData);
    const from = stretch.put(input);
    const to = stretch.reserve(output);
    const {
      _crypto_aead_xchacha20poly1305_ietf_encrypt: encrypt,
      _crypto_aead_xchacha20poly1305_ietf_decrypt: decrypt,
    } = stretch.module;
    const adLength = associatedData.length;
    const status =
      direction === 'seal'
        ? encrypt(to, 0, from, input.length, 0, ad, adLength, 0, 0, nonce, key)
        : decrypt(to, 0, 0, from, input.length, 0, ad, adLength, 0, nonce, key);
    return status === 0 ? stretch.read(to, output) : undefined;
  });
}

export function encodeHeader(header: RatchetHeader): Uint8Array {
  return concat(header.dh, u32(header.pn), u32(header.n));
}

export function decodeHeader(bytes: Uint8Array): RatchetHeader {
  if (bytes.length !== HEADER_LENGTH) throw new LiaisonError('INVALID_MESSAGE', 'ratchet header has the wrong length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { dh: bytes.slice(0, 32), pn: view.getUint32(32), n: view.getUint32(36) };
}

/**
 * Alice: she knows Bob's ratchet key (his signed prekey) and can send at once. `sendingKeyPair`
 * is given only by known-answer tests; otherwise it is fresh.
 */
export function initiatorState(
  sharedKey: Uint8Array,
  remoteRatchetKey: Uint8Array,
  sendingKeyPair: KeyPair = generateKeyPair(),
): RatchetState {
  const [rootKey, sendingChainKey] = kdfRoot(sharedKey, dh(sendingKeyPair.privateKey, remoteRatchetKey));
  return {
    rootKey,
    sendingKeyPair,
    sendingChainKey,
    sendingN: 0,
    previousSendingN: 0,
    receivingKey: remoteRatchetKey.slice(),
    receivingChainKey: null,
    receivingN: 0,
    skipped: new Map(),
    oldChains: [],
  };
}

/** Bob: his signed prekey pair is his first ratchet key; he sends after Alice's first message. */
export function responderState(sharedKey: Uint8Array, ownRatchetKeyPair: KeyPair): RatchetState {
  return {
    rootKey: sharedKey.slice(),
    sendingKeyPair: {
      publicKey: ownRatchetKeyPair.publicKey.slice(),
      privateKey: ownRatchetKeyPair.privateKey.slice(),
    },
    sendingChainKey: null,
    sendingN: 0,
    previousSendingN: 0,
    receivingKey: null,
    receivingChainKey: null,
    receivingN: 0,
    skipped: new Map(),
    oldChains: [],
  };
}

/** A deep copy: the decrypt path works on one, so that a failure leaves the state as it was. */
export function cloneState(state: RatchetState): RatchetState {
  const copy = (bytes: Uint8Array | null) => bytes?.slice() ?? null;
  return {
    rootKey: state.rootKey.slice(),
    sendingKeyPair: {
      publicKey: state.sendingKeyPair.publicKey.slice(),
      privateKey: state.sendingKeyPair.privateKey.slice(),
    },
    sendingChainKey: copy(state.sendingChainKey),
    sendingN: state.sendingN,
    previousSendingN: state.previousSendingN,
    receivingKey: copy(state.receivingKey),
    receivingChainKey: copy(state.receivingChainKey),
    receivingN: state.receivingN,
    skipped: new Map([...state.skipped].map(([id, key]) => [id, key.slice()])),
    oldChains: [...state.oldChains],
  };
}

/**
 * Encrypts one message. `associatedData(header)` returns the bytes the AEAD binds: the session's
 * associated data and everything of the wire message before the ciphertext.
 */
export function ratchetEncrypt(
  state: RatchetState,
  plaintext: Uint8Array,
  associatedData: (header: Uint8Array) => Uint8Array,
): { header: Uint8Array; ciphertext: Uint8Array } {
  if (!state.sendingChainKey) {
    if (!state.receivingKey) throw new LiaisonError('NO_SESSION', 'this session cannot send before it has received');
    sendingRatchet(state, state.receivingKey);
  }
  const [nextChainKey, messageKey] = kdfChain(state.sendingChainKey as Uint8Array);
  const header = encodeHeader({ dh: state.sendingKeyPair.publicKey, pn: state.previousSendingN, n: state.sendingN });
  const ciphertext = messageAead('seal', messageKey, plaintext, associatedData(header));
  if (!ciphertext) throw new Error('libsodium refused to seal a message');
  wipe(state.sendingChainKey, messageKey);
  state.sendingChainKey = nextChainKey;
  state.sendingN += 1;
  return { header, ciphertext };
}

/**
 * Decrypts one message and returns the new state. The given state is never modified: the work is
 * done on a copy, which the caller commits only when this returns. A forged, corrupt, replayed or
 * oversized-jump message therefore leaves the session exactly as it was.
 */
export function ratchetDecrypt(
  state: RatchetState,
  header: RatchetHeader,
  ciphertext: Uint8Array,
  associatedData: Uint8Array,
): { state: RatchetState; plaintext: Uint8Array } {
  const skippedKey = state.skipped.get(skippedId(header.dh, header.n));
  if (skippedKey) {
    const plaintext = open(skippedKey, ciphertext, associatedData);
    const next = cloneState(state);
    next.skipped.delete(skippedId(header.dh, header.n));
    return { state: next, plaintext };
  }

  const sameChain = state.receivingKey !== null && hex(state.receivingKey) === hex(header.dh);
  if (sameChain) {
    if (header.n < state.receivingN) throw duplicate();
    if (header.n - state.receivingN > MAX_SKIP) throw tooManySkipped(header.n - state.receivingN);
  } else {
    if (state.oldChains.includes(hex(header.dh))) throw duplicate();
    // While the sending half of the last step waits (a receiving key and no sending chain), the
    // peer has not seen a new key from this side, so an honest one cannot have made a new key of
    // its own. Accepting one would repeat a DH with the same private key of this side (for a
    // responder, its signed prekey, shared by every session) and let whoever holds the peer's
    // state steer this side's next sending chain. The specification's receiver, which makes its
    // new key at once, fails such a message at the AEAD check; this one refuses it before deriving.
    if (state.receivingKey !== null && state.sendingChainKey === null) {
      throw new LiaisonError('DECRYPT_FAILED', 'a new ratchet key before this side has sent its own');
    }
    // Refuse a huge announced jump before deriving a single key.
    const behind = state.receivingChainKey ? header.pn - state.receivingN : 0;
    if (behind > MAX_SKIP) throw tooManySkipped(behind);
    if (header.n > MAX_SKIP) throw tooManySkipped(header.n);
  }

  const next = cloneState(state);
  if (!sameChain) {
    if (next.receivingChainKey) skipMessageKeys(next, header.pn);
    dhRatchet(next, header.dh);
  }
  skipMessageKeys(next, header.n);
  const [nextChainKey, messageKey] = kdfChain(next.receivingChainKey as Uint8Array);
  const plaintext = open(messageKey, ciphertext, associatedData);
  next.receivingChainKey = nextChainKey;
  next.receivingN += 1;
  return { state: next, plaintext };
}

function open(messageKey: Uint8Array, ciphertext: Uint8Array, associatedData: Uint8Array): Uint8Array {
  const plaintext = messageAead('open', messageKey, ciphertext, associatedData);
  if (!plaintext) throw new LiaisonError('DECRYPT_FAILED', 'message failed authentication');
  return plaintext;
}

function skipMessageKeys(state: RatchetState, until: number): void {
  if (!state.receivingChainKey || !state.receivingKey) return;
  const chain = hex(state.receivingKey);
  while (state.receivingN < until) {
    const [nextChainKey, messageKey] = kdfChain(state.receivingChainKey);
    storeSkipped(state, chain, state.receivingN, messageKey);
    state.receivingChainKey = nextChainKey;
    state.receivingN += 1;
  }
}

function storeSkipped(state: RatchetState, chain: string, n: number, messageKey: Uint8Array): void {
  let inChain = 0;
  let oldestInChain: string | undefined;
  for (const id of state.skipped.keys()) {
    if (id.startsWith(`${chain}:`)) {
      inChain += 1;
      oldestInChain ??= id;
    }
  }
  if (inChain >= MAX_SKIPPED_PER_CHAIN && oldestInChain) state.skipped.delete(oldestInChain);
  state.skipped.set(`${chain}:${n}`, messageKey);
  // Map iteration order is insertion order, so the first key is the oldest.
  while (state.skipped.size > MAX_SKIPPED_TOTAL) {
    const oldest = state.skipped.keys().next().value as string;
    state.skipped.delete(oldest);
  }
}

function dhRatchet(state: RatchetState, remoteKey: Uint8Array): void {
  if (state.receivingKey) {
    state.oldChains.push(hex(state.receivingKey));
    if (state.oldChains.length > MAX_OLD_CHAINS) state.oldChains.shift();
  }
  state.previousSendingN = state.sendingN;
  state.sendingN = 0;
  state.receivingN = 0;
  state.receivingKey = remoteKey.slice();
  [state.rootKey, state.receivingChainKey] = kdfRoot(state.rootKey, dh(state.sendingKeyPair.privateKey, remoteKey));
  // The sending half of the step (a new key pair, a DH, a root step) waits for the next message
  // this side sends (ratchetEncrypt): a receiver that never answers, or answers later, does not pay
  // for it now, and a session setup costs a key pair and a DH less. The wire is the same: the
  // reply carries the new key, made from the root key as it is at this point, since a new remote
  // key can only follow a message sent with the new one. A null sending chain beside a known
  // receiving key marks it.
  if (state.sendingChainKey) wipe(state.sendingChainKey);
  state.sendingChainKey = null;
}

/** The sending half of a DH ratchet step, towards the peer's current ratchet key. */
function sendingRatchet(state: RatchetState, remoteKey: Uint8Array): void {
  const previous = state.sendingKeyPair;
  state.sendingKeyPair = generateKeyPair();
  const secret = dh(state.sendingKeyPair.privateKey, remoteKey);
  const rootKey = state.rootKey;
  [state.rootKey, state.sendingChainKey] = kdfRoot(rootKey, secret);
  wipe(previous.privateKey, secret, rootKey);
}

const duplicate = () => new LiaisonError('DUPLICATE_MESSAGE', 'message was already received');
const tooManySkipped = (n: number) =>
  new LiaisonError('TOO_MANY_SKIPPED', `message announces ${n} skipped messages; at most ${MAX_SKIP} are kept`);
