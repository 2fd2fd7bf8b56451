/**
 * The JSON form of session records, as the SDK wrote them until the binary form (issue 25), kept
 * only to make records like those still in users' key stores: the SDK reads them, never writes them.
 * The writer is main's own at commit 2b6f3ce, frozen beside its ratchet for the wire tests.
 */
export { serializeSessionRecord as legacyJsonSessionRecord } from './main-2b6f3ce/session-record.js';
