// The script of the browser tests' page: the SDK as a web application bundles it, and functions
// the tests call through page.evaluate (`window.sdk`). Runs in Chromium, not in Node.
import {
  generateIdentityKeyPair,
  isLiaisonError,
  LiaisonClient,
  type LiaisonClientOptions,
  type ReceivedMessage,
  ready,
  rotateSignedPrekey,
} from '@liaison/client';
import { IndexedDbKeyStore, type IndexedDbKeyStoreOptions } from '@liaison/client/browser';
import { keyStoreContract } from '@liaison/client/testing';
import { encodeBase64url } from '@liaison/protocol';
// Not exported: how the SDK tells a CORS refusal from an unreachable relay, called here directly.
import { unreachableRelay } from '../../../client-sdk/src/client/relay-errors.js';
import { randomId } from '../../../client-sdk/src/crypto/random-id.js';
import { runContract } from './mini-runner.js';

type Options = Omit<LiaisonClientOptions, 'keyStore'>;

const page = globalThis as unknown as {
  sdk: unknown;
  ready: boolean;
  document: { getElementById(id: string): { textContent: string } | null };
};

let store: IndexedDbKeyStore | undefined;
let client: LiaisonClient | undefined;
const received: ReceivedMessage[] = [];

function log(line: string): void {
  const element = page.document.getElementById('log');
  if (element) element.textContent += `${line}\n`;
}

/** A LiaisonError as plain data, so that page.evaluate hands the test its code and message. */
async function outcome<T>(
  work: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; code: string; message: string }> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (isLiaisonError(error)) return { ok: false, code: error.code, message: error.message };
    return { ok: false, code: 'THROWN', message: String(error) };
  }
}

page.sdk = {
  outcome,
  /** Opens (or creates) the device's store; makes its identity and signed prekey on first use. */
  async openDevice(options: IndexedDbKeyStoreOptions): Promise<string> {
    await ready();
    store = await IndexedDbKeyStore.open(options);
    let identity = await store.getIdentity();
    if (!identity) {
      identity = generateIdentityKeyPair();
      await store.setIdentity(identity);
      await rotateSignedPrekey(store, Date.now());
    }
    const deviceId = encodeBase64url(identity.publicKey);
    log(`device ${options.name ?? 'default'} open: ${deviceId.slice(0, 12)}…`);
    return deviceId;
  },
  async closeDevice(): Promise<void> {
    await client?.close();
    client = undefined;
    await store?.close();
    store = undefined;
  },
  async connect(options: Options): Promise<void> {
    if (!store) throw new Error('open the device first');
    client = await LiaisonClient.create({ ...options, keyStore: store });
    client.on('message', (message) => {
      received.push(message);
      log(`received from ${message.sender.contactPointId}: ${message.text}`);
    });
    await client.connect();
    log(`connected to ${options.serverUrl} as ${client.contactPointId}`);
  },
  async send(to: string, text: string): Promise<string> {
    if (!client) throw new Error('connect first');
    const { messageId } = await client.send(to, { text });
    log(`sent to ${to}: ${text}`);
    return messageId;
  },
  received: () => received.map((m) => ({ messageId: m.messageId, text: m.text, from: m.sender.contactPointId })),
  safetyNumber: (contactPointId: string) => client?.safetyNumber(contactPointId),
  /** The KeyStore contract suite against IndexedDbKeyStore, each test with a database of its own. */
  async keyStoreContract(options: { passphrase?: string }) {
    let n = 0;
    const results = await runContract((test) =>
      keyStoreContract(test, 'IndexedDbKeyStore', {
        open: () =>
          IndexedDbKeyStore.open({
            name: `contract-${Date.now()}-${++n}`,
            ...(options.passphrase && { passphrase: options.passphrase, argon2: { opsLimit: 1, memLimit: 8 << 20 } }),
          }),
        reopen: async (opened) => {
          const { name } = opened as IndexedDbKeyStore;
          await (opened as IndexedDbKeyStore).close();
          return IndexedDbKeyStore.open({
            name,
            ...(options.passphrase && { passphrase: options.passphrase }),
          });
        },
        close: (opened) => (opened as IndexedDbKeyStore).close(),
      }),
    );
    for (const r of results) log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.ok ? '' : `: ${r.error}`}`);
    return results;
  },
};
/** What IndexedDB holds for a device, as anyone reading the profile would see it. */
async function rawDatabase(name: string): Promise<{ text: string; keyExtractable: unknown }> {
  const idb = (globalThis as unknown as { indexedDB: { open(n: string): IdbRequest } }).indexedDB;
  const db = (await done(idb.open(`liaison-key-store:${name}`))) as {
    transaction(s: string[]): { objectStore(s: string): { getAll(): IdbRequest; getAllKeys(): IdbRequest } };
    close(): void;
  };
  const t = db.transaction(['records', 'meta']);
  const [keys, records, meta] = await Promise.all([
    done(t.objectStore('records').getAllKeys()),
    done(t.objectStore('records').getAll()),
    done(t.objectStore('meta').getAll()),
  ]);
  db.close();
  const hex = (b: ArrayBuffer | Uint8Array) =>
    [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');
  const text = JSON.stringify({
    keys,
    records: (records as Array<{ iv: Uint8Array; data: ArrayBuffer }>).map((r) => ({
      iv: hex(r.iv),
      data: hex(r.data),
    })),
    latin1: (records as Array<{ data: ArrayBuffer }>).map((r) => String.fromCharCode(...new Uint8Array(r.data))),
  });
  const protection = (meta as Array<{ aes?: { extractable: boolean } }>)[0];
  return { text, keyExtractable: protection?.aes?.extractable };
}

interface IdbRequest {
  result: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
const done = (r: IdbRequest) =>
  new Promise<unknown>((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new Error('IndexedDB request failed'));
  });

/** Starts opening a device without waiting (another tab may hold it); `opening()` tells how it went. */
let opening: { state: 'waiting' | 'open' | 'failed'; deviceId?: string; error?: string } | undefined;
function startOpening(options: IndexedDbKeyStoreOptions): void {
  opening = { state: 'waiting' };
  log(`waiting for device ${options.name ?? 'default'}…`);
  (page.sdk as { openDevice(o: IndexedDbKeyStoreOptions): Promise<string> }).openDevice(options).then(
    (deviceId) => {
      opening = { state: 'open', deviceId };
    },
    (error: unknown) => {
      opening = { state: 'failed', error: String(error) };
    },
  );
}

/** A request to the relay as the SDK makes it, and the error the SDK makes of a failure. */
async function reachRelay(serverUrl: string) {
  try {
    const response = await fetch(`${serverUrl}/healthz`);
    return { ok: true, status: response.status };
  } catch {
    await ready();
    const error = await unreachableRelay(serverUrl);
    log(`${error.code}: ${error.message}`);
    return { ok: false, code: error.code, message: error.message };
  }
}

/** What works outside a secure context: message ids, and a clear refusal from the key store. */
async function insecureContext() {
  await ready();
  const store = await outcome(() => IndexedDbKeyStore.open({ name: 'insecure' }));
  return {
    secure: (globalThis as { isSecureContext?: boolean }).isSecureContext,
    randomUUID: typeof (globalThis.crypto as { randomUUID?: unknown }).randomUUID,
    messageId: randomId(),
    store,
  };
}

Object.assign(page.sdk as object, {
  insecureContext,
  reachRelay,
  rawDatabase,
  startOpening,
  opening: async () => opening,
});
page.ready = true;
