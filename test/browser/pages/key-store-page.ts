// Page functions for the key store's failure tests (test/browser/key-store-failures.test.ts): each
// opens its own IndexedDbKeyStore, does one thing to it, and returns what the SDK said, as data.
import { generateIdentityKeyPair, isLiaisonError, ready, rotateSignedPrekey } from '@liaison/client';
import { IndexedDbKeyStore, type IndexedDbKeyStoreOptions } from '@liaison/client/browser';

export interface Outcome {
  ok: boolean;
  code?: string;
  message?: string;
  value?: unknown;
}

async function outcome(work: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (isLiaisonError(error)) return { ok: false, code: error.code, message: error.message };
    return { ok: false, code: 'THROWN', message: String(error) };
  }
}

/** A device as the SDK leaves it after enrolment: identity, signed prekey, one-time prekeys, a session, state. */
async function enrolled(options: IndexedDbKeyStoreOptions): Promise<IndexedDbKeyStore> {
  await ready();
  const store = await IndexedDbKeyStore.open(options);
  if (!(await store.getIdentity())) {
    const identity = generateIdentityKeyPair();
    await store.setIdentity(identity);
    await rotateSignedPrekey(store, Date.now());
    const { privateKey, publicKey } = generateIdentityKeyPair();
    await store.putOneTimePrekeys([{ id: 1, privateKey, publicKey }]);
    await store.putSession('peer-device', new Uint8Array(64).fill(7));
    await store.setState('cursor', '42');
  }
  return store;
}

/** Every getter and setter of a store, each tried once. */
function everyCall(store: IndexedDbKeyStore): Record<string, () => Promise<unknown>> {
  const { privateKey, publicKey } = generateIdentityKeyPair();
  return {
    getIdentity: () => store.getIdentity(),
    setIdentity: () => store.setIdentity({ privateKey, publicKey }),
    getSignedPrekeys: () => store.getSignedPrekeys(),
    putSignedPrekey: () =>
      store.putSignedPrekey({ id: 9, privateKey, publicKey, createdAt: 1, signature: new Uint8Array(64) }),
    removeSignedPrekey: () => store.removeSignedPrekey(9),
    getOneTimePrekey: () => store.getOneTimePrekey(1),
    getOneTimePrekeyIds: () => store.getOneTimePrekeyIds(),
    putOneTimePrekeys: () => store.putOneTimePrekeys([{ id: 2, privateKey, publicKey }]),
    removeOneTimePrekey: () => store.removeOneTimePrekey(1),
    getSession: () => store.getSession('peer-device'),
    putSession: () => store.putSession('peer-device', new Uint8Array(64)),
    getPeerIdentity: () => store.getPeerIdentity('cp'),
    putPeerIdentity: () => store.putPeerIdentity('cp', { accountKey: publicKey, firstSeenAt: 1 }),
    getState: () => store.getState('cursor'),
    setState: () => store.setState('cursor', '43'),
    stateKeys: () => store.stateKeys(''),
    appDataGet: () => store.appData.get('history'),
    appDataPut: () => store.appData.put('history', new Uint8Array(8)),
    appDataDelete: () => store.appData.delete('history'),
  };
}

/** What each call of a closed store answers. */
async function callsAfterClose(name: string): Promise<Record<string, Outcome>> {
  const store = await enrolled({ name });
  await store.close();
  const outcomes: Record<string, Outcome> = {};
  for (const [call, work] of Object.entries(everyCall(store))) outcomes[call] = await outcome(work);
  return outcomes;
}

/** Opens a new passphrase-protected store with this Argon2 cost, closes it, opens it again. */
async function createWithCost(name: string, argon2: { opsLimit: number; memLimit: number }) {
  await ready();
  const passphrase = 'a passphrase';
  const created = await outcome(async () => (await IndexedDbKeyStore.open({ name, passphrase, argon2 })).close());
  const reopened = await outcome(async () => (await IndexedDbKeyStore.open({ name, passphrase })).close());
  return { created, reopened };
}

/** The raw database of a device, as script (or anyone writing the profile) can reach it. */
async function rawDb(name: string): Promise<RawDb> {
  const idb = (globalThis as unknown as { indexedDB: { open(n: string): RawRequest } }).indexedDB;
  return (await done(idb.open(`liaison-key-store:${name}`))) as RawDb;
}
interface RawRequest {
  result: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface RawStore {
  delete(key: string): RawRequest;
  count(): RawRequest;
  get(key: string): RawRequest;
  put(value: unknown, key: string): RawRequest;
  getAll(): RawRequest;
  getAllKeys(): RawRequest;
}
interface RawDb {
  transaction(s: string | string[], mode?: string): { objectStore(s: string): RawStore };
  close(): void;
}
const done = (r: RawRequest) =>
  new Promise<unknown>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new Error('IndexedDB request failed'));
  });

/** Enrols a device, deletes its protection record (the keys' entry) only, and opens it again. */
async function openWithoutProtection(name: string) {
  const store = await enrolled({ name });
  const identity = await store.getIdentity();
  await store.close();
  const db = await rawDb(name);
  await done(db.transaction('meta', 'readwrite').objectStore('meta').delete('protection'));
  const reopened = await outcome(async () => {
    const again = await IndexedDbKeyStore.open({ name });
    const same = (await again.getIdentity())?.publicKey.join() === identity?.publicKey.join();
    await again.close();
    return { identityKept: same };
  });
  const records = (await done(db.transaction('records').objectStore('records').count())) as number;
  db.close();
  return { reopened, records };
}

/**
 * Enrols a device and makes one write of `bytes` bytes of state, which the test has made fail
 * (a storage quota smaller than it). Returns what that write said, then what each call said after.
 */
let failing: IndexedDbKeyStore | undefined;
async function failAWrite(name: string, bytes: number) {
  failing = await enrolled({ name });
  return { write: await outcome(() => (failing as IndexedDbKeyStore).setState('big', 'x'.repeat(bytes))) };
}
/** The same with an application record of `bytes` bytes: the store stops as it does for its own. */
async function failAnAppWrite(name: string, bytes: number) {
  failing = await enrolled({ name });
  return { write: await outcome(() => (failing as IndexedDbKeyStore).appData.put('big', new Uint8Array(bytes))) };
}
async function callsAfterFailure(): Promise<Record<string, Outcome>> {
  const store = failing as IndexedDbKeyStore;
  const outcomes: Record<string, Outcome> = {};
  for (const [call, work] of Object.entries(everyCall(store))) outcomes[call] = await outcome(work);
  return outcomes;
}
/** Closes the failed store and opens the device again: what is on disk. */
async function reopenAfterFailure(name: string) {
  await failing?.close();
  failing = undefined;
  return outcome(async () => {
    const store = await IndexedDbKeyStore.open({ name });
    const state = { big: (await store.getState('big'))?.length, cursor: await store.getState('cursor') };
    await store.setState('cursor', '44');
    await store.close();
    return state;
  });
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => value && new TextDecoder().decode(value);
const PASSPHRASE = 'app data passphrase';

/**
 * The application's records across a lock screen: put, overwritten, deleted, read back at once (before
 * the writes are known to be done), then read after closing and opening again with the passphrase.
 */
async function appDataRoundTrip(name: string) {
  const store = await enrolled({ name, passphrase: PASSPHRASE });
  const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
  const reused = bytes('first draft');
  // Not awaited one by one: each is read back in the order it was asked for.
  const writes = [
    store.appData.put('conversation:fr-moj.claire', bytes('Bonjour, the request is attached.')),
    store.appData.put('binary', binary),
    store.appData.put('draft', reused),
    store.appData.put('to-delete', bytes('gone soon')),
    store.appData.delete('to-delete'),
  ];
  // The caller's array, changed after put: what was put is what is kept.
  reused.fill(0);
  const before = {
    draft: text(await store.appData.get('draft')),
    deleted: await store.appData.get('to-delete'),
    never: await store.appData.get('never-written'),
  };
  await Promise.all(writes);
  await store.appData.put('draft', bytes('second draft'));
  await store.close();
  const locked = await outcome(() => IndexedDbKeyStore.open({ name, passphrase: 'not the passphrase' }));
  const again = await IndexedDbKeyStore.open({ name, passphrase: PASSPHRASE });
  const after = {
    conversation: text(await again.appData.get('conversation:fr-moj.claire')),
    binary: [...((await again.appData.get('binary')) ?? [])].join() === [...binary].join(),
    draft: text(await again.appData.get('draft')),
    deleted: await again.appData.get('to-delete'),
    cursor: await again.getState('cursor'),
  };
  await again.close();
  return { before, after, locked };
}

/** Everything IndexedDB holds for a device with application records, as anyone reading the profile sees it. */
async function appDataAtRest(name: string, secret: string) {
  const store = await enrolled({ name });
  await store.appData.put(`reference ${secret}`, bytes(`message text ${secret}`));
  await store.close();
  const db = await rawDb(name);
  const t = db.transaction(['records', 'app']);
  const [keys, values, sdkKeys] = await Promise.all([
    done(t.objectStore('app').getAllKeys()),
    done(t.objectStore('app').getAll()),
    done(t.objectStore('records').getAllKeys()),
  ]);
  db.close();
  const latin1 = (values as Array<{ data: ArrayBuffer }>).map((r) => String.fromCharCode(...new Uint8Array(r.data)));
  return {
    records: (values as unknown[]).length,
    sdkRecords: (sdkKeys as unknown[]).length,
    text: JSON.stringify({ keys, latin1 }),
  };
}

/**
 * Application records moved by someone who can write the profile but not seal: two swapped in their
 * object store, and one copied among the SDK's records. Neither opens as what it was not sealed as.
 */
async function appDataSwapped(name: string) {
  const store = await enrolled({ name });
  await store.appData.put('a', bytes('value of a'));
  await store.appData.put('b', bytes('value of b'));
  await store.close();
  const db = await rawDb(name);
  const appStore = () => db.transaction('app', 'readwrite').objectStore('app');
  const [slots, values] = (await Promise.all([done(appStore().getAllKeys()), done(appStore().getAll())])) as [
    string[],
    unknown[],
  ];
  const [slotA, slotB] = slots as [string, string];
  await done(appStore().put(values[1], slotA));
  await done(appStore().put(values[0], slotB));
  const opened = await IndexedDbKeyStore.open({ name });
  const swapped = { a: await outcome(() => opened.appData.get('a')), b: await outcome(() => opened.appData.get('b')) };
  // The store goes on: a record that does not open refuses that read, not the device.
  const identityStill = (await opened.getIdentity()) !== undefined;
  await opened.close();
  // An application record among the SDK's: its bytes are never read back as an SDK entry.
  await done(db.transaction('records', 'readwrite').objectStore('records').put(values[0], slotA));
  db.close();
  const moved = await outcome(async () => (await IndexedDbKeyStore.open({ name })).close());
  return { swapped, identityStill, moved };
}

/** What appData says to names and values it does not take. */
async function appDataRefusals(name: string) {
  const store = await enrolled({ name });
  const results = {
    emptyName: await outcome(() => store.appData.put('', bytes('x'))),
    longName: await outcome(() => store.appData.get('x'.repeat(1025))),
    notBytes: await outcome(() => store.appData.put('name', 'text' as unknown as Uint8Array)),
    longestName: await outcome(() => store.appData.put('x'.repeat(1024), bytes('kept'))),
  };
  await store.close();
  return results;
}

export const keyStorePage = {
  appDataRoundTrip,
  appDataAtRest,
  appDataSwapped,
  appDataRefusals,
  callsAfterClose,
  createWithCost,
  openWithoutProtection,
  failAWrite,
  failAnAppWrite,
  callsAfterFailure,
  reopenAfterFailure,
};
