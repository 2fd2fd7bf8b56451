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
}
interface RawDb {
  transaction(s: string, mode?: string): { objectStore(s: string): RawStore };
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

export const keyStorePage = {
  callsAfterClose,
  createWithCost,
  openWithoutProtection,
  failAWrite,
  callsAfterFailure,
  reopenAfterFailure,
};
