import { wipe } from '../crypto/bytes.js';
import type { IdentityKeyPair, StoredKemPrekey, StoredOneTimePrekey, StoredSignedPrekey } from '../crypto/keys.js';
import type { KeyStore, PeerIdentity } from './key-store.js';

/** Everything a key store holds, as plain data. */
export interface KeyStoreData {
  identity?: IdentityKeyPair;
  signedPrekeys: Map<number, StoredSignedPrekey>;
  oneTimePrekeys: Map<number, StoredOneTimePrekey>;
  kemPrekeys: Map<number, StoredKemPrekey>;
  sessions: Map<string, Uint8Array>;
  peers: Map<string, PeerIdentity>;
  state: Map<string, string>;
}

export function emptyKeyStoreData(): KeyStoreData {
  return {
    signedPrekeys: new Map(),
    oneTimePrekeys: new Map(),
    kemPrekeys: new Map(),
    sessions: new Map(),
    peers: new Map(),
    state: new Map(),
  };
}

// Values are copied in and out, so a caller holding a returned object cannot change the store.
const copy = <T extends object>(value: T): T => structuredClone(value);

/**
 * A key store in memory: for tests, and the base of FileKeyStore, which persists after every
 * change through `changed()`.
 */
export class MemoryKeyStore implements KeyStore {
  constructor(protected data: KeyStoreData = emptyKeyStoreData()) {}

  /** Called after every change; a persistent store writes here. */
  protected async changed(): Promise<void> {}

  /** Wipes every key and session held and empties the store (a key store being closed). */
  forget(): void {
    const { identity, signedPrekeys, oneTimePrekeys, kemPrekeys, sessions, peers } = this.data;
    wipe(identity?.privateKey, identity?.publicKey);
    for (const p of signedPrekeys.values()) wipe(p.privateKey, p.publicKey);
    for (const p of oneTimePrekeys.values()) wipe(p.privateKey, p.publicKey);
    for (const p of kemPrekeys.values()) wipe(p.seed);
    for (const record of sessions.values()) wipe(record);
    for (const peer of peers.values()) wipe(peer.accountKey);
    this.data = emptyKeyStoreData();
  }

  async getIdentity() {
    return this.data.identity && copy(this.data.identity);
  }
  async setIdentity(identity: IdentityKeyPair) {
    this.data.identity = copy(identity);
    await this.changed();
  }

  async getSignedPrekeys() {
    return [...this.data.signedPrekeys.values()].map(copy);
  }
  async putSignedPrekey(prekey: StoredSignedPrekey) {
    this.data.signedPrekeys.set(prekey.id, copy(prekey));
    await this.changed();
  }
  async removeSignedPrekey(id: number) {
    if (this.data.signedPrekeys.delete(id)) await this.changed();
  }

  async getOneTimePrekey(id: number) {
    const prekey = this.data.oneTimePrekeys.get(id);
    return prekey && copy(prekey);
  }
  async getOneTimePrekeyIds() {
    return [...this.data.oneTimePrekeys.keys()];
  }
  async putOneTimePrekeys(prekeys: readonly StoredOneTimePrekey[]) {
    for (const prekey of prekeys) this.data.oneTimePrekeys.set(prekey.id, copy(prekey));
    await this.changed();
  }
  async removeOneTimePrekey(id: number) {
    if (this.data.oneTimePrekeys.delete(id)) await this.changed();
  }

  async getKemPrekey(id: number) {
    const prekey = this.data.kemPrekeys.get(id);
    return prekey && copy(prekey);
  }
  async getKemPrekeys() {
    return [...this.data.kemPrekeys.values()].map(copy);
  }
  async putKemPrekeys(prekeys: readonly StoredKemPrekey[]) {
    for (const prekey of prekeys) this.data.kemPrekeys.set(prekey.id, copy(prekey));
    await this.changed();
  }
  async removeKemPrekey(id: number) {
    if (this.data.kemPrekeys.delete(id)) await this.changed();
  }

  async getSession(deviceId: string) {
    return this.data.sessions.get(deviceId)?.slice();
  }
  async putSession(deviceId: string, record: Uint8Array) {
    this.data.sessions.set(deviceId, record.slice());
    await this.changed();
  }

  async getPeerIdentity(contactPointId: string) {
    const peer = this.data.peers.get(contactPointId);
    return peer && copy(peer);
  }
  async putPeerIdentity(contactPointId: string, identity: PeerIdentity) {
    this.data.peers.set(contactPointId, copy(identity));
    await this.changed();
  }

  async getState(key: string) {
    return this.data.state.get(key);
  }
  async setState(key: string, value: string | undefined) {
    if (value === undefined) this.data.state.delete(key);
    else this.data.state.set(key, value);
    await this.changed();
  }
  async stateKeys(prefix: string) {
    return [...this.data.state.keys()].filter((k) => k.startsWith(prefix));
  }
}
