import { decodeBase64url, encodeBase64url } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import { emptyKeyStoreData, type KeyStoreData } from './memory-key-store.js';

/** A key store's contents as bytes (JSON, byte fields in base64url), and back. */

const b64 = encodeBase64url;
const VERSION = 1;

export function serializeKeyStoreData(data: KeyStoreData): Uint8Array {
  const json = {
    version: VERSION,
    identity: data.identity && { publicKey: b64(data.identity.publicKey), privateKey: b64(data.identity.privateKey) },
    signedPrekeys: [...data.signedPrekeys.values()].map((p) => ({
      id: p.id,
      createdAt: p.createdAt,
      retiredAt: p.retiredAt,
      publicKey: b64(p.publicKey),
      privateKey: b64(p.privateKey),
      signature: b64(p.signature),
    })),
    oneTimePrekeys: [...data.oneTimePrekeys.values()].map((p) => ({
      id: p.id,
      publicKey: b64(p.publicKey),
      privateKey: b64(p.privateKey),
    })),
    kemPrekeys: [...data.kemPrekeys.values()].map((p) => ({
      id: p.id,
      lastResort: p.lastResort,
      createdAt: p.createdAt,
      retiredAt: p.retiredAt,
      seed: b64(p.seed),
      signature: b64(p.signature),
    })),
    sessions: [...data.sessions].map(([deviceId, record]) => [deviceId, b64(record)]),
    peers: [...data.peers].map(([contactPointId, p]) => [
      contactPointId,
      { accountKey: b64(p.accountKey), firstSeenAt: p.firstSeenAt, verifiedAt: p.verifiedAt },
    ]),
    state: [...data.state],
  };
  return new TextEncoder().encode(JSON.stringify(json));
}

// Input here has passed AEAD authentication under the store's key; a shape error means a bug or a
// store written by an incompatible version, and the store is refused whole.
type Json = Record<string, unknown>;
const bad = (): never => {
  throw new LiaisonError('KEY_STORE_LOCKED', 'key store contents are not in a format this SDK reads');
};
const bytes = (v: unknown) => (typeof v === 'string' ? decodeBase64url(v) : undefined) ?? bad();
const int = (v: unknown) => (Number.isSafeInteger(v) ? (v as number) : bad());
const optionalInt = (v: unknown) => (v === undefined ? undefined : int(v));
const obj = (v: unknown) => (typeof v === 'object' && v !== null ? (v as Json) : bad());
const arr = (v: unknown) => (Array.isArray(v) ? v : bad());
const str = (v: unknown) => (typeof v === 'string' ? v : bad());

export function deserializeKeyStoreData(raw: Uint8Array): KeyStoreData {
  const json = obj(JSON.parse(new TextDecoder().decode(raw)));
  if (json.version !== VERSION) bad();
  const data = emptyKeyStoreData();
  if (json.identity !== undefined) {
    const identity = obj(json.identity);
    data.identity = { publicKey: bytes(identity.publicKey), privateKey: bytes(identity.privateKey) };
  }
  for (const value of arr(json.signedPrekeys)) {
    const p = obj(value);
    const retiredAt = optionalInt(p.retiredAt);
    data.signedPrekeys.set(int(p.id), {
      id: int(p.id),
      createdAt: int(p.createdAt),
      ...(retiredAt !== undefined && { retiredAt }),
      publicKey: bytes(p.publicKey),
      privateKey: bytes(p.privateKey),
      signature: bytes(p.signature),
    });
  }
  for (const value of arr(json.oneTimePrekeys)) {
    const p = obj(value);
    data.oneTimePrekeys.set(int(p.id), {
      id: int(p.id),
      publicKey: bytes(p.publicKey),
      privateKey: bytes(p.privateKey),
    });
  }
  // Absent from stores written before hybrid sessions.
  for (const value of json.kemPrekeys === undefined ? [] : arr(json.kemPrekeys)) {
    const p = obj(value);
    const retiredAt = optionalInt(p.retiredAt);
    data.kemPrekeys.set(int(p.id), {
      id: int(p.id),
      lastResort: typeof p.lastResort === 'boolean' ? p.lastResort : bad(),
      createdAt: int(p.createdAt),
      ...(retiredAt !== undefined && { retiredAt }),
      seed: bytes(p.seed),
      signature: bytes(p.signature),
    });
  }
  for (const entry of arr(json.sessions)) {
    const [deviceId, record] = arr(entry);
    data.sessions.set(str(deviceId), bytes(record));
  }
  for (const entry of arr(json.peers)) {
    const [contactPointId, value] = arr(entry);
    const p = obj(value);
    const verifiedAt = optionalInt(p.verifiedAt);
    data.peers.set(str(contactPointId), {
      accountKey: bytes(p.accountKey),
      firstSeenAt: int(p.firstSeenAt),
      ...(verifiedAt !== undefined && { verifiedAt }),
    });
  }
  for (const entry of json.state === undefined ? [] : arr(json.state)) {
    const [key, value] = arr(entry);
    data.state.set(str(key), str(value));
  }
  return data;
}
