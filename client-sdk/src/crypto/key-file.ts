import { decodeBase64url, encodeBase64url } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import { wipe } from './bytes.js';
import type { IdentityKeyPair } from './keys.js';
import { randomBytes, sodium } from './sodium.js';

/**
 * A Liaison key file (`.key`): an Ed25519 key pair, the private key sealed with XChaCha20-Poly1305
 * under an Argon2id key from a passphrase. The CLI writes one for a network root, an authority or a
 * contact point's account; the web app opens the account's to certify its device key. The public
 * key, the salt and the cost are in clear and bound as associated data. Layout (JSON):
 *
 *   { "liaisonKey": 1, "publicKey", "salt", "opsLimit", "memLimit", "nonce", "sealed" }
 *
 * Pure libsodium, no file system: the CLI reads and writes the files, a page reads a picked one.
 */

const FORMAT = 1;
/** Argon2id cost of a new key file: opened rarely, by a person, so a fraction of a second is fine. */
export const KEY_FILE_ARGON2 = { opsLimit: 3, memLimit: 64 * 1024 * 1024 };
/**
 * The most a key file may ask for, checked before deriving anything: the cost is in clear in the
 * file, and a hostile one must not make a browser tab allocate a gigabyte or spin for minutes. Four
 * times what the CLI writes leaves room for a stronger file made on purpose.
 */
export const MAX_KEY_FILE_ARGON2 = { opsLimit: 12, memLimit: 256 * 1024 * 1024 };
/** A passphrase that is to protect something new: shorter, and Argon2id cannot make up for it. */
export const MIN_NEW_PASSPHRASE_LENGTH = 8;
/** A key file is about 400 characters; anything much longer is not one, and is not parsed. */
const MAX_KEY_FILE_LENGTH = 4096;

function associatedData(publicKey: string, salt: string, opsLimit: number, memLimit: number): Uint8Array {
  return new TextEncoder().encode(`liaison-key/${FORMAT}|${publicKey}|${salt}|${opsLimit}|${memLimit}`);
}

function derive(passphrase: string, salt: Uint8Array, opsLimit: number, memLimit: number): Uint8Array {
  const s = sodium();
  return s.crypto_pwhash(32, passphrase, salt, opsLimit, memLimit, s.crypto_pwhash_ALG_ARGON2ID13);
}

const invalid = (message: string) => new LiaisonError('INVALID_INPUT', message);

/**
 * The text of a key file holding `keyPair`, sealed under `passphrase` (at least 8 characters). The
 * CLI writes it as NAME.key, mode 0600. Call `ready()` first.
 */
export function sealKeyFile(keyPair: IdentityKeyPair, passphrase: string): string {
  const s = sodium();
  if (typeof passphrase !== 'string' || passphrase.length < MIN_NEW_PASSPHRASE_LENGTH) {
    throw invalid(`the passphrase must have at least ${MIN_NEW_PASSPHRASE_LENGTH} characters`);
  }
  const { publicKey, privateKey } = keyPair ?? {};
  if (
    !(publicKey instanceof Uint8Array) ||
    !(privateKey instanceof Uint8Array) ||
    publicKey.length !== s.crypto_sign_PUBLICKEYBYTES ||
    privateKey.length !== s.crypto_sign_SECRETKEYBYTES
  ) {
    throw invalid('not an Ed25519 key pair');
  }
  // A file whose halves disagree would open, then fail every signature: refuse to write one.
  if (!s.memcmp(s.crypto_sign_ed25519_sk_to_pk(privateKey), publicKey)) {
    throw invalid('the private key does not match the public key');
  }
  const { opsLimit, memLimit } = KEY_FILE_ARGON2;
  const salt = randomBytes(s.crypto_pwhash_SALTBYTES);
  const nonce = randomBytes(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const publicText = encodeBase64url(publicKey);
  const key = derive(passphrase, salt, opsLimit, memLimit);
  const ad = associatedData(publicText, encodeBase64url(salt), opsLimit, memLimit);
  const sealed = s.crypto_aead_xchacha20poly1305_ietf_encrypt(privateKey, ad, null, nonce, key);
  wipe(key);
  const file = {
    liaisonKey: FORMAT,
    publicKey: publicText,
    salt: encodeBase64url(salt),
    opsLimit,
    memLimit,
    nonce: encodeBase64url(nonce),
    sealed: encodeBase64url(sealed),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * The key pair in a key file's text. INVALID_INPUT: not a Liaison key file (a `.pub`, a certificate,
 * anything else), a cost out of range, or halves that do not match. KEY_STORE_LOCKED: the wrong
 * passphrase, or a file altered since it was written (the two cannot be told apart). Call `ready()` first.
 */
export function openKeyFile(text: string, passphrase: string): IdentityKeyPair {
  const s = sodium();
  if (typeof text !== 'string' || text.length > MAX_KEY_FILE_LENGTH) throw notAKeyFile();
  if (typeof passphrase !== 'string') throw invalid('the passphrase must be a string');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw notAKeyFile();
  }
  const file = keyFileFields(json);
  const { publicKey, salt, nonce, sealed, opsLimit, memLimit } = file;
  const key = derive(passphrase, salt, opsLimit, memLimit);
  const ad = associatedData(file.publicKeyText, file.saltText, opsLimit, memLimit);
  let privateKey: Uint8Array;
  try {
    privateKey = s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed, ad, nonce, key);
  } catch {
    throw new LiaisonError('KEY_STORE_LOCKED', 'wrong passphrase for the key file (or the file was altered)');
  } finally {
    wipe(key);
  }
  if (!s.memcmp(s.crypto_sign_ed25519_sk_to_pk(privateKey), publicKey)) {
    wipe(privateKey);
    throw invalid('the key file is inconsistent: its private key does not match its public key');
  }
  return { publicKey, privateKey };
}

interface KeyFileFields {
  publicKey: Uint8Array;
  publicKeyText: string;
  salt: Uint8Array;
  saltText: string;
  nonce: Uint8Array;
  sealed: Uint8Array;
  opsLimit: number;
  memLimit: number;
}

/**
 * A parsed key file's fields, each checked for shape and its cost for range (INVALID_INPUT), without
 * the passphrase: readStatement tells a key file by this too.
 */
export function keyFileFields(json: unknown): KeyFileFields {
  const s = sodium();
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw notAKeyFile();
  const file = json as Record<string, unknown>;
  if (file.liaisonKey !== FORMAT) throw notAKeyFile();
  const bytes = (name: string, length: number) => {
    const value = typeof file[name] === 'string' ? decodeBase64url(file[name] as string) : undefined;
    if (value?.length !== length) throw invalid(`not a Liaison key file: its field ${name} is missing or malformed`);
    return value;
  };
  const publicKey = bytes('publicKey', s.crypto_sign_PUBLICKEYBYTES);
  const salt = bytes('salt', s.crypto_pwhash_SALTBYTES);
  const nonce = bytes('nonce', s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const sealed = bytes('sealed', s.crypto_sign_SECRETKEYBYTES + s.crypto_aead_xchacha20poly1305_ietf_ABYTES);
  const { opsLimit, memLimit } = file;
  const within = (n: unknown, min: number, max: number): n is number =>
    Number.isSafeInteger(n) && (n as number) >= min && (n as number) <= max;
  // Checked before any derivation: the cost decides how much memory and time opening takes.
  if (
    !within(opsLimit, s.crypto_pwhash_OPSLIMIT_MIN, MAX_KEY_FILE_ARGON2.opsLimit) ||
    !within(memLimit, s.crypto_pwhash_MEMLIMIT_MIN, MAX_KEY_FILE_ARGON2.memLimit)
  ) {
    throw invalid(
      `the key file's key-derivation parameters are out of range (at most ${MAX_KEY_FILE_ARGON2.opsLimit} passes and ${MAX_KEY_FILE_ARGON2.memLimit} bytes)`,
    );
  }
  return {
    publicKey,
    publicKeyText: file.publicKey as string,
    salt,
    saltText: file.salt as string,
    nonce,
    sealed,
    opsLimit,
    memLimit,
  };
}

/** The text of a `.pub` file: what `liaison device certify --device-key` and the issuers' commands read. */
export function publicKeyFile(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw invalid('not an Ed25519 public key');
  return `${encodeBase64url(publicKey)}\n`;
}

function notAKeyFile(): LiaisonError {
  return invalid('not a Liaison private key file (.key); did you pass a .pub or certificate file?');
}
