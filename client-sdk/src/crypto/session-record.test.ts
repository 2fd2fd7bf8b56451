import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDevice, read, type TestDevice, text } from '../__fixtures__/devices.js';
import { isLiaisonError } from '../errors.js';
import { FileKeyStore } from '../key-store/file-key-store.js';
import { legacyJsonSessionRecord } from './__fixtures__/legacy-session-record.js';
import { SessionCipher } from './session-cipher.js';
import { deserializeSessionRecord, type SessionRecord, serializeSessionRecord } from './session-record.js';
import { ready } from './sodium.js';

let dir: string;
beforeAll(async () => {
  await ready();
  dir = await mkdtemp(join(tmpdir(), 'liaison-session-record-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const stored = async (device: TestDevice, peer: TestDevice) => (await device.store.getSession(peer.id)) as Uint8Array;
const isBinary = (bytes: Uint8Array) => Buffer.from(bytes.subarray(0, 3)).toString('latin1') === 'LSR';

/**
 * Records with every part present: Alice's hybrid session still repeats its prekey header (one-time
 * and KEM prekey ids, the KEM ciphertext); Bob's has skipped keys and chains left behind, and an
 * the session he started himself at the same time kept as a previous one.
 */
async function fullRecords(): Promise<{ alice: TestDevice; bob: TestDevice; records: SessionRecord[] }> {
  const alice = await makeDevice(3);
  const bob = await makeDevice(3);
  const first = await alice.cipher.encrypt(bob.address, text('a0'), bob.bundle());
  const records = [deserializeSessionRecord(await stored(alice, bob))];
  // Bob starts a session of his own at the same time: it stays in his record as a previous one.
  await bob.cipher.encrypt(alice.address, text('b-early'), alice.bundle());
  const later = [];
  for (let i = 1; i <= 4; i++) later.push(await alice.cipher.encrypt(bob.address, text(`a${i}`)));
  await bob.cipher.decrypt(alice.address, (later[3] as { body: Uint8Array }).body);
  await alice.cipher.decrypt(bob.address, (await bob.cipher.encrypt(alice.address, text('b0'))).body);
  await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('a5'))).body);
  await bob.cipher.decrypt(alice.address, first.body);
  records.push(deserializeSessionRecord(await stored(bob, alice)));
  return { alice, bob, records };
}

const refusedAsCorrupt = (bytes: Uint8Array) => {
  try {
    deserializeSessionRecord(bytes);
  } catch (error) {
    return isLiaisonError(error) && error.code === 'KEY_STORE_UNREADABLE';
  }
  return false;
};

describe('session records, binary form', () => {
  it('keep every part of a session through a round trip, in at most three quarters of the bytes of the JSON form', async () => {
    const { records } = await fullRecords();
    const [alice, bob] = records as [SessionRecord, SessionRecord];
    expect(alice.current?.pendingPrekey?.kem).toBeDefined();
    expect(alice.current?.pendingPrekey?.oneTimePrekeyId).toBeDefined();
    expect(bob.current?.ratchet.skipped.size).toBeGreaterThan(0);
    expect(bob.current?.ratchet.oldChains.length).toBeGreaterThan(0);
    expect(bob.previous.length).toBeGreaterThan(0);
    for (const record of records) {
      const bytes = serializeSessionRecord(record);
      expect(isBinary(bytes)).toBe(true);
      expect(deserializeSessionRecord(bytes)).toEqual(record);
      expect(bytes.length).toBeLessThan(legacyJsonSessionRecord(record).length * 0.75);
    }
    expect(deserializeSessionRecord(serializeSessionRecord({ previous: [] }))).toEqual({ previous: [] });
  });

  it('refuse malformed bytes whole: cut short anywhere, a byte too many, an unknown format, flag, version or count', async () => {
    const { records } = await fullRecords();
    const good = serializeSessionRecord(records[1] as SessionRecord);
    for (let length = 0; length < good.length; length++) {
      expect(refusedAsCorrupt(good.subarray(0, length)), `cut to ${length} bytes`).toBe(true);
    }
    expect(refusedAsCorrupt(Uint8Array.from([...good, 0]))).toBe(true);
    const altered = (at: number, value: number) => {
      const copy = good.slice();
      copy[at] = value;
      return copy;
    };
    // Header: "LSR", format 3, has current, previous count; then the current session's version and flags.
    expect(refusedAsCorrupt(altered(0, 0x4d))).toBe(true);
    expect(() => deserializeSessionRecord(altered(3, 4))).toThrowError('unknown format (4)');
    expect(refusedAsCorrupt(altered(4, 2))).toBe(true);
    expect(refusedAsCorrupt(altered(5, 5))).toBe(true);
    expect(refusedAsCorrupt(altered(6, 3))).toBe(true);
    expect(refusedAsCorrupt(altered(7, (good[7] as number) | 64))).toBe(true);
    expect(refusedAsCorrupt(new TextEncoder().encode('not a record'))).toBe(true);
    expect(refusedAsCorrupt(new TextEncoder().encode('{"version":2,"current":null,"previous":[1]}'))).toBe(true);
  });

  it('refuse a contact point id that is not UTF-8, and more skipped keys than a session keeps', async () => {
    const alice = await makeDevice(1);
    const bob = await makeDevice(1);
    await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('hi'), bob.bundle())).body);
    const record = deserializeSessionRecord(await stored(bob, alice));
    const state = record.current as NonNullable<SessionRecord['current']>;
    // A one-byte contact point id, so its byte can be made invalid UTF-8 in place.
    const good = serializeSessionRecord({
      ...record,
      current: { ...state, peer: { ...state.peer, contactPointId: 'x' } },
    });
    const at = Buffer.from(good).indexOf(Buffer.from([1, 0x78]));
    expect(at).toBeGreaterThan(0);
    const badUtf8 = good.slice();
    badUtf8[at + 1] = 0xff;
    expect(refusedAsCorrupt(badUtf8)).toBe(true);

    const skipped = new Map<string, Uint8Array>();
    for (let n = 0; n < 2001; n++) skipped.set(`${'ab'.repeat(32)}:${n}`, new Uint8Array(32));
    const tooMany = serializeSessionRecord({
      previous: [],
      current: { ...state, ratchet: { ...state.ratchet, skipped } },
    });
    expect(refusedAsCorrupt(tooMany)).toBe(true);
  });
});

describe('session records written as JSON, before the binary form', () => {
  it('are read, and rewritten in binary by the next message, the conversation going on both ways', async () => {
    const alice = await makeDevice(1);
    const bob = await makeDevice(1);
    await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('hi'), bob.bundle())).body);
    for (const [device, peer] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      await device.store.putSession(
        peer.id,
        legacyJsonSessionRecord(deserializeSessionRecord(await stored(device, peer))),
      );
      expect(isBinary(await stored(device, peer))).toBe(false);
    }
    expect(
      read(await alice.cipher.decrypt(bob.address, (await bob.cipher.encrypt(alice.address, text('reply'))).body)),
    ).toBe('reply');
    expect(
      read(await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('again'))).body)),
    ).toBe('again');
    expect(isBinary(await stored(alice, bob))).toBe(true);
    expect(isBinary(await stored(bob, alice))).toBe(true);
  });

  it('in a key store file from before: read after reopening it, and the file keeps the binary form after', async () => {
    const alice = await makeDevice(1);
    const bob = await makeDevice(1);
    await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('hi'), bob.bundle())).body);
    const path = join(dir, 'bob.keys');
    const key = new Uint8Array(32).fill(3);
    const file = await FileKeyStore.open(path, { key });
    await file.setIdentity(bob.identity);
    await file.putSession(alice.id, legacyJsonSessionRecord(deserializeSessionRecord(await stored(bob, alice))));

    const reopened = await FileKeyStore.open(path, { key });
    const cipher = new SessionCipher(reopened, {
      contactPointId: bob.address.contactPointId,
      accountKey: bob.address.accountKey,
    });
    expect(
      read(await cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('to the file'))).body)),
    ).toBe('to the file');
    expect(
      read(await alice.cipher.decrypt(bob.address, (await cipher.encrypt(alice.address, text('from it'))).body)),
    ).toBe('from it');
    const after = await FileKeyStore.open(path, { key });
    expect(isBinary((await after.getSession(alice.id)) as Uint8Array)).toBe(true);
  });
});
