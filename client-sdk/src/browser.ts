// Browser-only parts of the SDK (docs/browser.md), kept out of the main entry as node.ts is: a
// persistent encrypted key store in IndexedDB, opened by one tab at a time, and attachments from and to
// Blobs and streams, resumable after a reload.

export {
  type BlobLike,
  type BrowserDownloadOptions,
  blobAttachment,
  downloadToBlob,
  downloadToStream,
  PartialDownloads,
  UnsentFiles,
  type WritableStreamLike,
} from './browser/attachments.js';
export type { WhenInUse } from './key-store/device-lock.js';
export {
  type AppData,
  BROWSER_ARGON2,
  IndexedDbKeyStore,
  type IndexedDbKeyStoreOptions,
} from './key-store/indexed-db-key-store.js';
