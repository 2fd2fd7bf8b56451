import { encodeBase64url } from '@liaison/protocol';
import { generateIdentityKeyPair, type IdentityKeyPair, publicKemPrekey } from '../crypto/keys.js';
import {
  DEFAULT_PREKEY_POLICY,
  refillKemPrekeys,
  refillOneTimePrekeys,
  rotateLastResortKemPrekey,
  rotateSignedPrekey,
} from '../crypto/prekeys.js';
import { SessionCipher, type SessionPeer } from '../crypto/session-cipher.js';
import { ready } from '../crypto/sodium.js';
import type { ContactPointBinding, RemoteBundle } from '../crypto/x3dh.js';
import { MemoryKeyStore } from '../key-store/memory-key-store.js';
import { deserializeKeyStoreData, serializeKeyStoreData } from '../key-store/serialize.js';

export const NOW = 1_790_000_000_000;

/** A device with its own key store, as an agency tool would hold it, plus what a relay would serve of it. */
export interface TestDevice {
  id: string;
  /** The device with the contact point it speaks for, as a peer's session cipher addresses it. */
  address: SessionPeer;
  identity: IdentityKeyPair;
  store: MemoryKeyStore;
  cipher: SessionCipher;
  /**
   * Public bundle, taking one of the published one-time prekeys like a relay would (until none
   * remain), and a KEM prekey: a one-time one while any remain, then the last-resort one. `kem:
   * false` serves a classical bundle, as a relay would for a device that predates hybrid sessions.
   */
  bundle(options?: { oneTime?: boolean; kem?: boolean }): RemoteBundle;
  /** Simulates a process restart: the store goes through its byte form, and the cipher is new. */
  restart(): void;
}

let contactPoints = 0;

/** A device of a contact point of its own (an id and an account key), unless `owner` names one. */
export async function makeDevice(
  oneTimePrekeys = 5,
  owner: ContactPointBinding = {
    contactPointId: `cp-${++contactPoints}`,
    accountKey: generateIdentityKeyPair().publicKey,
  },
): Promise<TestDevice> {
  await ready();
  const identity = generateIdentityKeyPair();
  const store = new MemoryKeyStore();
  await store.setIdentity(identity);
  const signed = await rotateSignedPrekey(store, NOW);
  if (!signed) throw new Error('no signed prekey');
  const published = await refillOneTimePrekeys(store, 0, { ...DEFAULT_PREKEY_POLICY, oneTimeBatch: oneTimePrekeys });
  const spk = (await store.getSignedPrekeys())[0];
  if (!spk) throw new Error('no signed prekey');
  await rotateLastResortKemPrekey(store, NOW);
  await refillKemPrekeys(store, 0, NOW, { ...DEFAULT_PREKEY_POLICY, kemBatch: oneTimePrekeys });
  const kemPrekeys = (await store.getKemPrekeys()).sort((a, b) => Number(a.lastResort) - Number(b.lastResort));
  const id = encodeBase64url(identity.publicKey);
  const device: TestDevice = {
    id,
    address: { deviceId: id, ...owner },
    identity,
    store,
    cipher: new SessionCipher(store, owner),
    bundle({ oneTime = true, kem = true } = {}) {
      const otp = oneTime ? published.shift() : undefined;
      const kemPrekey = kem ? (kemPrekeys.length > 1 ? kemPrekeys.shift() : kemPrekeys[0]) : undefined;
      const wire = kemPrekey && publicKemPrekey(kemPrekey);
      return {
        identityKey: identity.publicKey,
        signedPrekey: { id: spk.id, publicKey: spk.publicKey, createdAt: spk.createdAt, signature: spk.signature },
        ...(otp && { oneTimePrekey: { id: otp.id, publicKey: Buffer.from(otp.publicKey, 'base64url') } }),
        ...(kemPrekey &&
          wire && {
            kemPrekey: {
              id: kemPrekey.id,
              lastResort: kemPrekey.lastResort,
              publicKey: Buffer.from(wire.publicKey, 'base64url'),
              createdAt: kemPrekey.createdAt,
              signature: kemPrekey.signature,
            },
          }),
      };
    },
    restart() {
      // biome-ignore lint/complexity/useLiteralKeys: reaching the protected data is the point of a restart
      const bytes = serializeKeyStoreData(device.store['data']);
      device.store = new MemoryKeyStore(deserializeKeyStoreData(bytes));
      device.cipher = new SessionCipher(device.store, owner);
    },
  };
  return device;
}

export const text = (s: string) => new TextEncoder().encode(s);
export const read = (b: Uint8Array) => new TextDecoder().decode(b);
