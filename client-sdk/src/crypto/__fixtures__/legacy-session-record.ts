/**
 * The JSON form of session records, as the SDK wrote them until the binary form (issue 25), kept
 * only to make records like those still in users' key stores: the SDK reads them, never writes them.
 * Copied from session-record.ts as it was at commit 2b6f3ce.
 */
import { encodeBase64url } from '@liaison/protocol';
import type { SessionRecord, SessionState } from '../session-record.js';

const b64 = encodeBase64url;

function serializeState(s: SessionState) {
  const r = s.ratchet;
  const pending = s.pendingPrekey;
  return {
    version: s.version,
    ratchet: {
      rootKey: b64(r.rootKey),
      sendingPublic: b64(r.sendingKeyPair.publicKey),
      sendingPrivate: b64(r.sendingKeyPair.privateKey),
      sendingChainKey: r.sendingChainKey && b64(r.sendingChainKey),
      sendingN: r.sendingN,
      previousSendingN: r.previousSendingN,
      receivingKey: r.receivingKey && b64(r.receivingKey),
      receivingChainKey: r.receivingChainKey && b64(r.receivingChainKey),
      receivingN: r.receivingN,
      skipped: [...r.skipped].map(([id, key]) => [id, b64(key)]),
      oldChains: r.oldChains,
    },
    associatedData: b64(s.associatedData),
    remoteIdentityKey: b64(s.remoteIdentityKey),
    peer: { contactPointId: s.peer.contactPointId, accountKey: b64(s.peer.accountKey) },
    baseKey: b64(s.baseKey),
    pendingPrekey: pending
      ? {
          signedPrekeyId: pending.signedPrekeyId,
          ...(pending.oneTimePrekeyId !== undefined && { oneTimePrekeyId: pending.oneTimePrekeyId }),
          ...(pending.kem && { kem: { prekeyId: pending.kem.prekeyId, ciphertext: b64(pending.kem.ciphertext) } }),
        }
      : null,
  };
}

export function legacyJsonSessionRecord(record: SessionRecord): Uint8Array {
  const json = {
    version: 2,
    current: record.current ? serializeState(record.current) : null,
    previous: record.previous.map(serializeState),
  };
  return new TextEncoder().encode(JSON.stringify(json));
}
