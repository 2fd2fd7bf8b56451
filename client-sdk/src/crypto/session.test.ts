import { beforeAll, describe, expect, it } from 'vitest';
import { makeDevice, read, type TestDevice, text } from '../__fixtures__/devices.js';
import { isLiaisonError, type LiaisonErrorCode } from '../errors.js';
import { concat } from './bytes.js';
import { generateIdentityKeyPair, generateKeyPair, sign } from './keys.js';
import { parseMessage } from './message.js';
import { initiatorState, MAX_SKIP, ratchetDecrypt, ratchetEncrypt, responderState } from './ratchet.js';
import { ready } from './sodium.js';
import { x3dhInitiate, x3dhRespond } from './x3dh.js';

beforeAll(ready);

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
      const bundle = bob.bundle({ oneTime: withOneTime });
      const a = x3dhInitiate(alice, bundle);
      const otp = bundle.oneTimePrekey && (await bob.store.getOneTimePrekey(bundle.oneTimePrekey.id));
      const b = x3dhRespond(bob.identity, spk, otp, alice.publicKey, a.ephemeralPublicKey);
      expect(Buffer.from(a.sharedKey).equals(Buffer.from(b.sharedKey))).toBe(true);
      expect(a.associatedData).toEqual(b.associatedData);
      expect(a.associatedData.length).toBe(7 + 1 + 32 + 32);
    }
  });

  it('refuses a bundle whose signed prekey is not signed by the device identity', async () => {
    const bob = await makeDevice();
    const bundle = bob.bundle();
    const forged = { ...bundle, signedPrekey: { ...bundle.signedPrekey, publicKey: generateKeyPair().publicKey } };
    expect(() => x3dhInitiate(generateIdentityKeyPair(), forged)).toThrowError(/not signed/);
    const otherSigner = generateIdentityKeyPair();
    const resigned = {
      ...bundle,
      signedPrekey: { ...bundle.signedPrekey, signature: sign(otherSigner, new Uint8Array(8)) },
    };
    expect(() => x3dhInitiate(generateIdentityKeyPair(), resigned)).toThrowError(/not signed/);
  });
});

describe('sessions', () => {
  it('carry messages both ways; prekey messages until the first reply, then plain ones', async () => {
    const [alice, bob] = await pair();
    const first = await alice.cipher.encrypt(bob.id, text('request for assistance'), bob.bundle());
    const second = await alice.cipher.encrypt(bob.id, text('second, before any reply'));
    expect([first.kind, second.kind]).toEqual(['prekey-message', 'prekey-message']);
    expect(read(await bob.cipher.decrypt(alice.id, first.body))).toBe('request for assistance');
    expect(read(await bob.cipher.decrypt(alice.id, second.body))).toBe('second, before any reply');
    const reply = await bob.cipher.encrypt(alice.id, text('received'));
    expect(reply.kind).toBe('message');
    expect(read(await alice.cipher.decrypt(bob.id, reply.body))).toBe('received');
    const third = await alice.cipher.encrypt(bob.id, text('thanks'));
    expect(third.kind).toBe('message');
    expect(read(await bob.cipher.decrypt(alice.id, third.body))).toBe('thanks');
  });

  it('works when the relay has run out of one-time prekeys', async () => {
    const [alice, bob] = await pair();
    const m = await alice.cipher.encrypt(bob.id, text('no one-time prekey'), bob.bundle({ oneTime: false }));
    expect(parseMessage(m.body).prekey?.oneTimePrekeyId).toBeUndefined();
    expect(read(await bob.cipher.decrypt(alice.id, m.body))).toBe('no one-time prekey');
  });

  it('consumes the one-time prekey once the session is saved', async () => {
    const [alice, bob] = await pair();
    const bundle = bob.bundle();
    const otpId = bundle.oneTimePrekey?.id as number;
    const m = await alice.cipher.encrypt(bob.id, text('x'), bundle);
    expect(await bob.store.getOneTimePrekey(otpId)).toBeDefined();
    await bob.cipher.decrypt(alice.id, m.body);
    expect(await bob.store.getOneTimePrekey(otpId)).toBeUndefined();
    // A relay handing the same one-time prekey to a second initiator gets that session refused.
    const carol = await makeDevice();
    const reused = await carol.cipher.encrypt(bob.id, text('y'), bundle);
    await rejects(bob.cipher.decrypt(carol.id, reused.body), 'MISSING_PREKEY');
  });

  it('decrypts out of order, within a chain and across ratchet steps', async () => {
    const [alice, bob] = await pair();
    const a1 = await alice.cipher.encrypt(bob.id, text('a1'), bob.bundle());
    const a2 = await alice.cipher.encrypt(bob.id, text('a2'));
    const a3 = await alice.cipher.encrypt(bob.id, text('a3'));
    expect(read(await bob.cipher.decrypt(alice.id, a3.body))).toBe('a3');
    const b1 = await bob.cipher.encrypt(alice.id, text('b1'));
    expect(read(await alice.cipher.decrypt(bob.id, b1.body))).toBe('b1');
    const a4 = await alice.cipher.encrypt(bob.id, text('a4'));
    expect(read(await bob.cipher.decrypt(alice.id, a4.body))).toBe('a4');
    expect(read(await bob.cipher.decrypt(alice.id, a1.body))).toBe('a1');
    expect(read(await bob.cipher.decrypt(alice.id, a2.body))).toBe('a2');
  });

  it('refuses a replay, of a prekey message and of a plain one', async () => {
    const [alice, bob] = await pair();
    const a1 = await alice.cipher.encrypt(bob.id, text('a1'), bob.bundle());
    await bob.cipher.decrypt(alice.id, a1.body);
    await rejects(bob.cipher.decrypt(alice.id, a1.body), 'DUPLICATE_MESSAGE');
    const b1 = await bob.cipher.encrypt(alice.id, text('b1'));
    await alice.cipher.decrypt(bob.id, b1.body);
    await rejects(alice.cipher.decrypt(bob.id, b1.body), 'DUPLICATE_MESSAGE');
    // Replays of a chain already left behind are recognised too.
    const a2 = await alice.cipher.encrypt(bob.id, text('a2'));
    await bob.cipher.decrypt(alice.id, a2.body);
    await rejects(alice.cipher.decrypt(bob.id, b1.body), 'DUPLICATE_MESSAGE');
  });

  it('leaves the session untouched by a tampered, truncated or misattributed message', async () => {
    const [alice, bob] = await pair();
    const a1 = await alice.cipher.encrypt(bob.id, text('a1'), bob.bundle());
    await bob.cipher.decrypt(alice.id, a1.body);
    await alice.cipher.decrypt(bob.id, (await bob.cipher.encrypt(alice.id, text('b1'))).body);
    const a2 = await alice.cipher.encrypt(bob.id, text('a2'));
    expect(a2.kind).toBe('message');
    const before = await record(bob, alice);

    for (let i = 0; i < a2.body.length; i += 7) {
      const flipped = a2.body.slice();
      flipped[i] = (flipped[i] as number) ^ 0x01;
      const error = await bob.cipher.decrypt(alice.id, flipped).catch((e: unknown) => e);
      expect(isLiaisonError(error), `byte ${i}`).toBe(true);
    }
    await rejects(bob.cipher.decrypt(alice.id, a2.body.slice(0, a2.body.length - 1)), 'DECRYPT_FAILED');
    await rejects(bob.cipher.decrypt(alice.id, a2.body.slice(0, 40)), 'INVALID_MESSAGE');
    await rejects(bob.cipher.decrypt(alice.id, new Uint8Array(0)), 'INVALID_MESSAGE');
    await rejects(bob.cipher.decrypt(alice.id, concat(Uint8Array.of(9), a2.body.slice(1))), 'UNSUPPORTED_VERSION');
    const carol = await makeDevice();
    await rejects(bob.cipher.decrypt(carol.id, a2.body), 'NO_SESSION');

    expect(await record(bob, alice)).toEqual(before);
    expect(read(await bob.cipher.decrypt(alice.id, a2.body))).toBe('a2');
  });

  it('refuses a prekey message whose identity is not its device, and a bundle of another device', async () => {
    const [alice, bob] = await pair();
    const mallory = await makeDevice();
    const m = await alice.cipher.encrypt(bob.id, text('x'), bob.bundle());
    await rejects(bob.cipher.decrypt(mallory.id, m.body), 'UNTRUSTED_IDENTITY');
    await rejects(alice.cipher.encrypt(mallory.id, text('x'), bob.bundle()), 'UNTRUSTED_IDENTITY');
    expect(await alice.cipher.hasSession(mallory.id)).toBe(false);
  });

  it('refuses a tampered signed prekey and starts no session', async () => {
    const [alice, bob] = await pair();
    const bundle = bob.bundle();
    const tampered = {
      ...bundle,
      signedPrekey: { ...bundle.signedPrekey, createdAt: bundle.signedPrekey.createdAt + 1 },
    };
    await rejects(alice.cipher.encrypt(bob.id, text('x'), tampered), 'BAD_SIGNATURE');
    expect(await alice.cipher.hasSession(bob.id)).toBe(false);
  });

  it('refuses a header announcing a huge jump without changing the session', async () => {
    const [alice, bob] = await pair();
    const a1 = await alice.cipher.encrypt(bob.id, text('a1'), bob.bundle());
    await bob.cipher.decrypt(alice.id, a1.body);
    const a2 = await alice.cipher.encrypt(bob.id, text('a2'));
    const before = await record(bob, alice);
    const parsed = parseMessage(a2.body);
    const jumped = a2.body.slice();
    const headerAt = parsed.authenticatedPrefix.length - 4;
    new DataView(jumped.buffer).setUint32(headerAt, 0xfffffff0);
    await rejects(bob.cipher.decrypt(alice.id, jumped), 'TOO_MANY_SKIPPED');
    new DataView(jumped.buffer).setUint32(headerAt, MAX_SKIP + 2);
    await rejects(bob.cipher.decrypt(alice.id, jumped), 'TOO_MANY_SKIPPED');
    expect(await record(bob, alice)).toEqual(before);
  });

  it('keeps skipped keys bounded, evicting the oldest', async () => {
    const [alice, bob] = await pair();
    const first = await alice.cipher.encrypt(bob.id, text('m0'), bob.bundle());
    const messages = [first];
    for (let i = 1; i <= 2 * MAX_SKIP; i++) messages.push(await alice.cipher.encrypt(bob.id, text(`m${i}`)));
    const at = (i: number) => (messages[i] as { body: Uint8Array }).body;
    expect(read(await bob.cipher.decrypt(alice.id, at(MAX_SKIP)))).toBe(`m${MAX_SKIP}`);
    expect(read(await bob.cipher.decrypt(alice.id, at(2 * MAX_SKIP)))).toBe(`m${2 * MAX_SKIP}`);
    // 1,999 keys were skipped; the chain holds at most 1,000, so the oldest are gone and the newest kept.
    await rejects(bob.cipher.decrypt(alice.id, at(0)), 'DUPLICATE_MESSAGE');
    expect(read(await bob.cipher.decrypt(alice.id, at(2 * MAX_SKIP - 1)))).toBe(`m${2 * MAX_SKIP - 1}`);
    const stored = JSON.parse(new TextDecoder().decode(await record(bob, alice)));
    expect(stored.current.ratchet.skipped.length).toBeLessThanOrEqual(MAX_SKIP);
  });

  it('converges when both sides start a session at the same time', async () => {
    const [alice, bob] = await pair();
    const fromAlice = await alice.cipher.encrypt(bob.id, text('from alice'), bob.bundle());
    const fromBob = await bob.cipher.encrypt(alice.id, text('from bob'), alice.bundle());
    expect(read(await bob.cipher.decrypt(alice.id, fromAlice.body))).toBe('from alice');
    expect(read(await alice.cipher.decrypt(bob.id, fromBob.body))).toBe('from bob');
    for (let round = 0; round < 3; round++) {
      const a = await alice.cipher.encrypt(bob.id, text(`a${round}`));
      const b = await bob.cipher.encrypt(alice.id, text(`b${round}`));
      expect(read(await bob.cipher.decrypt(alice.id, a.body))).toBe(`a${round}`);
      expect(read(await alice.cipher.decrypt(bob.id, b.body))).toBe(`b${round}`);
    }
  });

  it('survives a restart mid-conversation from the serialised state', async () => {
    const [alice, bob] = await pair();
    const a1 = await alice.cipher.encrypt(bob.id, text('a1'), bob.bundle());
    const a2 = await alice.cipher.encrypt(bob.id, text('a2'));
    await bob.cipher.decrypt(alice.id, a2.body);
    const before = await record(bob, alice);
    bob.restart();
    alice.restart();
    expect(await record(bob, alice)).toEqual(before);
    expect(read(await bob.cipher.decrypt(alice.id, a1.body))).toBe('a1');
    const b1 = await bob.cipher.encrypt(alice.id, text('b1'));
    expect(read(await alice.cipher.decrypt(bob.id, b1.body))).toBe('b1');
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
});
