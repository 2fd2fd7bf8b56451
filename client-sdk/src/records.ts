// Case records (docs/evidence.md), kept out of the main entry as node.ts and browser.ts are: what
// exports a record from a client, verifies one offline and renders it for people. A court's tool
// needs only this and the network roots; an agency tool that never exports does not ship it.

export { exportRecord, type RecordExport, type RecordSource } from './evidence/record.js';
export { renderRecordHtml } from './evidence/render-record.js';
export {
  type Finding,
  type Party,
  type RecordedMessage,
  type RecordReport,
  type RecordVerification,
  type RefusalCode,
  type VerifyOptions,
  verifyRecord,
} from './evidence/verify-record.js';
