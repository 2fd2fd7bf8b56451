// Node-only parts of the SDK, kept out of the main entry so that it bundles for browsers.

export { downloadToFile, fileAttachment } from './attachments/node-files.js';
export { workerHash } from './attachments/worker-hash.js';
export { createNodeFetch, type NodeFetchOptions, nodeFetch } from './client/node-fetch.js';
export { DEFAULT_ARGON2, FileKeyStore, type KeyStoreSecret } from './key-store/file-key-store.js';
