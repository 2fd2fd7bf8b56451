import type { IdentityKeyPair, StoredKemPrekey, StoredOneTimePrekey, StoredSignedPrekey } from '../crypto/keys.js';

/** What the device recorded about a contact point's account key (trust on first use, then checks). */
export interface PeerIdentity {
  accountKey: Uint8Array;
  firstSeenAt: number;
  /** Set when a person compared safety numbers and confirmed this key. */
  verifiedAt?: number;
}

/**
 * Where a device keeps its secrets: its identity, its prekeys, its sessions (as opaque bytes) and
 * what it knows of its peers' identities. Private keys enter and leave only through the SDK's own
 * crypto code; no public API of the SDK returns them.
 */
export interface KeyStore {
  getIdentity(): Promise<IdentityKeyPair | undefined>;
  setIdentity(identity: IdentityKeyPair): Promise<void>;

  getSignedPrekeys(): Promise<StoredSignedPrekey[]>;
  putSignedPrekey(prekey: StoredSignedPrekey): Promise<void>;
  removeSignedPrekey(id: number): Promise<void>;

  getOneTimePrekey(id: number): Promise<StoredOneTimePrekey | undefined>;
  getOneTimePrekeyIds(): Promise<number[]>;
  putOneTimePrekeys(prekeys: readonly StoredOneTimePrekey[]): Promise<void>;
  removeOneTimePrekey(id: number): Promise<void>;

  /** ML-KEM-768 prekeys of both kinds (`lastResort` tells which); ids are unique across both. */
  getKemPrekey(id: number): Promise<StoredKemPrekey | undefined>;
  getKemPrekeys(): Promise<StoredKemPrekey[]>;
  putKemPrekeys(prekeys: readonly StoredKemPrekey[]): Promise<void>;
  removeKemPrekey(id: number): Promise<void>;

  /** Sessions with one remote device, keyed by its device id. */
  getSession(deviceId: string): Promise<Uint8Array | undefined>;
  putSession(deviceId: string, record: Uint8Array): Promise<void>;

  getPeerIdentity(contactPointId: string): Promise<PeerIdentity | undefined>;
  putPeerIdentity(contactPointId: string, identity: PeerIdentity): Promise<void>;

  /** Small client state kept with the keys (inbox records, cursors); `undefined` deletes. */
  getState(key: string): Promise<string | undefined>;
  setState(key: string, value: string | undefined): Promise<void>;
  stateKeys(prefix: string): Promise<string[]>;
}
