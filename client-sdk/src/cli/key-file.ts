import { access, readFile, writeFile } from 'node:fs/promises';
import { decodeBase64url, encodeBase64url } from '@liaison/protocol';
import type { IdentityKeyPair } from '../crypto/keys.js';
import { sodium } from '../crypto/sodium.js';
import { CliError } from './cli-error.js';

/**
 * An Ed25519 key pair in a file of its own (mode 0600), the private key sealed with
 * XChaCha20-Poly1305 under an Argon2id key from a passphrase. The public key, the salt and the
 * cost are in clear and bound as associated data. Layout (JSON):
 *
 *   { "liaisonKey": 1, "publicKey", "salt", "opsLimit", "memLimit", "nonce", "sealed" }
 */

const FORMAT = 1;
/** Argon2id cost for key files: opened rarely, by a person, so a fraction of a second is fine. */
const ARGON2 = { opsLimit: 3, memLimit: 64 * 1024 * 1024 };
const MAX_ARGON2 = { opsLimit: 16, memLimit: 1024 * 1024 * 1024 };

function associatedData(publicKey: string, salt: string, opsLimit: number, memLimit: number): Uint8Array {
  return new TextEncoder().encode(`liaison-key/${FORMAT}|${publicKey}|${salt}|${opsLimit}|${memLimit}`);
}

function derive(passphrase: string, salt: Uint8Array, opsLimit: number, memLimit: number): Uint8Array {
  const s = sodium();
  return s.crypto_pwhash(32, passphrase, salt, opsLimit, memLimit, s.crypto_pwhash_ALG_ARGON2ID13);
}

export async function refuseToOverwrite(path: string): Promise<void> {
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new CliError(`${path} already exists; choose another name or remove it first`);
}

/** A passphrase that is to protect something new: too short, and Argon2id cannot make up for it. */
export function checkNewPassphrase(passphrase: string): void {
  if (passphrase.length < 8) throw new CliError('the passphrase must have at least 8 characters');
}

export async function writeKeyFile(path: string, keyPair: IdentityKeyPair, passphrase: string): Promise<void> {
  checkNewPassphrase(passphrase);
  await refuseToOverwrite(path);
  const s = sodium();
  const salt = s.randombytes_buf(s.crypto_pwhash_SALTBYTES);
  const nonce = s.randombytes_buf(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const publicKey = encodeBase64url(keyPair.publicKey);
  const key = derive(passphrase, salt, ARGON2.opsLimit, ARGON2.memLimit);
  const ad = associatedData(publicKey, encodeBase64url(salt), ARGON2.opsLimit, ARGON2.memLimit);
  const sealed = s.crypto_aead_xchacha20poly1305_ietf_encrypt(keyPair.privateKey, ad, null, nonce, key);
  const file = {
    liaisonKey: FORMAT,
    publicKey,
    salt: encodeBase64url(salt),
    ...ARGON2,
    nonce: encodeBase64url(nonce),
    sealed: encodeBase64url(sealed),
  };
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
}

export async function readKeyFile(path: string, passphrase: string): Promise<IdentityKeyPair> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new CliError(`cannot read the key file ${path}`);
  });
  let file: Record<string, unknown>;
  try {
    file = JSON.parse(text);
  } catch {
    throw notAKeyFile(path);
  }
  const field = (name: string) => {
    const value = typeof file[name] === 'string' ? decodeBase64url(file[name] as string) : undefined;
    if (!value) throw new CliError(`${path} is not a Liaison key file (field ${name})`);
    return value;
  };
  if (file.liaisonKey !== FORMAT) throw notAKeyFile(path);
  const opsLimit = Number(file.opsLimit);
  const memLimit = Number(file.memLimit);
  if (!(opsLimit >= 1 && opsLimit <= MAX_ARGON2.opsLimit && memLimit >= 8192 && memLimit <= MAX_ARGON2.memLimit)) {
    throw new CliError(`${path} has key-derivation parameters out of range`);
  }
  const publicKey = field('publicKey');
  const salt = field('salt');
  const key = derive(passphrase, salt, opsLimit, memLimit);
  const ad = associatedData(file.publicKey as string, file.salt as string, opsLimit, memLimit);
  let privateKey: Uint8Array;
  try {
    privateKey = sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(null, field('sealed'), ad, field('nonce'), key);
  } catch {
    throw new CliError(`wrong passphrase for ${path} (or the file was altered)`);
  }
  const s = sodium();
  if (!s.memcmp(s.crypto_sign_ed25519_sk_to_pk(privateKey), publicKey)) {
    throw new CliError(`${path} is inconsistent: its private key does not match its public key`);
  }
  return { publicKey, privateKey };
}

function notAKeyFile(path: string): CliError {
  return new CliError(`${path} is not a Liaison private key file (.key); did you pass a .pub or certificate file?`);
}

export async function writePublicKey(path: string, publicKey: Uint8Array): Promise<void> {
  await refuseToOverwrite(path);
  await writeFile(path, `${encodeBase64url(publicKey)}\n`, { flag: 'wx' });
}

/** A .pub file (or a .key file, whose public half is in clear): the base64url public key. */
export async function readPublicKey(path: string): Promise<string> {
  const text = (
    await readFile(path, 'utf8').catch(() => {
      throw new CliError(`cannot read the public key file ${path}`);
    })
  ).trim();
  if (text.startsWith('{')) {
    const parsed = JSON.parse(text) as { publicKey?: unknown };
    if (typeof parsed.publicKey === 'string') return parsed.publicKey;
  }
  if (decodeBase64url(text)?.length !== 32) throw new CliError(`${path} does not hold an Ed25519 public key`);
  return text;
}
