import type { webcrypto } from 'node:crypto';
import { committed, type IdbDatabase, indexedDbFactory, isSecureContext, requested } from '../browser/web-apis.js';
import { concat, u32, wipe } from '../crypto/bytes.js';
import type { IdentityKeyPair, StoredKemPrekey, StoredOneTimePrekey, StoredSignedPrekey } from '../crypto/keys.js';
import { randomBytes, ready, sodium } from '../crypto/sodium.js';
import { LiaisonError } from '../errors.js';
import { type DeviceLock, holdDeviceLock, type WhenInUse } from './device-lock.js';
import type { KeyStore, PeerIdentity } from './key-store.js';
import { emptyKeyStoreData, type KeyStoreData, MemoryKeyStore } from './memory-key-store.js';
import { deserializeKeyStoreData, serializeKeyStoreData } from './serialize.js';

/**
 * A key store in the browser's IndexedDB, encrypted at rest (issue 19).
 *
 * Each entry (the identity, one prekey, one session, one peer, one state value) is one IndexedDB
 * record, sealed with AES-256-GCM under a WebCrypto key. The record's slot is an HMAC of the entry's
 * name, so device ids, contact point ids and message ids do not show in IndexedDB either; the slot is
 * the GCM associated data, so a record moved to another slot does not open. By default the two keys
 * are non-extractable CryptoKeys kept in the same database: script on the page can use them but not
 * read them, and a copy of the profile's files is useless without the browser's own key protection.
 * With a passphrase they are instead wrapped (XChaCha20-Poly1305) under a key derived with Argon2id,
 * and exist unwrapped only while the store is open: closing it is a lock screen (memory is wiped and
 * every call refused). Each record is authenticated, not its freshness: an older copy of a record
 * put back opens (docs/browser.md says what that allows).
 *
 * Each call that changes something is one IndexedDB transaction (durability "strict"), written in
 * call order: a tab closed in the middle of a decryption leaves each record as it was before or after
 * a change, never half of one. Everything is read into memory at open; reads are served from there.
 * Only the tab holding the device's Web Lock opens the store (see device-lock.ts), so that memory
 * copy cannot go stale behind another tab's back.
 *
 * `appData` holds the application's own records (the web app's message history) beside the SDK's,
 * sealed the same way, in an object store of their own that is read one record at a time, never at open.
 */

export interface IndexedDbKeyStoreOptions {
  /** One device per name, in its own database (`liaison-key-store:<name>`). Default `default`. */
  name?: string;
  /** Protect the store with a passphrase: asked at every open (a wrong one: KEY_STORE_LOCKED). */
  passphrase?: string;
  /** Argon2id cost for a new passphrase-protected store. */
  argon2?: { opsLimit: number; memLimit: number };
  /** When another tab has this device open: wait until it closes it (default), or fail with DEVICE_IN_USE. */
  whenInUse?: WhenInUse;
  /** Gives up waiting for another tab (the open rejects with the signal's reason). */
  signal?: AbortSignal;
}

/**
 * libsodium's "interactive" Argon2id cost: a browser tab's WebAssembly memory is smaller than a Node
 * process's, and a lock screen is opened often.
 */
export const BROWSER_ARGON2 = { opsLimit: 2, memLimit: 64 * 1024 * 1024 };
const MAX_ARGON2 = { opsLimit: 16, memLimit: 512 * 1024 * 1024 };

/** The protection record's format. */
const VERSION = 1;
/** The database's layout: 2 added the application's object store (APP). */
const DATABASE_VERSION = 2;
const RECORDS = 'records';
const META = 'meta';
const APP = 'app';
const PROTECTION = 'protection';
const WRAP_CONTEXT = new TextEncoder().encode('liaison indexeddb key store v1');

/** WebCrypto's key type (typed through Node's declarations; only the type is imported). */
type CryptoKey = webcrypto.CryptoKey;

type Protection =
  | { version: number; mode: 'device'; aes: CryptoKey; hmac: CryptoKey }
  | {
      version: number;
      mode: 'passphrase';
      salt: Uint8Array;
      opsLimit: number;
      memLimit: number;
      nonce: Uint8Array;
      wrapped: Uint8Array;
    };

interface SealedRecord {
  iv: Uint8Array;
  data: ArrayBuffer;
}

interface Keys {
  aes: CryptoKey;
  hmac: CryptoKey;
}

/**
 * The application's records, by name: sealed like the SDK's (AES-GCM under the store's key, the slot
 * an HMAC of the name), each change one strict transaction in call order with the SDK's own, and
 * refused once the store is closed or has failed to save a change (KEY_STORE_FAILED, fail-stop). A
 * name is any text of 1 to 1024 characters; names and values show in IndexedDB only sealed.
 */
export interface AppData {
  /** The value last put under `name`; undefined when none. A record that does not open: KEY_STORE_LOCKED. */
  get(name: string): Promise<Uint8Array | undefined>;
  put(name: string, value: Uint8Array): Promise<void>;
  delete(name: string): Promise<void>;
}

const MAX_APP_NAME_LENGTH = 1024;
/**
 * What an application record's name is HMACed as, and the prefix of its GCM associated data. No
 * name of the SDK's own begins so, and the associated data keeps the two kinds apart even if a
 * record is moved from one object store to the other: an application value, whose bytes may come
 * from a message, can never be read back as one of the SDK's records.
 */
const APP_NAMESPACE = 'app:';

type SealedChanges = ReadonlyArray<readonly [slot: string, record: SealedRecord | undefined]>;

export const databaseName = (name: string) => `liaison-key-store:${name}`;

export class IndexedDbKeyStore implements KeyStore {
  /** The application's records (the web app's history): see AppData. */
  readonly appData: AppData = {
    get: (name) => this.getAppData(name),
    put: (name, value) => this.putAppData(name, value),
    delete: (name) => this.deleteAppData(name),
  };
  private writing: Promise<void> = Promise.resolve();
  private readonly slots = new Map<string, string>();
  private closed = false;
  /** Set by the first write that failed: from then on memory may hold what IndexedDB does not. */
  private failed: LiaisonError | undefined;

  private constructor(
    /** The device's name, as given to open. */
    readonly name: string,
    private readonly db: IdbDatabase,
    private keys: Keys | undefined,
    private readonly memory: MemoryKeyStore,
    private readonly lock: DeviceLock,
  ) {}

  /**
   * Opens the device's store, creating it when absent. Waits for (or, with `whenInUse: 'fail'`,
   * refuses) another tab that has the same device open. Needs a secure context (https, or
   * http://localhost): INSECURE_CONTEXT otherwise.
   */
  static async open(options: IndexedDbKeyStoreOptions = {}): Promise<IndexedDbKeyStore> {
    const factory = indexedDbFactory();
    if (!factory || !isSecureContext()) {
      throw new LiaisonError(
        'INSECURE_CONTEXT',
        'IndexedDbKeyStore needs IndexedDB and WebCrypto, which browsers give only to secure contexts: serve the page over https (or from http://localhost)',
      );
    }
    await ready();
    const name = options.name ?? 'default';
    const lock = await holdDeviceLock(name, options.whenInUse ?? 'wait', options.signal);
    try {
      const db = await openDatabase(name);
      try {
        const keys = await unlock(db, options);
        const data = await load(db, keys);
        return new IndexedDbKeyStore(name, db, keys, new MemoryKeyStore(data), lock);
      } catch (error) {
        db.close();
        throw error;
      }
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  /** Deletes a device's store for good (after signing the device out). It must not be open anywhere. */
  static async destroy(name = 'default'): Promise<void> {
    const factory = indexedDbFactory();
    if (!factory) return;
    const lock = await holdDeviceLock(name, 'fail');
    try {
      await requested(factory.deleteDatabase(databaseName(name)));
    } finally {
      lock.release();
    }
  }

  /**
   * Waits for the changes under way, closes the database and lets another tab open the device. With
   * a passphrase, the store must be opened with it again.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writing.catch(() => undefined);
    // A lock screen: nothing of the device stays behind in this tab (the CryptoKeys are only dropped,
    // WebCrypto cannot wipe them; without a passphrase they stay in the database anyway).
    this.memory.forget();
    this.slots.clear();
    this.keys = undefined;
    this.db.close();
    this.lock.release();
  }

  async getIdentity() {
    this.usable();
    return this.memory.getIdentity();
  }
  async setIdentity(identity: IdentityKeyPair) {
    this.usable();
    await this.memory.setIdentity(identity);
    return this.persist([['identity', { ...emptyKeyStoreData(), identity }]]);
  }

  async getSignedPrekeys() {
    this.usable();
    return this.memory.getSignedPrekeys();
  }
  async putSignedPrekey(prekey: StoredSignedPrekey) {
    this.usable();
    await this.memory.putSignedPrekey(prekey);
    return this.persist([[`spk:${prekey.id}`, only((d) => d.signedPrekeys.set(prekey.id, prekey))]]);
  }
  async removeSignedPrekey(id: number) {
    this.usable();
    await this.memory.removeSignedPrekey(id);
    return this.persist([[`spk:${id}`, undefined]]);
  }

  async getOneTimePrekey(id: number) {
    this.usable();
    return this.memory.getOneTimePrekey(id);
  }
  async getOneTimePrekeyIds() {
    this.usable();
    return this.memory.getOneTimePrekeyIds();
  }
  async putOneTimePrekeys(prekeys: readonly StoredOneTimePrekey[]) {
    this.usable();
    await this.memory.putOneTimePrekeys(prekeys);
    return this.persist(prekeys.map((p) => [`otk:${p.id}`, only((d) => d.oneTimePrekeys.set(p.id, p))]));
  }
  async removeOneTimePrekey(id: number) {
    this.usable();
    await this.memory.removeOneTimePrekey(id);
    return this.persist([[`otk:${id}`, undefined]]);
  }

  async getKemPrekey(id: number) {
    this.usable();
    return this.memory.getKemPrekey(id);
  }
  async getKemPrekeys() {
    this.usable();
    return this.memory.getKemPrekeys();
  }
  async putKemPrekeys(prekeys: readonly StoredKemPrekey[]) {
    this.usable();
    await this.memory.putKemPrekeys(prekeys);
    return this.persist(prekeys.map((p) => [`kem:${p.id}`, only((d) => d.kemPrekeys.set(p.id, p))]));
  }
  async removeKemPrekey(id: number) {
    this.usable();
    await this.memory.removeKemPrekey(id);
    return this.persist([[`kem:${id}`, undefined]]);
  }

  async getSession(deviceId: string) {
    this.usable();
    return this.memory.getSession(deviceId);
  }
  async putSession(deviceId: string, record: Uint8Array) {
    this.usable();
    await this.memory.putSession(deviceId, record);
    return this.persist([[`session:${deviceId}`, only((d) => d.sessions.set(deviceId, record))]]);
  }

  async getPeerIdentity(contactPointId: string) {
    this.usable();
    return this.memory.getPeerIdentity(contactPointId);
  }
  async putPeerIdentity(contactPointId: string, identity: PeerIdentity) {
    this.usable();
    await this.memory.putPeerIdentity(contactPointId, identity);
    return this.persist([[`peer:${contactPointId}`, only((d) => d.peers.set(contactPointId, identity))]]);
  }

  async getState(key: string) {
    this.usable();
    return this.memory.getState(key);
  }
  async setState(key: string, value: string | undefined) {
    this.usable();
    await this.memory.setState(key, value);
    return this.persist([[`state:${key}`, value === undefined ? undefined : only((d) => d.state.set(key, value))]]);
  }
  async stateKeys(prefix: string) {
    this.usable();
    return this.memory.stateKeys(prefix);
  }

  private async getAppData(name: string): Promise<Uint8Array | undefined> {
    this.usable();
    checkAppName(name);
    // Changes already asked for are read back: wait until they are written (or have failed).
    await this.writing.catch(() => undefined);
    this.usable();
    const keys = this.keys as Keys;
    const slot = await this.slot(keys, `${APP_NAMESPACE}${name}`, false);
    // Closed while the slot was computed: a lock screen, not a failure of IndexedDB.
    this.usable();
    let record: SealedRecord | undefined;
    try {
      const transaction = this.db.transaction(APP, 'readonly');
      record = (await requested(transaction.objectStore(APP).get(slot))) as SealedRecord | undefined;
    } catch (error) {
      // Nothing in memory differs from IndexedDB after a failed read: this call fails, the store goes on.
      throw new LiaisonError('KEY_STORE_FAILED', `the key store could not read a record (${describeFailure(error)})`);
    }
    if (!record) return undefined;
    try {
      return new Uint8Array(
        await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: record.iv, additionalData: appContext(slot) },
          keys.aes,
          record.data,
        ),
      );
    } catch {
      throw new LiaisonError('KEY_STORE_LOCKED', 'an application record does not open: the key store was altered');
    }
  }

  private async putAppData(name: string, value: Uint8Array): Promise<void> {
    this.usable();
    checkAppName(name);
    if (!(value instanceof Uint8Array))
      throw new LiaisonError('INVALID_INPUT', 'an application value must be a Uint8Array');
    // A copy, sealed and then wiped: the caller may reuse its array before the write is done.
    const plaintext = value.slice();
    const keys = this.keys as Keys;
    return this.write(
      APP,
      (async () => {
        try {
          const slot = await this.slot(keys, `${APP_NAMESPACE}${name}`, false);
          return [[slot, await sealBytes(keys, appContext(slot), plaintext)]] as const;
        } finally {
          wipe(plaintext);
        }
      })(),
    );
  }

  private async deleteAppData(name: string): Promise<void> {
    this.usable();
    checkAppName(name);
    const keys = this.keys as Keys;
    return this.write(
      APP,
      this.slot(keys, `${APP_NAMESPACE}${name}`, false).then((slot) => [[slot, undefined]] as const),
    );
  }

  /** Every call checks first: a closed store serves nothing, a failed one nothing more (fail-stop). */
  private usable(): void {
    if (this.closed) throw new LiaisonError('KEY_STORE_LOCKED', 'this key store was closed; open it again');
    if (this.failed) throw this.failed;
  }

  /**
   * Writes one change: its records sealed, then put or deleted in a single transaction. Changes are
   * chained, so they reach IndexedDB in the order they were made whatever WebCrypto's timing.
   */
  private persist(changes: Array<[string, KeyStoreData | undefined]>): Promise<void> {
    const keys = this.keys as Keys;
    const sealing = Promise.all(
      changes.map(async ([name, data]) => {
        const slot = await this.slot(keys, name);
        return [slot, data && (await seal(keys, slot, data))] as const;
      }),
    );
    return this.write(RECORDS, sealing);
  }

  /** Puts (or, for an undefined record, deletes) sealed records in one transaction, after the changes before it. */
  private write(storeName: typeof RECORDS | typeof APP, sealing: Promise<SealedChanges>): Promise<void> {
    // Handled here, and again when awaited in turn: a sealing that fails early is no unhandled rejection.
    sealing.catch(() => undefined);
    const write = async () => {
      const records = await sealing;
      // A change made before an earlier one failed: not written either, as the caller is told.
      if (this.failed) throw this.failed;
      const transaction = this.db.transaction(storeName, 'readwrite', { durability: 'strict' });
      const store = transaction.objectStore(storeName);
      for (const [slot, sealed] of records) {
        if (sealed) store.put(sealed, slot);
        else store.delete(slot);
      }
      await committed(transaction);
    };
    // Fail-stop: memory already holds the change; if IndexedDB does not, the store refuses everything
    // until reopened (from what IndexedDB holds), rather than go on from a state it could not save.
    this.writing = this.writing
      .catch(() => undefined)
      .then(write)
      .catch((error: unknown) => {
        this.failed ??= new LiaisonError(
          'KEY_STORE_FAILED',
          `the key store could not save a change (${describeFailure(error)}); it refuses every call until opened again`,
        );
        throw this.failed;
      });
    return this.writing;
  }

  /** The record's key in IndexedDB. The SDK's few names are remembered; an application's many are not. */
  private async slot(keys: Keys, name: string, remember = true): Promise<string> {
    let slot = this.slots.get(name);
    if (!slot) {
      const mac = await crypto.subtle.sign('HMAC', keys.hmac, new TextEncoder().encode(name));
      slot = sodium().to_base64(new Uint8Array(mac), sodium().base64_variants.URLSAFE_NO_PADDING);
      if (remember) this.slots.set(name, slot);
    }
    return slot;
  }
}

/** A KeyStoreData holding one entry: the plaintext of one record. */
function only(fill: (data: KeyStoreData) => void): KeyStoreData {
  const data = emptyKeyStoreData();
  fill(data);
  return data;
}

/** A DOMException's name says what failed (QuotaExceededError, AbortError…); its message is often empty. */
const describeFailure = (error: unknown) => {
  if (!error || typeof error !== 'object') return String(error);
  const { name, message } = error as { name?: unknown; message?: unknown };
  return [name, message].filter((part) => typeof part === 'string' && part !== '').join(': ') || 'unknown error';
};

async function seal(keys: Keys, slot: string, data: KeyStoreData): Promise<SealedRecord> {
  const plaintext = serializeKeyStoreData(data);
  try {
    return await sealBytes(keys, new TextEncoder().encode(slot), plaintext);
  } finally {
    wipe(plaintext);
  }
}

async function sealBytes(keys: Keys, additionalData: Uint8Array, plaintext: Uint8Array): Promise<SealedRecord> {
  const iv = randomBytes(12);
  const ciphertext = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, keys.aes, plaintext);
  return { iv, data: ciphertext };
}

/** An application record's associated data: its slot, in the application's namespace. */
const appContext = (slot: string) => new TextEncoder().encode(`${APP_NAMESPACE}${slot}`);

function checkAppName(name: string): void {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_APP_NAME_LENGTH) {
    throw new LiaisonError(
      'INVALID_INPUT',
      `an application record's name must be a text of 1 to ${MAX_APP_NAME_LENGTH} characters`,
    );
  }
}

function openDatabase(name: string): Promise<IdbDatabase> {
  const factory = indexedDbFactory();
  if (!factory) throw new LiaisonError('INSECURE_CONTEXT', 'IndexedDB is not available here');
  const request = factory.open(databaseName(name), DATABASE_VERSION);
  // From nothing, or from version 1 (no APP yet): only what is missing is made, nothing is moved.
  request.onupgradeneeded = () => {
    const db = request.result;
    for (const store of [RECORDS, META, APP]) if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
  };
  return requested(request).then((db) => {
    // A deletion or upgrade from elsewhere: let it through rather than block it forever.
    db.onversionchange = () => db.close();
    return db;
  });
}

/** The store's keys: made on first open, read (and, with a passphrase, unwrapped) afterwards. */
async function unlock(db: IdbDatabase, options: IndexedDbKeyStoreOptions): Promise<Keys> {
  const locked = (why: string) => new LiaisonError('KEY_STORE_LOCKED', why);
  const read = db.transaction([META, RECORDS, APP], 'readonly');
  const existing = (await requested(read.objectStore(META).get(PROTECTION))) as Protection | undefined;
  if (!existing) {
    // Records without their keys: the protection entry was deleted (or lost). Making new keys would
    // erase the device's identity (or the application's records) silently; refuse, and leave the
    // records for whoever can explain.
    const counts = await Promise.all([RECORDS, APP].map((store) => requested(read.objectStore(store).count())));
    if (counts.some((count) => count > 0))
      throw locked("the key store's protection record is missing, though it holds records: refused");
    const { keys, protection } = await newKeys(options);
    const write = db.transaction([META, RECORDS], 'readwrite', { durability: 'strict' });
    write.objectStore(META).put(protection, PROTECTION);
    await committed(write).catch((error: unknown) => {
      throw new LiaisonError('KEY_STORE_FAILED', `the new key store could not be saved (${describeFailure(error)})`);
    });
    return keys;
  }
  if (existing.version !== VERSION) throw locked('key store version not supported');
  if (existing.mode === 'device') {
    if (options.passphrase !== undefined) throw locked('this key store is not protected by a passphrase');
    return { aes: existing.aes, hmac: existing.hmac };
  }
  if (existing.mode !== 'passphrase') throw locked('unknown key store protection');
  if (options.passphrase === undefined) throw locked('this key store is protected by a passphrase');
  const { salt, opsLimit, memLimit, nonce, wrapped } = existing;
  // The cost sits in the database; bound it so an altered one cannot make opening hang or exhaust memory.
  if (opsLimit > MAX_ARGON2.opsLimit || memLimit > MAX_ARGON2.memLimit)
    throw locked('key store cost parameters out of range');
  const kek = deriveKey(options.passphrase, salt, opsLimit, memLimit);
  let raw: Uint8Array;
  try {
    raw = sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      wrapped,
      wrapContext(salt, opsLimit, memLimit),
      nonce,
      kek,
    );
  } catch {
    throw locked('wrong passphrase, or the key store was altered');
  } finally {
    wipe(kek);
  }
  return importKeys(raw);
}

async function newKeys(options: IndexedDbKeyStoreOptions): Promise<{ keys: Keys; protection: Protection }> {
  const s = sodium();
  if (options.passphrase === undefined) {
    const aes = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    const hmac = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign']);
    return { keys: { aes, hmac }, protection: { version: VERSION, mode: 'device', aes, hmac } };
  }
  const { opsLimit, memLimit } = options.argon2 ?? BROWSER_ARGON2;
  checkArgon2(opsLimit, memLimit);
  const salt = randomBytes(s.crypto_pwhash_SALTBYTES);
  const kek = deriveKey(options.passphrase, salt, opsLimit, memLimit);
  const raw = randomBytes(64);
  const nonce = randomBytes(s.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const wrapped = s.crypto_aead_xchacha20poly1305_ietf_encrypt(
    raw,
    wrapContext(salt, opsLimit, memLimit),
    null,
    nonce,
    kek,
  );
  wipe(kek);
  const protection: Protection = { version: VERSION, mode: 'passphrase', salt, opsLimit, memLimit, nonce, wrapped };
  return { keys: await importKeys(raw), protection };
}

/**
 * A new store's cost must be one `unlock` accepts (else the store could never be opened again) and
 * no cheaper than libsodium's interactive floor (else the passphrase protects little).
 */
function checkArgon2(opsLimit: number, memLimit: number): void {
  const s = sodium();
  const [minOps, minMem] = [s.crypto_pwhash_OPSLIMIT_INTERACTIVE, s.crypto_pwhash_MEMLIMIT_INTERACTIVE];
  const ok = (n: number, min: number, max: number) => Number.isSafeInteger(n) && n >= min && n <= max;
  if (!ok(opsLimit, minOps, MAX_ARGON2.opsLimit) || !ok(memLimit, minMem, MAX_ARGON2.memLimit))
    throw new LiaisonError(
      'INVALID_INPUT',
      `argon2 cost out of range: opsLimit must be at least ${minOps} and at most ${MAX_ARGON2.opsLimit}, memLimit at least ${minMem} and at most ${MAX_ARGON2.memLimit} bytes`,
    );
}

/** The wrapping's associated data: the parameters cannot be swapped for cheaper ones. */
const wrapContext = (salt: Uint8Array, opsLimit: number, memLimit: number) =>
  concat(WRAP_CONTEXT, salt, u32(opsLimit), u32(memLimit));

async function importKeys(raw: Uint8Array): Promise<Keys> {
  try {
    const aes = await crypto.subtle.importKey('raw', raw.slice(0, 32), 'AES-GCM', false, ['encrypt', 'decrypt']);
    const hmac = await crypto.subtle.importKey('raw', raw.slice(32, 64), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    return { aes, hmac };
  } finally {
    wipe(raw);
  }
}

function deriveKey(passphrase: string, salt: Uint8Array, opsLimit: number, memLimit: number): Uint8Array {
  const s = sodium();
  if (passphrase.length === 0) throw new LiaisonError('KEY_STORE_LOCKED', 'an empty passphrase protects nothing');
  return s.crypto_pwhash(32, passphrase, salt, opsLimit, memLimit, s.crypto_pwhash_ALG_ARGON2ID13);
}

/** Every record, opened and merged; one that does not open means the store was altered, and it is refused whole. */
async function load(db: IdbDatabase, keys: Keys): Promise<KeyStoreData> {
  const transaction = db.transaction(RECORDS, 'readonly');
  const store = transaction.objectStore(RECORDS);
  const [slots, records] = await Promise.all([
    requested(store.getAllKeys()),
    requested(store.getAll()) as Promise<SealedRecord[]>,
  ]);
  const data = emptyKeyStoreData();
  for (const [i, record] of records.entries()) {
    let plaintext: Uint8Array;
    try {
      plaintext = new Uint8Array(
        await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: record.iv, additionalData: new TextEncoder().encode(String(slots[i])) },
          keys.aes,
          record.data,
        ),
      );
    } catch {
      throw new LiaisonError('KEY_STORE_LOCKED', 'a key store record does not open: the key store was altered');
    }
    const entry = deserializeKeyStoreData(plaintext);
    wipe(plaintext);
    if (entry.identity) data.identity = entry.identity;
    for (const [k, v] of entry.signedPrekeys) data.signedPrekeys.set(k, v);
    for (const [k, v] of entry.oneTimePrekeys) data.oneTimePrekeys.set(k, v);
    for (const [k, v] of entry.kemPrekeys) data.kemPrekeys.set(k, v);
    for (const [k, v] of entry.sessions) data.sessions.set(k, v);
    for (const [k, v] of entry.peers) data.peers.set(k, v);
    for (const [k, v] of entry.state) data.state.set(k, v);
  }
  return data;
}
