/**
 * The few browser APIs the browser entry uses, typed here rather than through TypeScript's DOM
 * library: the repository compiles as one program for Node and browser code, and the DOM library
 * would retype Node's globals (fetch, streams) for every package.
 */

export interface IdbRequest<T = unknown> {
  result: T;
  error: { name: string; message: string } | null;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}

export interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  onupgradeneeded: (() => void) | null;
  onblocked: (() => void) | null;
}

/** An `IDBKeyRange`, made by `keyRange`. */
export type IdbKeyRange = { readonly lower: unknown; readonly upper: unknown };

export interface IdbObjectStore {
  get(key: string): IdbRequest<unknown>;
  getAll(): IdbRequest<unknown[]>;
  /** In the same order as getAll's values. */
  getAllKeys(range?: IdbKeyRange): IdbRequest<string[]>;
  count(range?: IdbKeyRange): IdbRequest<number>;
  put(value: unknown, key: string): IdbRequest<unknown>;
  delete(key: string | IdbKeyRange): IdbRequest<unknown>;
  clear(): IdbRequest<unknown>;
}

export interface IdbTransaction {
  objectStore(name: string): IdbObjectStore;
  oncomplete: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  error: { name: string; message: string } | null;
}

export interface IdbDatabase {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): IdbObjectStore;
  transaction(
    names: string | string[],
    mode: 'readonly' | 'readwrite',
    options?: { durability?: string },
  ): IdbTransaction;
  close(): void;
  onversionchange: (() => void) | null;
}

export interface IdbFactory {
  open(name: string, version: number): IdbOpenRequest;
  deleteDatabase(name: string): IdbRequest<unknown>;
}

export interface LockManager {
  request(
    name: string,
    options: { mode?: 'exclusive' | 'shared'; ifAvailable?: boolean; signal?: AbortSignal },
    callback: (lock: unknown) => Promise<unknown>,
  ): Promise<unknown>;
}

interface BrowserGlobals {
  indexedDB?: IdbFactory;
  IDBKeyRange?: { bound(lower: string, upper: string): IdbKeyRange };
  navigator?: { locks?: LockManager; storage?: { persist?(): Promise<boolean> } };
  isSecureContext?: boolean;
}

const globals = globalThis as unknown as BrowserGlobals;

/** Whether the page runs in a secure context (https, or http on localhost): WebCrypto's subtle API needs one. */
export const isSecureContext = (): boolean =>
  globals.isSecureContext !== false && globalThis.crypto?.subtle !== undefined;

export const indexedDbFactory = (): IdbFactory | undefined => globals.indexedDB;

/** The string keys from `lower` to `upper`, both included. */
export const keyRange = (lower: string, upper: string): IdbKeyRange => {
  if (!globals.IDBKeyRange) throw new Error('IndexedDB is not available here');
  return globals.IDBKeyRange.bound(lower, upper);
};

export const lockManager = (): LockManager | undefined => globals.navigator?.locks;

/** An IndexedDB request as a promise. */
export function requested<T>(request: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Resolves when a transaction has committed; rejects when it aborted (nothing of it was written). */
export function committed(transaction: IdbTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error ?? new Error('transaction aborted'));
  });
}
