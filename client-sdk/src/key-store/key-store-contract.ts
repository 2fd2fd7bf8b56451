import { decodeBase64url, encodeBase64url } from '@liaison/protocol';
import {
  generateIdentityKeyPair,
  publicKemPrekey,
  type StoredKemPrekey,
  type StoredOneTimePrekey,
  type StoredSignedPrekey,
} from '../crypto/keys.js';
import {
  DEFAULT_PREKEY_POLICY,
  refillKemPrekeys,
  refillOneTimePrekeys,
  rotateSignedPrekey,
} from '../crypto/prekeys.js';
import { SessionCipher, type SessionPeer } from '../crypto/session-cipher.js';
import { ready } from '../crypto/sodium.js';
import type { KeyStore, PeerIdentity } from './key-store.js';
import { MemoryKeyStore } from './memory-key-store.js';

/**
 * The behaviour the SDK relies on from a KeyStore, as a test suite any implementation can run:
 * the SDK's own stores run it in this repository, and an agency that writes its own store (over a
 * platform keychain, a database, IndexedDB) runs it from `@liaison/client/testing`.
 *
 * The suite registers its tests with the test functions it is given, so the SDK depends on no test
 * runner: vitest's and jest's `describe`, `it` and `expect` fit as they are, and `node:test` with
 * a two-line `expect` over `node:assert` (docs/client.md). It uses no Node API, so a browser
 * runner can run it against a browser store.
 */

/** The runner's functions the suite registers with and asserts through. */
export interface TestFunctions {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
  /** Only `toEqual` (deep equality of plain data) and `toBe` (`===`) are used. */
  expect(actual: unknown): { toEqual(expected: unknown): unknown; toBe(expected: unknown): unknown };
}

/** The implementation under test. */
export interface KeyStoreUnderTest {
  /** A new, empty store: called at the start of each test. */
  open(): Promise<KeyStore>;
  /**
   * What `store` saved, opened anew as by an application restarting (the suite no longer uses
   * `store` afterwards). Leave it out for a store kept only in memory: the tests of persistence
   * are then not registered.
   */
  reopen?(store: KeyStore): Promise<KeyStore>;
  /** Releases a store the suite opened or reopened, at the end of each test. */
  close?(store: KeyStore): Promise<void>;
}

/** Registers the KeyStore contract suite for one implementation, under `describe('KeyStore contract: <name>')`. */
export function keyStoreContract(test: TestFunctions, name: string, subject: KeyStoreUnderTest): void {
  const { describe, it, expect } = test;

  /** A test with stores of its own, each closed at its end whatever happens. */
  const withStores =
    (body: (open: () => Promise<KeyStore>, reopen: (store: KeyStore) => Promise<KeyStore>) => Promise<void>) =>
    async () => {
      const opened: KeyStore[] = [];
      const track = (store: KeyStore) => {
        opened.push(store);
        return store;
      };
      const reopen = async (store: KeyStore) => {
        if (!subject.reopen) throw new Error('reopen is not given');
        return track(await subject.reopen(store));
      };
      try {
        await body(async () => track(await subject.open()), reopen);
      } finally {
        for (const store of opened) await subject.close?.(store);
      }
    };
  const withStore = (body: (store: KeyStore) => Promise<void>) => withStores(async (open) => body(await open()));

  describe(`KeyStore contract: ${name}`, () => {
    it(
      'a new store holds nothing',
      withStore(async (store) => {
        expect(await store.getIdentity()).toBe(undefined);
        expect(await store.getSignedPrekeys()).toEqual([]);
        expect(await store.getOneTimePrekeyIds()).toEqual([]);
        expect(await store.getOneTimePrekey(1)).toBe(undefined);
        expect(await store.getSession('device')).toBe(undefined);
        expect(await store.getPeerIdentity('contact-point')).toBe(undefined);
        expect(await store.getState('key')).toBe(undefined);
        expect(await store.stateKeys('')).toEqual([]);
      }),
    );

    it(
      'keeps the identity key pair; a later one replaces it',
      withStore(async (store) => {
        const first = identity(1);
        await store.setIdentity(first);
        expect(plain(await store.getIdentity())).toEqual(plain(first));
        const second = identity(2);
        await store.setIdentity(second);
        expect(plain(await store.getIdentity())).toEqual(plain(second));
      }),
    );

    it(
      'keeps signed prekeys by id: a put with the same id replaces it (retirement), remove deletes one',
      withStore(async (store) => {
        const [a, b] = [signedPrekey(7, 1), signedPrekey(MAX_PREKEY_ID, 2)];
        await store.putSignedPrekey(a);
        await store.putSignedPrekey(b);
        expect(byId(await store.getSignedPrekeys())).toEqual(plain([a, b]));
        // rotateSignedPrekey marks the old one retired by putting it again with retiredAt.
        const retired = { ...a, retiredAt: a.createdAt + 1000 };
        await store.putSignedPrekey(retired);
        expect(byId(await store.getSignedPrekeys())).toEqual(plain([retired, b]));
        await store.removeSignedPrekey(a.id);
        expect(byId(await store.getSignedPrekeys())).toEqual(plain([b]));
        // Removing what is not there (a prekey forgotten twice) is no error and changes nothing.
        await store.removeSignedPrekey(a.id);
        await store.removeSignedPrekey(12345);
        expect(byId(await store.getSignedPrekeys())).toEqual(plain([b]));
      }),
    );

    it(
      'keeps one-time prekeys by id, over the whole uint32 range, put in batches and removed one at a time',
      withStore(async (store) => {
        const batch = [oneTimePrekey(0, 1), oneTimePrekey(42, 2), oneTimePrekey(MAX_PREKEY_ID, 3)];
        await store.putOneTimePrekeys(batch);
        await store.putOneTimePrekeys([]);
        const more = [oneTimePrekey(43, 4)];
        await store.putOneTimePrekeys(more);
        expect(sorted(await store.getOneTimePrekeyIds())).toEqual([0, 42, 43, MAX_PREKEY_ID]);
        for (const prekey of [...batch, ...more]) {
          expect(plain(await store.getOneTimePrekey(prekey.id))).toEqual(plain(prekey));
        }
        expect(await store.getOneTimePrekey(44)).toBe(undefined);
        // A session that used one deletes it; a second delivery of the same message finds it gone.
        await store.removeOneTimePrekey(42);
        await store.removeOneTimePrekey(42);
        expect(await store.getOneTimePrekey(42)).toBe(undefined);
        expect(sorted(await store.getOneTimePrekeyIds())).toEqual([0, 43, MAX_PREKEY_ID]);
      }),
    );

    it(
      'keeps KEM prekeys of both kinds by id, a retired last-resort one with its retirement, and removes them one at a time',
      withStore(async (store) => {
        const batch = [kemPrekey(0, false, 1), kemPrekey(42, false, 2), kemPrekey(MAX_PREKEY_ID, true, 3)];
        await store.putKemPrekeys(batch);
        await store.putKemPrekeys([]);
        const retired = { ...kemPrekey(43, true, 4), retiredAt: 1_790_000_100_000 };
        await store.putKemPrekeys([retired]);
        const all = [...batch, retired];
        expect(sorted((await store.getKemPrekeys()).map((p) => p.id))).toEqual([0, 42, 43, MAX_PREKEY_ID]);
        for (const prekey of all) expect(plain(await store.getKemPrekey(prekey.id))).toEqual(plain(prekey));
        expect(await store.getKemPrekey(44)).toBe(undefined);
        // Changing what was returned changes nothing stored.
        const returned = await store.getKemPrekey(42);
        returned?.seed.fill(0);
        expect(plain(await store.getKemPrekey(42))).toEqual(plain(batch[1]));
        await store.removeKemPrekey(42);
        await store.removeKemPrekey(42);
        expect(await store.getKemPrekey(42)).toBe(undefined);
        expect(sorted((await store.getKemPrekeys()).map((p) => p.id))).toEqual([0, 43, MAX_PREKEY_ID]);
      }),
    );

    it(
      'keeps one session record per device, byte for byte and large ones too; a later record replaces it',
      withStore(async (store) => {
        const device = 'aGVsbG8tZGV2aWNlLWlkLWluLWJhc2U2NHVybC1mb3JtLTEyMzQ1Njc4OTAt';
        await store.putSession(device, bytes(300, 1));
        await store.putSession('other-device', bytes(10, 2));
        expect(plain(await store.getSession(device))).toEqual(plain(bytes(300, 1)));
        // Skipped message keys make records grow; the store keeps them whole.
        const large = bytes(512 * 1024, 3);
        await store.putSession(device, large);
        expect(plain(await store.getSession(device))).toEqual(plain(large));
        await store.putSession(device, bytes(5, 4));
        expect(plain(await store.getSession(device))).toEqual(plain(bytes(5, 4)));
        expect(plain(await store.getSession('other-device'))).toEqual(plain(bytes(10, 2)));
        expect(await store.getSession('unknown-device')).toBe(undefined);
      }),
    );

    it(
      'keeps peer identities per contact point; a later one replaces the whole record, verification mark included',
      withStore(async (store) => {
        const verified: PeerIdentity = { accountKey: bytes(32, 1), firstSeenAt: 1_000, verifiedAt: 2_000 };
        await store.putPeerIdentity('th-oag.somchai', verified);
        await store.putPeerIdentity('vn-spp.lan', { accountKey: bytes(32, 2), firstSeenAt: 1_500 });
        expect(plain(await store.getPeerIdentity('th-oag.somchai'))).toEqual(plain(verified));
        // acceptPeerIdentity puts a changed key with no verifiedAt: a store that merged records
        // would keep the old mark and show the new, unverified key as verified.
        const accepted: PeerIdentity = { accountKey: bytes(32, 3), firstSeenAt: 3_000 };
        await store.putPeerIdentity('th-oag.somchai', accepted);
        expect(plain(await store.getPeerIdentity('th-oag.somchai'))).toEqual(plain(accepted));
        expect(plain(await store.getPeerIdentity('vn-spp.lan'))).toEqual(
          plain({ accountKey: bytes(32, 2), firstSeenAt: 1_500 }),
        );
      }),
    );

    it(
      'keeps small state by key: set, replace, delete with undefined, and list by prefix',
      withStore(async (store) => {
        await store.setState('inbox:device-a:message-1', '{"status":"pending","text":"héllo ✓"}');
        await store.setState('inbox:device-a:message-2', 'delivered');
        await store.setState('inbox:device-b:message-1', 'delivered');
        await store.setState('receipts:cursor', '17');
        expect(await store.getState('inbox:device-a:message-1')).toBe('{"status":"pending","text":"héllo ✓"}');
        await store.setState('receipts:cursor', '18');
        expect(await store.getState('receipts:cursor')).toBe('18');
        await store.setState('inbox:device-a:message-2', undefined);
        expect(await store.getState('inbox:device-a:message-2')).toBe(undefined);
        // Deleting what is not there is no error.
        await store.setState('inbox:never', undefined);
        expect(sorted(await store.stateKeys('inbox:'))).toEqual([
          'inbox:device-a:message-1',
          'inbox:device-b:message-1',
        ]);
        expect(sorted(await store.stateKeys('inbox:device-a:'))).toEqual(['inbox:device-a:message-1']);
        expect(sorted(await store.stateKeys(''))).toEqual([
          'inbox:device-a:message-1',
          'inbox:device-b:message-1',
          'receipts:cursor',
        ]);
        expect(await store.stateKeys('nothing:')).toEqual([]);
      }),
    );

    it(
      'hands out copies: changing what was put, or what was read, does not change what is stored',
      withStore(async (store) => {
        // The SDK wipes key material it has finished with; that must not reach into the store.
        const id = identity(1);
        await store.setIdentity(id);
        const prekey = signedPrekey(1, 2);
        await store.putSignedPrekey(prekey);
        const oneTime = oneTimePrekey(1, 3);
        await store.putOneTimePrekeys([oneTime]);
        const record = bytes(64, 4);
        await store.putSession('device', record);
        const peer: PeerIdentity = { accountKey: bytes(32, 5), firstSeenAt: 1 };
        await store.putPeerIdentity('cp', peer);
        const written = plain([id, prekey, oneTime, record, peer]);
        for (const array of [id.privateKey, prekey.privateKey, oneTime.privateKey, record, peer.accountKey])
          array.fill(0);
        for (const array of [
          (await store.getIdentity())?.privateKey,
          (await store.getSignedPrekeys())[0]?.privateKey,
          (await store.getOneTimePrekey(1))?.privateKey,
          await store.getSession('device'),
          (await store.getPeerIdentity('cp'))?.accountKey,
        ])
          array?.fill(0);
        expect(
          plain([
            await store.getIdentity(),
            (await store.getSignedPrekeys())[0],
            await store.getOneTimePrekey(1),
            await store.getSession('device'),
            await store.getPeerIdentity('cp'),
          ]),
        ).toEqual(written);
      }),
    );

    it(
      'loses no change made concurrently',
      withStores(async (open, reopen) => {
        // The client saves sessions of several devices, inbox records and prekeys at once.
        let store = await open();
        const devices = Array.from({ length: 20 }, (_, i) => `device-${i}`);
        await store.putOneTimePrekeys([1, 2, 3, 4].map((id) => oneTimePrekey(id, id)));
        await Promise.all([
          ...devices.map((device, i) => store.putSession(device, bytes(100, i))),
          ...devices.map((device, i) => store.setState(`inbox:${device}`, String(i))),
          store.putOneTimePrekeys([5, 6].map((id) => oneTimePrekey(id, id))),
          store.removeOneTimePrekey(1),
          store.removeOneTimePrekey(2),
          store.putPeerIdentity('cp', { accountKey: bytes(32, 9), firstSeenAt: 9 }),
        ]);
        const check = async () => {
          for (const [i, device] of devices.entries()) {
            expect(plain(await store.getSession(device))).toEqual(plain(bytes(100, i)));
            expect(await store.getState(`inbox:${device}`)).toBe(String(i));
          }
          expect(sorted(await store.getOneTimePrekeyIds())).toEqual([3, 4, 5, 6]);
          expect(plain(await store.getPeerIdentity('cp'))).toEqual(plain({ accountKey: bytes(32, 9), firstSeenAt: 9 }));
        };
        await check();
        if (subject.reopen) {
          store = await reopen(store);
          await check();
        }
      }),
    );

    it(
      "carries the SDK's sessions: a first message from a new peer, the next one, and a reply",
      withStores(async (open, reopen) => {
        await ready();
        const alice = await peerDevice(new MemoryKeyStore());
        const bob = await peerDevice(await open());
        const otp = (await refillOneTimePrekeys(bob.store, 0, { ...DEFAULT_PREKEY_POLICY, oneTimeBatch: 1 }))[0];
        const kem = (await refillKemPrekeys(bob.store, 0, 0, { ...DEFAULT_PREKEY_POLICY, kemBatch: 1 }))[0];
        const spk = (await bob.store.getSignedPrekeys())[0];
        const storedKem = kem && (await bob.store.getKemPrekey(kem.id));
        if (!otp || !kem || !spk || !storedKem) throw new Error('the store lost the prekeys it was just given');
        // What the relay would hand Alice: Bob's public keys, read back from the store under test.
        const kemPublic = publicKemPrekey(storedKem);
        const bundle = {
          identityKey: bob.identityKey,
          signedPrekey: { id: spk.id, publicKey: spk.publicKey, createdAt: spk.createdAt, signature: spk.signature },
          oneTimePrekey: { id: otp.id, publicKey: decodeBase64url(otp.publicKey) ?? new Uint8Array() },
          kemPrekey: {
            id: kemPublic.id,
            lastResort: false,
            publicKey: decodeBase64url(kemPublic.publicKey) ?? new Uint8Array(),
            createdAt: kemPublic.createdAt,
            signature: storedKem.signature,
          },
        };
        const first = await alice.cipher.encrypt(bob.address, text('first'), bundle);
        expect(read(await bob.cipher.decrypt(alice.address, first.body))).toBe('first');
        expect(await bob.cipher.sessionVersion(alice.address)).toBe(2);
        expect(await bob.store.getOneTimePrekey(otp.id)).toBe(undefined);
        expect(await bob.store.getKemPrekey(kem.id)).toBe(undefined);

        const later = subject.reopen ? await reopen(bob.store) : bob.store;
        const bobAgain = new SessionCipher(later, bob.binding);
        const second = await alice.cipher.encrypt(bob.address, text('second'));
        expect(read(await bobAgain.decrypt(alice.address, second.body))).toBe('second');
        const reply = await bobAgain.encrypt(alice.address, text('reply'));
        expect(read(await alice.cipher.decrypt(bob.address, reply.body))).toBe('reply');
      }),
    );

    if (subject.reopen) {
      it(
        'keeps everything across reopening, deletions included',
        withStores(async (open, reopen) => {
          const store = await open();
          const written = {
            identity: identity(1),
            signedPrekeys: [signedPrekey(1, 2), { ...signedPrekey(2, 3), retiredAt: 5_000 }],
            oneTimePrekeys: [oneTimePrekey(3, 4), oneTimePrekey(MAX_PREKEY_ID, 5)],
            kemPrekeys: [kemPrekey(4, false, 11), { ...kemPrekey(5, true, 12), retiredAt: 6_000 }],
            session: bytes(2048, 6),
            peers: [
              { accountKey: bytes(32, 7), firstSeenAt: 1, verifiedAt: 2 },
              { accountKey: bytes(32, 8), firstSeenAt: 3 },
            ],
          };
          await store.setIdentity(written.identity);
          for (const prekey of [...written.signedPrekeys, signedPrekey(9, 9)]) await store.putSignedPrekey(prekey);
          await store.removeSignedPrekey(9);
          await store.putOneTimePrekeys([...written.oneTimePrekeys, oneTimePrekey(10, 10)]);
          await store.removeOneTimePrekey(10);
          await store.putKemPrekeys([...written.kemPrekeys, kemPrekey(11, false, 13)]);
          await store.removeKemPrekey(11);
          await store.putSession('device', written.session);
          await store.putPeerIdentity('cp-1', written.peers[0] as PeerIdentity);
          await store.putPeerIdentity('cp-2', written.peers[1] as PeerIdentity);
          await store.setState('inbox:kept', 'pending');
          await store.setState('inbox:gone', 'delivered');
          await store.setState('inbox:gone', undefined);

          const reopened = await reopen(store);
          expect(
            plain({
              identity: await reopened.getIdentity(),
              signedPrekeys: byId(await reopened.getSignedPrekeys()),
              oneTimePrekeys: await Promise.all(
                sorted(await reopened.getOneTimePrekeyIds()).map((id) => reopened.getOneTimePrekey(id)),
              ),
              kemPrekeys: byId(await reopened.getKemPrekeys()),
              session: await reopened.getSession('device'),
              peers: [await reopened.getPeerIdentity('cp-1'), await reopened.getPeerIdentity('cp-2')],
            }),
          ).toEqual(
            plain({ ...written, signedPrekeys: byId(written.signedPrekeys), kemPrekeys: byId(written.kemPrekeys) }),
          );
          expect(await reopened.stateKeys('inbox:')).toEqual(['inbox:kept']);
          expect(await reopened.getState('inbox:kept')).toBe('pending');
        }),
      );
    }
  });
}

/** Prekey ids are random uint32s. */
const MAX_PREKEY_ID = 0xffff_ffff;

/** Distinct, recognisable bytes: `seed` tells values apart. */
function bytes(length: number, seed: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 31 + seed * 97 + 1) & 0xff);
}

const identity = (seed: number) => ({ publicKey: bytes(32, seed), privateKey: bytes(64, seed + 100) });

const signedPrekey = (id: number, seed: number): StoredSignedPrekey => ({
  id,
  createdAt: 1_790_000_000_000 + seed,
  publicKey: bytes(32, seed),
  privateKey: bytes(32, seed + 100),
  signature: bytes(64, seed + 200),
});

const kemPrekey = (id: number, lastResort: boolean, seed: number): StoredKemPrekey => ({
  id,
  lastResort,
  createdAt: 1_790_000_000_000 + seed,
  seed: bytes(64, seed),
  signature: bytes(64, seed + 100),
});

const oneTimePrekey = (id: number, seed: number): StoredOneTimePrekey => ({
  id,
  publicKey: bytes(32, seed),
  privateKey: bytes(32, seed + 100),
});

/**
 * Plain data to compare with toEqual under any runner: byte arrays as hex (so a store must return
 * Uint8Arrays, a Buffer being one, not arrays or strings), and no undefined properties (an absent
 * optional field and an undefined one mean the same).
 */
function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${[...value].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, plain(v)]),
    );
  }
  return value;
}

/** The order of listings is not part of the contract. */
const sorted = <T extends string | number>(values: T[]) => [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const byId = (prekeys: { id: number }[]) => plain([...prekeys].sort((a, b) => a.id - b.id));

const text = (s: string) => new TextEncoder().encode(s);
const read = (b: Uint8Array) => new TextDecoder().decode(b);

let peers = 0;

/** A device with a fresh identity and signed prekey in `store`, speaking for a contact point of its own. */
async function peerDevice(store: KeyStore) {
  const keys = generateIdentityKeyPair();
  await store.setIdentity(keys);
  await rotateSignedPrekey(store, Date.now());
  const binding = { contactPointId: `contract-peer-${++peers}`, accountKey: generateIdentityKeyPair().publicKey };
  const address: SessionPeer = { deviceId: encodeBase64url(keys.publicKey), ...binding };
  return { store, binding, address, identityKey: keys.publicKey, cipher: new SessionCipher(store, binding) };
}
