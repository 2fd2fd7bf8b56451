import { access, readFile, writeFile } from 'node:fs/promises';
import { decodeBase64url } from '@liaison/protocol';
import { MIN_NEW_PASSPHRASE_LENGTH, openKeyFile, publicKeyFile, sealKeyFile } from '../crypto/key-file.js';
import type { IdentityKeyPair } from '../crypto/keys.js';
import { isLiaisonError } from '../errors.js';
import { CliError } from './cli-error.js';

// Key files on disk. Their format is the SDK's (crypto/key-file.ts), shared with the web app; here
// they are read and written (mode 0600, never overwritten), and the SDK's refusals said with the path.

export async function refuseToOverwrite(path: string): Promise<void> {
  const exists = await access(path).then(
    () => true,
    () => false,
  );
  if (exists) throw new CliError(`${path} already exists; choose another name or remove it first`);
}

/** A passphrase that is to protect something new: too short, and Argon2id cannot make up for it. */
export function checkNewPassphrase(passphrase: string): void {
  if (passphrase.length < MIN_NEW_PASSPHRASE_LENGTH) {
    throw new CliError(`the passphrase must have at least ${MIN_NEW_PASSPHRASE_LENGTH} characters`);
  }
}

export async function writeKeyFile(path: string, keyPair: IdentityKeyPair, passphrase: string): Promise<void> {
  checkNewPassphrase(passphrase);
  await refuseToOverwrite(path);
  await writeFile(path, sealKeyFile(keyPair, passphrase), { mode: 0o600, flag: 'wx' });
}

export async function readKeyFile(path: string, passphrase: string): Promise<IdentityKeyPair> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new CliError(`cannot read the key file ${path}`);
  });
  try {
    return openKeyFile(text, passphrase);
  } catch (error) {
    if (isLiaisonError(error, 'KEY_STORE_LOCKED')) {
      throw new CliError(`wrong passphrase for ${path} (or the file was altered)`);
    }
    // Not a key file, a cost out of range, halves that disagree: the SDK's words, after the path.
    if (isLiaisonError(error, 'INVALID_INPUT')) throw new CliError(`${path}: ${error.message}`);
    throw error;
  }
}

export async function writePublicKey(path: string, publicKey: Uint8Array): Promise<void> {
  await refuseToOverwrite(path);
  await writeFile(path, publicKeyFile(publicKey), { flag: 'wx' });
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
