import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDevice, read, type TestDevice, text } from '../__fixtures__/devices.js';
import { isLiaisonError } from '../errors.js';
import { FileKeyStore } from '../key-store/file-key-store.js';
import { legacyJsonSessionRecord } from './__fixtures__/legacy-session-record.js';
import { MAX_OLD_CHAINS, MAX_SKIPPED_PER_CHAIN, MAX_SKIPPED_TOTAL } from './ratchet.js';
import { SessionCipher } from './session-cipher.js';
import {
  deserializeSessionRecord,
  type SessionRecord,
  type SessionState,
  serializeSessionRecord,
} from './session-record.js';
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

  it('refuse a contact point id that is not UTF-8', async () => {
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
  });
});

/** A session state that breaks one rule of what a session holds, each as a change to a good one. */
const BROKEN: [string, (s: SessionState) => void][] = [
  ['a key of 31 bytes', (s) => (s.ratchet.rootKey = new Uint8Array(31))],
  ['a counter over a u32', (s) => (s.ratchet.receivingN = 2 ** 32)],
  ['a prekey id over a u32', (s) => (s.pendingPrekey = { signedPrekeyId: 2 ** 32 })],
  ['a chain left behind not named in hex', (s) => (s.ratchet.oldChains = ['not-hex'])],
  ['more chains left behind than the ratchet keeps', (s) => (s.ratchet.oldChains = chains(MAX_OLD_CHAINS + 1))],
  ['a skipped key id that is not chain:n', (s) => (s.ratchet.skipped = skippedKeys(['ab'.repeat(32)], 1, ':01'))],
  ['a skipped message key of 31 bytes', (s) => s.ratchet.skipped.set(`${'cd'.repeat(32)}:0`, new Uint8Array(31))],
  ['more skipped keys than a session keeps', (s) => (s.ratchet.skipped = skippedKeys(chains(3), 667))],
  ['more skipped keys in a chain than it keeps', (s) => (s.ratchet.skipped = skippedKeys(chains(1), 1001))],
];
function chains(count: number): string[] {
  return Array.from({ length: count }, (_, i) => i.toString(16).padStart(2, '0').repeat(32));
}
function skippedKeys(names: string[], perChain: number, suffix = ''): Map<string, Uint8Array> {
  return new Map(
    names.flatMap((c) => Array.from({ length: perChain }, (_, n) => [`${c}:${n}${suffix}`, new Uint8Array(32)])),
  );
}
/** A fresh copy of `record` whose current session `change` has broken. */
function broken(record: SessionRecord, change: (s: SessionState) => void): SessionRecord {
  const copy = deserializeSessionRecord(serializeSessionRecord(record));
  change(copy.current as SessionState);
  return copy;
}
const refusal = (work: () => unknown) => {
  try {
    work();
  } catch (error) {
    return isLiaisonError(error) ? error.code : String(error);
  }
  return 'accepted';
};

describe('session records, binary form, states the ratchet never makes', () => {
  /** Bob's session alone (no previous ones): it begins at byte 6, after "LSR", format, has current, count. */
  async function single(change: (s: SessionState) => void): Promise<Uint8Array> {
    const { records } = await fullRecords();
    const record = broken(records[1] as SessionRecord, change);
    return serializeSessionRecord({ current: record.current as SessionState, previous: [] });
  }
  const at = (bytes: Uint8Array, offset: number, part: Uint8Array) => {
    const copy = bytes.slice();
    copy.set(part, offset);
    return copy;
  };

  it('refuse a skipped key named twice', async () => {
    const bytes = await single((s) => (s.ratchet.skipped = skippedKeys(chains(1), 2)));
    // The last entry is chain key (32) | n (u32) | message key (32): make its n the first entry's (0).
    expect(deserializeSessionRecord(bytes).current?.ratchet.skipped.size).toBe(2);
    expect(refusedAsCorrupt(at(bytes, bytes.length - 36, new Uint8Array(4)))).toBe(true);
  });

  it('refuse more skipped keys in one chain than it keeps', async () => {
    const [a, b] = chains(2) as [string, string];
    const bytes = await single((s) => {
      s.ratchet.skipped = skippedKeys([a], MAX_SKIPPED_PER_CHAIN);
      s.ratchet.skipped.set(`${b}:${MAX_SKIPPED_PER_CHAIN}`, new Uint8Array(32));
    });
    expect(deserializeSessionRecord(bytes).current?.ratchet.skipped.size).toBe(MAX_SKIPPED_PER_CHAIN + 1);
    // The last entry moved to the first chain: 1,001 keys in it.
    expect(refusedAsCorrupt(at(bytes, bytes.length - 68, Buffer.from(a, 'hex')))).toBe(true);
  });

  it('refuse more chains left behind than the ratchet keeps', async () => {
    const bytes = await single((s) => {
      s.ratchet.oldChains = chains(MAX_OLD_CHAINS);
      s.ratchet.skipped = new Map();
    });
    // The end is: old chains (u8) | their keys | skipped keys (u16 = 0). Add a ninth chain.
    const countAt = bytes.length - 2 - MAX_OLD_CHAINS * 32 - 1;
    expect(bytes[countAt]).toBe(MAX_OLD_CHAINS);
    const nine = Uint8Array.from([...bytes.subarray(0, bytes.length - 2), ...new Uint8Array(32).fill(0xee), 0, 0]);
    nine[countAt] = MAX_OLD_CHAINS + 1;
    expect(refusedAsCorrupt(nine)).toBe(true);
  });

  it('refuse contradictory flags: a receiving chain without its key, a waiting sending half with no receiving chain', async () => {
    // The session's start: version | flags | root key | sending key pair | sending chain key (flag 1) |
    // sending n | previous sending n | receiving key (flag 2) | receiving chain key (flag 4) | ...
    const bytes = await single((s) => (s.ratchet.sendingChainKey = new Uint8Array(32).fill(5)));
    const flags = bytes[7] as number;
    expect(flags & 7).toBe(7);
    const receivingKeyAt = 6 + 2 + 3 * 32 + 32 + 8;
    const withoutKey = Uint8Array.from([...bytes.subarray(0, receivingKeyAt), ...bytes.subarray(receivingKeyAt + 32)]);
    withoutKey[7] = flags & ~2;
    expect(refusedAsCorrupt(withoutKey)).toBe(true);
    const receivingChainAt = receivingKeyAt + 32;
    // Without the sending chain key and the receiving chain key, their counters zeroed: still refused.
    const parts = [
      bytes.subarray(0, 6 + 2 + 3 * 32),
      new Uint8Array(8),
      bytes.subarray(receivingKeyAt, receivingChainAt),
      new Uint8Array(4),
      bytes.subarray(receivingChainAt + 32 + 4),
    ];
    const noChains = Uint8Array.from(parts.flatMap((part) => [...part]));
    noChains[7] = flags & ~5;
    expect(refusedAsCorrupt(noChains)).toBe(true);
    // The same with the receiving chain kept is the waiting sending half, which the ratchet makes.
    const waiting = Uint8Array.from([
      ...bytes.subarray(0, 6 + 2 + 3 * 32),
      ...new Uint8Array(8),
      ...bytes.subarray(receivingKeyAt),
    ]);
    waiting[7] = flags & ~1;
    expect(deserializeSessionRecord(waiting).current?.ratchet.sendingChainKey).toBeNull();
  });

  it('any byte changed: either refused, or read as a record that writes back to exactly those bytes', async () => {
    const { records } = await fullRecords();
    for (const record of records) {
      const good = serializeSessionRecord(record);
      for (let i = 0; i < good.length; i++) {
        const b = good[i] as number;
        for (const value of new Set([0, 0xff, b ^ 1, (b + 1) & 0xff])) {
          if (value === b) continue;
          const changed = good.slice();
          changed[i] = value;
          let read: SessionRecord;
          try {
            read = deserializeSessionRecord(changed);
          } catch (error) {
            expect(isLiaisonError(error) && error.code, `byte ${i} = ${value}`).toBe('KEY_STORE_UNREADABLE');
            continue;
          }
          expect(Buffer.from(serializeSessionRecord(read)).equals(Buffer.from(changed)), `byte ${i} = ${value}`).toBe(
            true,
          );
        }
      }
    }
  });
});

describe('session records, both forms', () => {
  it.each(BROKEN)(
    'are never written with %s, and refused in JSON with it (KEY_STORE_UNREADABLE)',
    async (_, change) => {
      const { records } = await fullRecords();
      const bad = broken(records[1] as SessionRecord, change);
      expect(refusal(() => serializeSessionRecord(bad))).toBe('KEY_STORE_UNREADABLE');
      expect(refusal(() => deserializeSessionRecord(legacyJsonSessionRecord(bad)))).toBe('KEY_STORE_UNREADABLE');
    },
  );

  it('as many skipped keys and chains left behind as the ratchet keeps: written and read back', async () => {
    const { records } = await fullRecords();
    const full = broken(records[1] as SessionRecord, (s) => {
      s.ratchet.oldChains = chains(MAX_OLD_CHAINS);
      s.ratchet.skipped = skippedKeys(chains(2), MAX_SKIPPED_TOTAL / 2);
    });
    expect(deserializeSessionRecord(serializeSessionRecord(full))).toEqual(full);
    expect(deserializeSessionRecord(legacyJsonSessionRecord(full))).toEqual(full);
  });

  it('a JSON record the binary form could not hold is refused before a message is decrypted with it', async () => {
    const alice = await makeDevice(1);
    const bob = await makeDevice(1);
    await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('hi'), bob.bundle())).body);
    const bad = broken(deserializeSessionRecord(await stored(bob, alice)), (s) => (s.ratchet.oldChains = ['not-hex']));
    await bob.store.putSession(alice.id, legacyJsonSessionRecord(bad));
    const message = await alice.cipher.encrypt(bob.address, text('not handed out'));
    let handedOut = false;
    const outcome = await bob.cipher
      .decrypt(alice.address, message.body, async () => {
        handedOut = true;
      })
      .then(
        () => 'decrypted',
        (error: unknown) => (isLiaisonError(error) ? error.code : String(error)),
      );
    expect(outcome).toBe('KEY_STORE_UNREADABLE');
    expect(handedOut).toBe(false);
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
