import { beforeAll, describe, expect, it } from 'vitest';
import { makeDevice, read, type TestDevice, text } from '../__fixtures__/devices.js';
import { isLiaisonError, type LiaisonErrorCode } from '../errors.js';
import { concat } from './bytes.js';
import { generateIdentityKeyPair, generateKeyPair, sign } from './keys.js';
import { parseMessage } from './message.js';
import {
  cloneState,
  decodeHeader,
  initiatorState,
  MAX_SKIP,
  ratchetDecrypt,
  ratchetEncrypt,
  responderState,
} from './ratchet.js';
import { SessionCipher } from './session-cipher.js';
import { deserializeSessionRecord, type SessionRecord, type SessionState } from './session-record.js';
import { ready } from './sodium.js';
import { x3dhInitiate, x3dhRespond } from './x3dh.js';

beforeAll(ready);

const parties = {
  initiator: { contactPointId: 'th-oag.a', accountKey: new Uint8Array(32).fill(1) },
  responder: { contactPointId: 'vn-spp.b', accountKey: new Uint8Array(32).fill(2) },
};

async function rejects(promise: Promise<unknown>, code: LiaisonErrorCode) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isLiaisonError(error) ? error.code : error).toBe(code);
}

/** The stored session record, to show that a refused message changed nothing. */
const record = (device: TestDevice, peer: TestDevice) => device.store.getSession(peer.id);

async function pair(): Promise<[TestDevice, TestDevice]> {
  return [await makeDevice(), await makeDevice()];
}

describe('X3DH', () => {
  it('gives both sides the same key and associated data, with and without a one-time prekey', async () => {
    const bob = await makeDevice();
    const alice = generateIdentityKeyPair();
    const spk = (await bob.store.getSignedPrekeys())[0];
    if (!spk) throw new Error('no signed prekey');
    for (const withOneTime of [true, false]) {
      const bundle = bob.bundle({ oneTime: withOneTime, kem: false });
      const a = x3dhInitiate(alice, bundle, parties);
      const otp = bundle.oneTimePrekey && (await bob.store.getOneTimePrekey(bundle.oneTimePrekey.id));
      const b = x3dhRespond(
        bob.identity,
        { signedPrekey: spk, ...(otp && { oneTimePrekey: otp }) },
        alice.publicKey,
        a.ephemeralPublicKey,
        parties,
      );
      expect(Buffer.from(a.sharedKey).equals(Buffer.from(b.sharedKey))).toBe(true);
      expect(a.associatedData).toEqual(b.associatedData);
      const boundParties = 2 * (1 + 'th-oag.a'.length + 32);
      expect(a.associatedData.length).toBe(7 + 1 + 32 + 32 + boundParties);
    }
  });

  it('binds the contact points into the associated data: another id or account key gives other bytes', async () => {
    const bob = await makeDevice();
    const alice = generateIdentityKeyPair();
    const base = x3dhInitiate(alice, bob.bundle({ oneTime: false }), parties).associatedData;
    const swapped = { initiator: parties.responder, responder: parties.initiator };
    const otherKey = {
      ...parties,
      initiator: { ...parties.initiator, accountKey: generateIdentityKeyPair().publicKey },
    };
    // Ids of different lengths cannot run into the keys: "ab"+key and "a"+"b…" differ by the length byte.
    const shifted = { ...parties, initiator: { ...parties.initiator, contactPointId: 'th-oag.ab' } };
    for (const other of [swapped, otherKey, shifted]) {
      const ad = x3dhInitiate(alice, bob.bundle({ oneTime: false }), other).associatedData;
      expect(Buffer.from(ad).equals(Buffer.from(base))).toBe(false);
    }
  });

  it('refuses a bundle whose signed prekey is not signed by the device identity', async () => {
    const bob = await makeDevice();
    const bundle = bob.bundle();
    const forged = { ...bundle, signedPrekey: { ...bundle.signedPrekey, publicKey: generateKeyPair().publicKey } };
    expect(() => x3dhInitiate(generateIdentityKeyPair(), forged, parties)).toThrowError(/not signed/);
    const otherSigner = generateIdentityKeyPair();
    const resigned = {
      ...bundle,
      signedPrekey: { ...bundle.signedPrekey, signature: sign(otherSigner, new Uint8Array(8)) },
    };
    expect(() => x3dhInitiate(generateIdentityKeyPair(), resigned, parties)).toThrowError(/not signed/);
  });
});

describe('sessions', () => {
  it('carry messages both ways; prekey messages until the first reply, then plain ones', async () => {
    const [alice, bob] = await pair();
    const first = await alice.cipher.encrypt(bob.address, text('request for assistance'), bob.bundle());
    const second = await alice.cipher.encrypt(bob.address, text('second, before any reply'));
    expect([first.kind, second.kind]).toEqual(['prekey-message', 'prekey-message']);
    expect(read(await bob.cipher.decrypt(alice.address, first.body))).toBe('request for assistance');
    expect(read(await bob.cipher.decrypt(alice.address, second.body))).toBe('second, before any reply');
    const reply = await bob.cipher.encrypt(alice.address, text('received'));
    expect(reply.kind).toBe('message');
    expect(read(await alice.cipher.decrypt(bob.address, reply.body))).toBe('received');
    const third = await alice.cipher.encrypt(bob.address, text('thanks'));
    expect(third.kind).toBe('message');
    expect(read(await bob.cipher.decrypt(alice.address, third.body))).toBe('thanks');
  });

  it("make the receiver's new sending key only when it answers, and each answer of a turn with a new key", async () => {
    const [alice, bob] = await pair();
    const spk = (await bob.store.getSignedPrekeys())[0]?.publicKey as Uint8Array;
    await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('a0'), bob.bundle())).body);
    await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('a1'))).body);
    // Bob has received on Alice's chain; the sending half of his ratchet step waits for his first answer.
    const waiting = deserializeSessionRecord((await record(bob, alice)) as Uint8Array).current?.ratchet;
    expect(waiting?.sendingChainKey).toBeNull();
    expect(waiting?.receivingChainKey).not.toBeNull();
    const keys = new Set<string>();
    for (const [from, to, turn] of [
      [bob, alice, 'b'],
      [alice, bob, 'a'],
      [bob, alice, 'b'],
    ] as const) {
      for (const i of [0, 1]) {
        const { kind, body } = await from.cipher.encrypt(to.address, text(`${turn}${i}`));
        expect(kind).toBe('message');
        keys.add(Buffer.from(parseMessage(body).header.dh).toString('hex'));
        expect(read(await to.cipher.decrypt(from.address, body))).toBe(`${turn}${i}`);
      }
    }
    // Three turns, three new ratchet keys, none of them Bob's signed prekey.
    expect(keys.size).toBe(3);
    expect(keys.has(Buffer.from(spk).toString('hex'))).toBe(false);
    expect(
      deserializeSessionRecord((await record(bob, alice)) as Uint8Array).current?.ratchet.sendingChainKey,
    ).not.toBeNull();
  });

  it('works when the relay has run out of one-time prekeys', async () => {
    const [alice, bob] = await pair();
    const m = await alice.cipher.encrypt(bob.address, text('no one-time prekey'), bob.bundle({ oneTime: false }));
    expect(parseMessage(m.body).prekey?.oneTimePrekeyId).toBeUndefined();
    expect(read(await bob.cipher.decrypt(alice.address, m.body))).toBe('no one-time prekey');
  });

  it('consumes the one-time prekey once the session is saved', async () => {
    const [alice, bob] = await pair();
    const bundle = bob.bundle();
    const otpId = bundle.oneTimePrekey?.id as number;
    const m = await alice.cipher.encrypt(bob.address, text('x'), bundle);
    expect(await bob.store.getOneTimePrekey(otpId)).toBeDefined();
    await bob.cipher.decrypt(alice.address, m.body);
    expect(await bob.store.getOneTimePrekey(otpId)).toBeUndefined();
    // A relay handing the same one-time prekey to a second initiator gets that session refused.
    const carol = await makeDevice();
    const reused = await carol.cipher.encrypt(bob.address, text('y'), bundle);
    await rejects(bob.cipher.decrypt(carol.address, reused.body), 'MISSING_PREKEY');
  });

  it('decrypts out of order, within a chain and across ratchet steps', async () => {
    const [alice, bob] = await pair();
    const a1 = await alice.cipher.encrypt(bob.address, text('a1'), bob.bundle());
    const a2 = await alice.cipher.encrypt(bob.address, text('a2'));
    const a3 = await alice.cipher.encrypt(bob.address, text('a3'));
    expect(read(await bob.cipher.decrypt(alice.address, a3.body))).toBe('a3');
    const b1 = await bob.cipher.encrypt(alice.address, text('b1'));
    expect(read(await alice.cipher.decrypt(bob.address, b1.body))).toBe('b1');
    const a4 = await alice.cipher.encrypt(bob.address, text('a4'));
    expect(read(await bob.cipher.decrypt(alice.address, a4.body))).toBe('a4');
    expect(read(await bob.cipher.decrypt(alice.address, a1.body))).toBe('a1');
    expect(read(await bob.cipher.decrypt(alice.address, a2.body))).toBe('a2');
  });

  it('refuses a replay, of a prekey message and of a plain one', async () => {
    const [alice, bob] = await pair();
    const a1 = await alice.cipher.encrypt(bob.address, text('a1'), bob.bundle());
    await bob.cipher.decrypt(alice.address, a1.body);
    await rejects(bob.cipher.decrypt(alice.address, a1.body), 'DUPLICATE_MESSAGE');
    const b1 = await bob.cipher.encrypt(alice.address, text('b1'));
    await alice.cipher.decrypt(bob.address, b1.body);
    await rejects(alice.cipher.decrypt(bob.address, b1.body), 'DUPLICATE_MESSAGE');
    // Replays of a chain already left behind are recognised too.
    const a2 = await alice.cipher.encrypt(bob.address, text('a2'));
    await bob.cipher.decrypt(alice.address, a2.body);
    await rejects(alice.cipher.decrypt(bob.address, b1.body), 'DUPLICATE_MESSAGE');
  });

  it('leaves the session untouched by a tampered, truncated or misattributed message', async () => {
    const [alice, bob] = await pair();
    const a1 = await alice.cipher.encrypt(bob.address, text('a1'), bob.bundle());
    await bob.cipher.decrypt(alice.address, a1.body);
    await alice.cipher.decrypt(bob.address, (await bob.cipher.encrypt(alice.address, text('b1'))).body);
    const a2 = await alice.cipher.encrypt(bob.address, text('a2'));
    expect(a2.kind).toBe('message');
    const before = await record(bob, alice);

    for (let i = 0; i < a2.body.length; i += 7) {
      const flipped = a2.body.slice();
      flipped[i] = (flipped[i] as number) ^ 0x01;
      const error = await bob.cipher.decrypt(alice.address, flipped).catch((e: unknown) => e);
      expect(isLiaisonError(error), `byte ${i}`).toBe(true);
    }
    await rejects(bob.cipher.decrypt(alice.address, a2.body.slice(0, a2.body.length - 1)), 'DECRYPT_FAILED');
    await rejects(bob.cipher.decrypt(alice.address, a2.body.slice(0, 40)), 'INVALID_MESSAGE');
    await rejects(bob.cipher.decrypt(alice.address, new Uint8Array(0)), 'INVALID_MESSAGE');
    await rejects(bob.cipher.decrypt(alice.address, concat(Uint8Array.of(9), a2.body.slice(1))), 'UNSUPPORTED_VERSION');
    const carol = await makeDevice();
    await rejects(bob.cipher.decrypt(carol.address, a2.body), 'NO_SESSION');

    expect(await record(bob, alice)).toEqual(before);
    expect(read(await bob.cipher.decrypt(alice.address, a2.body))).toBe('a2');
  });

  it('refuses a prekey message whose identity is not its device, and a bundle of another device', async () => {
    const [alice, bob] = await pair();
    const mallory = await makeDevice();
    const m = await alice.cipher.encrypt(bob.address, text('x'), bob.bundle());
    await rejects(bob.cipher.decrypt(mallory.address, m.body), 'UNTRUSTED_IDENTITY');
    await rejects(alice.cipher.encrypt(mallory.address, text('x'), bob.bundle()), 'UNTRUSTED_IDENTITY');
    expect(await alice.cipher.hasSession(mallory.address)).toBe(false);
  });

  it('serves only the contact point it was made with: the same device claimed by another is refused', async () => {
    // The unknown key-share: Carol's contact point certifies Alice's device key, and a relay
    // relabels Alice's messages as Carol's. Bob must not read them as Carol's.
    const [alice, bob] = await pair();
    const carol = (await makeDevice()).address;
    const aliceAsCarol = { ...alice.address, contactPointId: carol.contactPointId, accountKey: carol.accountKey };
    const first = await alice.cipher.encrypt(bob.address, text('from alice'), bob.bundle());
    const before = await record(bob, alice);
    await rejects(bob.cipher.decrypt(aliceAsCarol, first.body), 'DECRYPT_FAILED');
    expect(await record(bob, alice)).toEqual(before);
    expect(read(await bob.cipher.decrypt(alice.address, first.body))).toBe('from alice');
    await alice.cipher.decrypt(bob.address, (await bob.cipher.encrypt(alice.address, text('received'))).body);
    // Once a session exists, a later message under the other name is refused before any decryption.
    const second = await alice.cipher.encrypt(bob.address, text('again'));
    await rejects(bob.cipher.decrypt(aliceAsCarol, second.body), 'UNTRUSTED_IDENTITY');
    // Only the account key differs (a contact point re-designated with another key): refused too.
    const rekeyed = { ...alice.address, accountKey: generateIdentityKeyPair().publicKey };
    await rejects(bob.cipher.decrypt(rekeyed, second.body), 'UNTRUSTED_IDENTITY');
    expect(read(await bob.cipher.decrypt(alice.address, second.body))).toBe('again');
    // Bob writing to "Carol" at that device gets no session with it, and needs a bundle to start one.
    expect(await bob.cipher.hasSession(aliceAsCarol)).toBe(false);
    await rejects(bob.cipher.encrypt(aliceAsCarol, text('reply')), 'NO_SESSION');
    // A session Bob starts as if to Carol does not open at Alice's device, which speaks for Alice.
    const misaddressed = await bob.cipher.encrypt(aliceAsCarol, text('to carol'), alice.bundle());
    await rejects(alice.cipher.decrypt(bob.address, misaddressed.body), 'DECRYPT_FAILED');
  });

  it('refuses a tampered signed prekey and starts no session', async () => {
    const [alice, bob] = await pair();
    const bundle = bob.bundle();
    const tampered = {
      ...bundle,
      signedPrekey: { ...bundle.signedPrekey, createdAt: bundle.signedPrekey.createdAt + 1 },
    };
    await rejects(alice.cipher.encrypt(bob.address, text('x'), tampered), 'BAD_SIGNATURE');
    expect(await alice.cipher.hasSession(bob.address)).toBe(false);
  });

  it('refuses a header announcing a huge jump without changing the session', async () => {
    const [alice, bob] = await pair();
    const a1 = await alice.cipher.encrypt(bob.address, text('a1'), bob.bundle());
    await bob.cipher.decrypt(alice.address, a1.body);
    const a2 = await alice.cipher.encrypt(bob.address, text('a2'));
    const before = await record(bob, alice);
    const parsed = parseMessage(a2.body);
    const jumped = a2.body.slice();
    const headerAt = parsed.authenticatedPrefix.length - 4;
    new DataView(jumped.buffer).setUint32(headerAt, 0xfffffff0);
    await rejects(bob.cipher.decrypt(alice.address, jumped), 'TOO_MANY_SKIPPED');
    new DataView(jumped.buffer).setUint32(headerAt, MAX_SKIP + 2);
    await rejects(bob.cipher.decrypt(alice.address, jumped), 'TOO_MANY_SKIPPED');
    expect(await record(bob, alice)).toEqual(before);
  });

  it('keeps skipped keys bounded, evicting the oldest', async () => {
    const [alice, bob] = await pair();
    const first = await alice.cipher.encrypt(bob.address, text('m0'), bob.bundle());
    const messages = [first];
    for (let i = 1; i <= 2 * MAX_SKIP; i++) messages.push(await alice.cipher.encrypt(bob.address, text(`m${i}`)));
    const at = (i: number) => (messages[i] as { body: Uint8Array }).body;
    expect(read(await bob.cipher.decrypt(alice.address, at(MAX_SKIP)))).toBe(`m${MAX_SKIP}`);
    expect(read(await bob.cipher.decrypt(alice.address, at(2 * MAX_SKIP)))).toBe(`m${2 * MAX_SKIP}`);
    // 1,999 keys were skipped; the chain holds at most 1,000, so the oldest are gone and the newest kept.
    await rejects(bob.cipher.decrypt(alice.address, at(0)), 'DUPLICATE_MESSAGE');
    expect(read(await bob.cipher.decrypt(alice.address, at(2 * MAX_SKIP - 1)))).toBe(`m${2 * MAX_SKIP - 1}`);
    const stored = deserializeSessionRecord((await record(bob, alice)) as Uint8Array);
    expect(stored.current?.ratchet.skipped.size).toBeLessThanOrEqual(MAX_SKIP);
  });

  it('converges when both sides start a session at the same time', async () => {
    const [alice, bob] = await pair();
    const fromAlice = await alice.cipher.encrypt(bob.address, text('from alice'), bob.bundle());
    const fromBob = await bob.cipher.encrypt(alice.address, text('from bob'), alice.bundle());
    expect(read(await bob.cipher.decrypt(alice.address, fromAlice.body))).toBe('from alice');
    expect(read(await alice.cipher.decrypt(bob.address, fromBob.body))).toBe('from bob');
    for (let round = 0; round < 3; round++) {
      const a = await alice.cipher.encrypt(bob.address, text(`a${round}`));
      const b = await bob.cipher.encrypt(alice.address, text(`b${round}`));
      expect(read(await bob.cipher.decrypt(alice.address, a.body))).toBe(`a${round}`);
      expect(read(await alice.cipher.decrypt(bob.address, b.body))).toBe(`b${round}`);
    }
  });

  it('survives a restart mid-conversation from the serialised state', async () => {
    const [alice, bob] = await pair();
    const a1 = await alice.cipher.encrypt(bob.address, text('a1'), bob.bundle());
    const a2 = await alice.cipher.encrypt(bob.address, text('a2'));
    await bob.cipher.decrypt(alice.address, a2.body);
    const before = await record(bob, alice);
    bob.restart();
    alice.restart();
    expect(await record(bob, alice)).toEqual(before);
    expect(read(await bob.cipher.decrypt(alice.address, a1.body))).toBe('a1');
    const b1 = await bob.cipher.encrypt(alice.address, text('b1'));
    expect(read(await alice.cipher.decrypt(bob.address, b1.body))).toBe('b1');
  });

  it('reads the stored record, not the one it last wrote, once another writer changed it in turn; a failed save leaves nothing behind', async () => {
    const [alice, bob] = await pair();
    await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('a0'), bob.bundle())).body);
    const a1 = await alice.cipher.encrypt(bob.address, text('a1'));
    // Another cipher on Bob's store takes a1 first, while Bob's waits (a restart, or the store
    // restored). They take turns: two ciphers on one store at once are not supported (SessionCipher).
    const other = new SessionCipher(bob.store, {
      contactPointId: bob.address.contactPointId,
      accountKey: bob.address.accountKey,
    });
    expect(read(await other.decrypt(alice.address, a1.body))).toBe('a1');
    await rejects(bob.cipher.decrypt(alice.address, a1.body), 'DUPLICATE_MESSAGE');

    // A save that fails: the message is refused, and the next one still reaches Alice.
    const before = await record(bob, alice);
    const putSession = bob.store.putSession.bind(bob.store);
    bob.store.putSession = () => Promise.reject(new Error('disk full'));
    await expect(bob.cipher.encrypt(alice.address, text('lost'))).rejects.toThrow('disk full');
    bob.store.putSession = putSession;
    expect(await record(bob, alice)).toEqual(before);
    expect(
      read(await alice.cipher.decrypt(bob.address, (await bob.cipher.encrypt(alice.address, text('b0'))).body)),
    ).toBe('b0');
  });
});

describe('forget', () => {
  it('wipes every record the cipher kept decoded, bytes and keys, and the cipher then reads the store again', async () => {
    const [alice, bob] = await pair();
    await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('a0'), bob.bundle())).body);
    await alice.cipher.decrypt(bob.address, (await bob.cipher.encrypt(alice.address, text('b0'))).body);
    // What a lock screen must not leave behind: the cipher's own copies (private, read here on purpose).
    const kept = (bob.cipher as unknown as { decoded: Map<string, { bytes: Uint8Array; record: SessionRecord }> })
      .decoded;
    const entry = kept.get(alice.id);
    const state = entry?.record.current as SessionState;
    const ratchet = state.ratchet;
    const secrets = [entry?.bytes, ratchet.rootKey, ratchet.sendingKeyPair.privateKey, ratchet.sendingChainKey];
    secrets.push(ratchet.receivingChainKey, state.associatedData);
    for (const bytes of secrets) expect(bytes?.some((b) => b !== 0)).toBe(true);
    bob.cipher.forget();
    expect(kept.size).toBe(0);
    for (const bytes of secrets) expect(bytes?.every((b) => b === 0)).toBe(true);
    expect(entry?.record).toEqual({ previous: [] });
    // The store's copy is untouched: the conversation goes on both ways.
    expect(
      read(await alice.cipher.decrypt(bob.address, (await bob.cipher.encrypt(alice.address, text('b1'))).body)),
    ).toBe('b1');
    expect(
      read(await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('a1'))).body)),
    ).toBe('a1');
  });

  it('does not keep the record of a save under way when it is called', async () => {
    const [alice, bob] = await pair();
    await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('a0'), bob.bundle())).body);
    const putSession = bob.store.putSession.bind(bob.store);
    bob.store.putSession = async (id, bytes) => {
      bob.cipher.forget();
      await putSession(id, bytes);
    };
    await bob.cipher.encrypt(alice.address, text('b0'));
    bob.store.putSession = putSession;
    expect((bob.cipher as unknown as { decoded: Map<string, unknown> }).decoded.size).toBe(0);
  });
});

describe('an unreadable session record', () => {
  it('is a key store failure, not a forged message: the message is refused with KEY_STORE_UNREADABLE and nothing is saved', async () => {
    const [alice, bob] = await pair();
    await bob.cipher.decrypt(alice.address, (await alice.cipher.encrypt(bob.address, text('a0'), bob.bundle())).body);
    const a1 = await alice.cipher.encrypt(bob.address, text('a1'));
    const good = (await record(bob, alice)) as Uint8Array;
    // A newer SDK's format (byte 3 of "LSR" | format), and a malformed record.
    const newer = good.slice();
    newer[3] = 4;
    for (const unreadable of [newer, good.subarray(0, good.length - 1)]) {
      await bob.store.putSession(alice.id, unreadable);
      await rejects(bob.cipher.decrypt(alice.address, a1.body), 'KEY_STORE_UNREADABLE');
      await rejects(bob.cipher.encrypt(alice.address, text('b0')), 'KEY_STORE_UNREADABLE');
      expect(await record(bob, alice)).toEqual(unreadable);
    }
    // Once the record reads again, the same message decrypts: it was not lost.
    await bob.store.putSession(alice.id, good);
    expect(read(await bob.cipher.decrypt(alice.address, a1.body))).toBe('a1');
  });
});

describe('ratchet associated data', () => {
  it('fails to decrypt under different associated data, and keeps the state', async () => {
    await ready();
    const shared = new Uint8Array(32).fill(7);
    const bobKeys = generateKeyPair();
    const alice = initiatorState(shared, bobKeys.publicKey);
    const bob = responderState(shared, bobKeys);
    const ad = text('session ad');
    let headerBytes: Uint8Array = new Uint8Array(0);
    const { ciphertext } = ratchetEncrypt(alice, text('hello'), (h) => {
      headerBytes = h;
      return concat(ad, h);
    });
    const header = {
      dh: headerBytes.slice(0, 32),
      pn: new DataView(headerBytes.buffer).getUint32(32),
      n: new DataView(headerBytes.buffer).getUint32(36),
    };
    expect(() => ratchetDecrypt(bob, header, ciphertext, concat(text('other ad'), headerBytes))).toThrowError(
      /authentication/,
    );
    expect(bob.receivingKey).toBeNull();
    expect(read(ratchetDecrypt(bob, header, ciphertext, concat(ad, headerBytes)).plaintext)).toBe('hello');
  });
  it('refuses a new ratchet key from the peer while its own answer is still to be sent', async () => {
    await ready();
    const ad = (header: Uint8Array) => header;
    const spk = generateKeyPair();
    const alice = initiatorState(new Uint8Array(32).fill(9), spk.publicKey);
    const first = ratchetEncrypt(alice, text('a0'), ad);
    const bob = ratchetDecrypt(
      responderState(new Uint8Array(32).fill(9), spk),
      decodeHeader(first.header),
      first.ciphertext,
      first.header,
    ).state;
    // Whoever holds Alice's state makes new ratchet keys towards Bob's signed prekey again, though
    // Bob has sent nothing: an honest Alice never can (she has no new key of Bob's to answer).
    let forger = alice;
    for (let step = 0; step < 3; step++) {
      forger = cloneState(forger);
      forger.sendingChainKey = null;
      forger.previousSendingN = forger.sendingN;
      forger.sendingN = 0;
      const forged = ratchetEncrypt(forger, text(`step ${step}`), ad);
      expect(() => ratchetDecrypt(bob, decodeHeader(forged.header), forged.ciphertext, forged.header)).toThrowError(
        expect.objectContaining({ code: 'DECRYPT_FAILED' }),
      );
    }
    // Alice's real chain goes on, and Bob's answer then carries his new key.
    const a1 = ratchetEncrypt(alice, text('a1'), ad);
    const next = ratchetDecrypt(bob, decodeHeader(a1.header), a1.ciphertext, a1.header);
    expect(read(next.plaintext)).toBe('a1');
    const b0 = ratchetEncrypt(next.state, text('b0'), ad);
    expect(read(ratchetDecrypt(alice, decodeHeader(b0.header), b0.ciphertext, b0.header).plaintext)).toBe('b0');
  });
});
