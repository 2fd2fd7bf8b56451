import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { concat, u32, wipe } from '../crypto/bytes.js';
import { ready, sodium } from '../crypto/sodium.js';
import { LiaisonError } from '../errors.js';
import { emptyKeyStoreData, type KeyStoreData, MemoryKeyStore } from './memory-key-store.js';
import { deserializeKeyStoreData, serializeKeyStoreData } from './serialize.js';

/**
 * A key store in one file, encrypted at rest (Node only). File layout:
 *
 *   "LIAISONKS" | version u8 (1) | mode u8 (1 passphrase, 2 host key)
 *   [mode 1: Argon2id salt 16 | opslimit u32 | memlimit u32]
 *   nonce 24 | XChaCha20-Poly1305 ciphertext of the contents
 *
 * Everything before the ciphertext is associated data, so the parameters cannot be swapped.
 * Every change rewrites the file atomically: a new file is written and synced beside it, then
 * renamed over the old one, so a crash at any moment leaves either the old or the new store.
 * One process owns a store file at a time.
 */

const MAGIC = new TextEncoder().encode('LIAISONKS');
const FORMAT_VERSION = 1;
const MODE_PASSPHRASE = 1;
const MODE_KEY = 2;

export type KeyStoreSecret =
  | { passphrase: string; argon2?: { opsLimit: number; memLimit: number } }
  | { key: Uint8Array };

/** libsodium's "moderate" Argon2id cost: about a second here, and 256 MiB, for a store opened rarely. */
export const DEFAULT_ARGON2 = { opsLimit: 3, memLimit: 256 * 1024 * 1024 };

const MAX_ARGON2 = { opsLimit: 16, memLimit: 1024 * 1024 * 1024 };

interface Sealing {
  header: Uint8Array;
  key: Uint8Array;
}

export class FileKeyStore extends MemoryKeyStore {
  private writing: Promise<void> = Promise.resolve();
  /** The write that has not started yet, which every change until it starts joins. */
  private waiting: Promise<void> | undefined;

  private constructor(
    private readonly path: string,
    private readonly sealing: Sealing,
    data: KeyStoreData,
  ) {
    super(data);
  }

  /** Opens the store at `path`, creating it when absent. A wrong secret or altered file: KEY_STORE_LOCKED. */
  static async open(path: string, secret: KeyStoreSecret): Promise<FileKeyStore> {
    await ready();
    const existing = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    await removeAbandonedWrites(path);
    if (!existing) {
      const store = new FileKeyStore(path, newSealing(secret), emptyKeyStoreData());
      await store.changed();
      return store;
    }
    const { sealing, data } = unseal(existing, secret);
    return new FileKeyStore(path, sealing, data);
  }

  protected override changed(): Promise<void> {
    // Writes are chained so that the file always ends with the latest contents. A change made while
    // a write waits its turn joins that write: its contents are taken when it starts, so a burst of
    // changes (a message kept, its receipt, the queue) costs one rewrite of the file, not one each.
    if (this.waiting) return this.waiting;
    const next = this.writing
      .catch(() => undefined)
      .then(() => {
        this.waiting = undefined;
        return this.write(serializeKeyStoreData(this.data));
      });
    this.waiting = next;
    this.writing = next;
    return next;
  }

  private async write(contents: Uint8Array): Promise<void> {
    const s = sodium();
    const nonce = randomBytes(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    const prefix = concat(this.sealing.header, nonce);
    const sealed = concat(
      prefix,
      s.crypto_aead_xchacha20poly1305_ietf_encrypt(contents, prefix, null, nonce, this.sealing.key),
    );
    wipe(contents);
    const temporary = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    const file = await open(temporary, 'wx', 0o600);
    try {
      await file.writeFile(sealed);
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await rename(temporary, this.path);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw error;
    }
    const directory = await open(dirname(this.path), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }
}

/** A crash between writing a new file and renaming it leaves the temporary file behind; it is never read. */
async function removeAbandonedWrites(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  const names = await readdir(dirname(path)).catch(() => [] as string[]);
  for (const name of names) {
    if (name.startsWith(prefix) && name.endsWith('.tmp'))
      await unlink(join(dirname(path), name)).catch(() => undefined);
  }
}

function newSealing(secret: KeyStoreSecret): Sealing {
  const s = sodium();
  if ('key' in secret)
    return { header: concat(MAGIC, Uint8Array.of(FORMAT_VERSION, MODE_KEY)), key: hostKey(secret.key) };
  const { opsLimit, memLimit } = secret.argon2 ?? DEFAULT_ARGON2;
  const salt = randomBytes(s.crypto_pwhash_SALTBYTES);
  const header = concat(MAGIC, Uint8Array.of(FORMAT_VERSION, MODE_PASSPHRASE), salt, u32(opsLimit), u32(memLimit));
  return { header, key: deriveKey(secret.passphrase, salt, opsLimit, memLimit) };
}

function unseal(file: Uint8Array, secret: KeyStoreSecret): { sealing: Sealing; data: KeyStoreData } {
  const s = sodium();
  const locked = (why: string) => new LiaisonError('KEY_STORE_LOCKED', why);
  const fixed = MAGIC.length + 2;
  if (file.length < fixed || !s.memcmp(file.slice(0, MAGIC.length), MAGIC)) throw locked('not a Liaison key store');
  if (file[MAGIC.length] !== FORMAT_VERSION) throw locked('key store version not supported');
  const mode = file[MAGIC.length + 1];
  let headerLength = fixed;
  let key: Uint8Array;
  if (mode === MODE_PASSPHRASE) {
    if (!('passphrase' in secret)) throw locked('this key store is protected by a passphrase');
    headerLength += s.crypto_pwhash_SALTBYTES + 8;
    if (file.length < headerLength) throw locked('key store file is truncated');
    const salt = file.slice(fixed, fixed + s.crypto_pwhash_SALTBYTES);
    const view = new DataView(file.buffer, file.byteOffset + fixed + s.crypto_pwhash_SALTBYTES, 8);
    const [opsLimit, memLimit] = [view.getUint32(0), view.getUint32(4)];
    // The cost sits in the file; bound it so an altered file cannot make opening it hang or exhaust memory.
    if (opsLimit > MAX_ARGON2.opsLimit || memLimit > MAX_ARGON2.memLimit)
      throw locked('key store cost parameters out of range');
    key = deriveKey(secret.passphrase, salt, opsLimit, memLimit);
  } else if (mode === MODE_KEY) {
    if (!('key' in secret)) throw locked('this key store is protected by a key, not a passphrase');
    key = hostKey(secret.key);
  } else {
    throw locked('unknown key store protection');
  }
  const nonceEnd = headerLength + s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  if (file.length < nonceEnd + s.crypto_aead_xchacha20poly1305_ietf_ABYTES) throw locked('key store file is truncated');
  const prefix = file.slice(0, nonceEnd);
  let contents: Uint8Array;
  try {
    contents = s.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      file.slice(nonceEnd),
      prefix,
      prefix.slice(headerLength),
      key,
    );
  } catch {
    throw locked('wrong passphrase or key, or the key store file was altered');
  }
  const data = deserializeKeyStoreData(contents);
  wipe(contents);
  return { sealing: { header: file.slice(0, headerLength), key }, data };
}

function deriveKey(passphrase: string, salt: Uint8Array, opsLimit: number, memLimit: number): Uint8Array {
  const s = sodium();
  if (passphrase.length === 0) throw new LiaisonError('KEY_STORE_LOCKED', 'an empty passphrase protects nothing');
  return s.crypto_pwhash(32, passphrase, salt, opsLimit, memLimit, s.crypto_pwhash_ALG_ARGON2ID13);
}

function hostKey(key: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new LiaisonError('KEY_STORE_LOCKED', 'a key store key is 32 bytes');
  return key.slice();
}
