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
import {
  type BlobLike,
  downloadToBlob,
  downloadToStream,
  IndexedDbKeyStore,
  type IndexedDbKeyStoreOptions,
  PartialDownloads,
  UnsentFiles,
} from '@liaison/client/browser';
import { keyStoreContract } from '@liaison/client/testing';
import { type Attachment, encodeBase64url } from '@liaison/protocol';
import { Sha256 } from '../../../client-sdk/src/attachments/attachment-cipher.js';
// Not exported: how the SDK tells a CORS refusal from an unreachable relay, called here directly.
import { unreachableRelay } from '../../../client-sdk/src/client/relay-errors.js';
import { randomId } from '../../../client-sdk/src/crypto/random-id.js';
import { keyStorePage } from './key-store-page.js';
import { runContract } from './mini-runner.js';

type Options = Omit<LiaisonClientOptions, 'keyStore'>;

const page = globalThis as unknown as {
  sdk: unknown;
  ready: boolean;
  document: {
    getElementById(id: string): { textContent: string; append(child: unknown): void } | null;
    createElement(tag: string): { textContent: string };
  };
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
            ...(options.passphrase && { passphrase: options.passphrase }),
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

/**
 * Attachments (test/browser/attachments.test.ts). The file is made here, from random 1 MiB pieces
 * each handed to the browser as a Blob at once, so that neither the test nor the page holds it
 * whole; it is kept in IndexedDB (UnsentFiles) under its message id, to survive a reload.
 */
export interface Transfer {
  state: 'running' | 'done' | 'failed';
  /** Progress events, one per chunk moved: `transferred` of each. */
  progress: number[];
  total?: number;
  sha256?: string;
  error?: string;
}
const transfers = new Map<string, Transfer>();
const hex = (bytes: Uint8Array) => [...bytes].map((x) => x.toString(16).padStart(2, '0')).join('');

function track(
  id: string,
  work: (onProgress: (p: { transferred: number; total: number }) => void) => Promise<string | undefined>,
): void {
  const transfer: Transfer = { state: 'running', progress: [] };
  transfers.set(id, transfer);
  const line = page.document.createElement('div');
  page.document.getElementById('log')?.append(line);
  const show = () => {
    const done = transfer.progress.at(-1) ?? 0;
    line.textContent = `${id.split(':')[0]} ${id.slice(-8)}: ${transfer.state} ${(done / 2 ** 20).toFixed(1)} / ${((transfer.total ?? 0) / 2 ** 20).toFixed(1)} MiB${transfer.error ? ` ${transfer.error}` : ''}`;
  };
  show();
  work((p) => {
    transfer.progress.push(p.transferred);
    transfer.total = p.total;
    show();
  }).then(
    (sha256) => {
      transfer.state = 'done';
      if (sha256) transfer.sha256 = sha256;
      show();
    },
    (error: unknown) => {
      transfer.state = 'failed';
      transfer.error = isLiaisonError(error) ? `${error.code}: ${error.message}` : String(error);
      show();
    },
  );
}

/** SHA-256 of a Blob, read a slice at a time. */
async function blobSha256(blob: BlobLike): Promise<string> {
  const hash = new Sha256();
  for (let start = 0; start < blob.size; start += 2 ** 20) {
    hash.update(new Uint8Array(await blob.slice(start, Math.min(blob.size, start + 2 ** 20)).arrayBuffer()));
  }
  return hex(hash.digest());
}

const Blob_ = (globalThis as unknown as { Blob: new (parts: unknown[], o?: { type?: string }) => BlobLike }).Blob;

/** Makes a file of `mib` random MiB, keeps it for message `messageId`, and returns its SHA-256. */
async function makeFile(messageId: string, name: string, mib: number): Promise<string> {
  const parts: BlobLike[] = [];
  for (let i = 0; i < mib; i++) {
    const piece = new Uint8Array(2 ** 20);
    for (let at = 0; at < piece.length; at += 65536) crypto.getRandomValues(piece.subarray(at, at + 65536));
    parts.push(new Blob_([piece]));
  }
  const file = new Blob_(parts, { type: 'application/octet-stream' });
  const unsent = await UnsentFiles.open('test');
  await unsent.keep(messageId, [{ blob: file, name }]);
  unsent.close();
  return blobSha256(file);
}

/** Starts sending the files kept for `messageId` (again, after a reload: the upload resumes). */
async function sendKept(to: string, messageId: string, text: string): Promise<void> {
  if (!client) throw new Error('connect first');
  const sender = client;
  const unsent = await UnsentFiles.open('test');
  const attachments = await unsent.attachments(messageId);
  if (attachments.length === 0) throw new Error(`no files kept for ${messageId}`);
  track(`send:${messageId}`, async (onProgress) => {
    await sender.send(to, { text }, { messageId, attachments, onProgress });
    await unsent.forget(messageId);
    unsent.close();
    return undefined;
  });
}

const attachmentOf = (messageId: string): Attachment => {
  const attachment = received.find((m) => m.messageId === messageId)?.attachments?.[0];
  if (!attachment) throw new Error(`no attachment in message ${messageId}`);
  return attachment;
};

/**
 * Runs a download as the application would: with its chunks kept in IndexedDB (PartialDownloads),
 * so that the same download after a reload resumes. `attachment` is the one of `messageId` that
 * the test kept across a reload (an application keeps its messages; this page does not).
 */
async function resumable<T>(work: (partial: PartialDownloads) => Promise<T>): Promise<T> {
  const partial = await PartialDownloads.open('test');
  try {
    return await work(partial);
  } finally {
    partial.close();
  }
}

/** Starts downloading the attachment of a received message into a Blob, then hashes the Blob. */
function downloadBlob(messageId: string, attachment = attachmentOf(messageId)): void {
  if (!client) throw new Error('connect first');
  const receiver = client;
  track(`blob:${messageId}`, (onProgress) =>
    resumable(async (partial) => blobSha256(await downloadToBlob(receiver, attachment, { onProgress, partial }))),
  );
}

/** Starts downloading the attachment of a received message into a WritableStream that hashes what it is given. */
function downloadStream(messageId: string, attachment = attachmentOf(messageId)): void {
  if (!client) throw new Error('connect first');
  const receiver = client;
  track(`stream:${messageId}`, (onProgress) =>
    resumable(async (partial) => {
      const hash = new Sha256();
      let closed = false;
      const stream = new WritableStream<Uint8Array>({
        write: (chunk) => hash.update(chunk),
        close: () => {
          closed = true;
        },
      });
      await downloadToStream(receiver, attachment, stream, { onProgress, partial });
      if (!closed) throw new Error('the stream was not closed');
      return hex(hash.digest());
    }),
  );
}

/** Inverts one byte of a kept ciphertext chunk, as anyone with the browser profile could. */
async function tamperKept(blobId: string, index: number): Promise<void> {
  const idb = (globalThis as unknown as { indexedDB: { open(n: string): IdbRequest } }).indexedDB;
  const db = (await done(idb.open('liaison-downloads:test'))) as {
    transaction(
      s: string,
      mode: string,
    ): { objectStore(s: string): { get(k: string): IdbRequest; put(v: unknown, k: string): IdbRequest } };
    close(): void;
  };
  const key = `${blobId}:${String(index).padStart(8, '0')}`;
  const chunk = (await done(db.transaction('chunks', 'readonly').objectStore('chunks').get(key))) as Uint8Array;
  if (!chunk) throw new Error(`chunk ${index} of ${blobId} is not kept`);
  chunk[999] = 255 - (chunk[999] as number);
  await done(db.transaction('chunks', 'readwrite').objectStore('chunks').put(chunk, key));
  db.close();
}

Object.assign(page.sdk as object, {
  makeFile,
  sendKept,
  downloadBlob,
  downloadStream,
  transfer: async (id: string) => transfers.get(id),
  attachment: async (messageId: string) => attachmentOf(messageId),
  keptChunks: (blobId: string) => resumable((partial) => partial.keptChunks(blobId)),
  keptDownloads: () => resumable((partial) => partial.blobIds()),
  tamperKept,
  keptMessageIds: async () => {
    const unsent = await UnsentFiles.open('test');
    const ids = await unsent.messageIds();
    unsent.close();
    return ids;
  },
  insecureContext,
  reachRelay,
  rawDatabase,
  startOpening,
  opening: async () => opening,
  ...keyStorePage,
});
page.ready = true;
