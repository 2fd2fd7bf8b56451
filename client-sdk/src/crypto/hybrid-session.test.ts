import { beforeAll, describe, expect, it } from 'vitest';
import { makeDevice, read, type TestDevice, text } from '../__fixtures__/devices.js';
import { isLiaisonError, type LiaisonErrorCode } from '../errors.js';
import { generateIdentityKeyPair, generateKemPrekey, sign } from './keys.js';
import { parseMessage } from './message.js';
import { ready, sodium } from './sodium.js';
import type { RemoteBundle } from './x3dh.js';

beforeAll(ready);

/** The stored session record, to show that a refused message or bundle changed nothing. */
const record = (device: TestDevice, peer: TestDevice) => device.store.getSession(peer.id);

async function rejects(promise: Promise<unknown>, code: LiaisonErrorCode) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isLiaisonError(error) ? error.code : error).toBe(code);
}

/** A full exchange: first message, reply, and one more each way. */
async function converse(alice: TestDevice, bob: TestDevice, bundle: RemoteBundle): Promise<void> {
  const first = await alice.cipher.encrypt(bob.address, text('Demande urgente'), bundle);
  expect(first.kind).toBe('prekey-message');
  expect(read(await bob.cipher.decrypt(alice.address, first.body))).toBe('Demande urgente');
  const reply = await bob.cipher.encrypt(alice.address, text('Reçu'));
  expect(read(await alice.cipher.decrypt(bob.address, reply.body))).toBe('Reçu');
  const again = await alice.cipher.encrypt(bob.address, text('Merci'));
  expect(again.kind).toBe('message');
  expect(read(await bob.cipher.decrypt(alice.address, again.body))).toBe('Merci');
}

describe('hybrid sessions (ML-KEM-768 with X25519)', () => {
  it('carry messages both ways, with a one-time KEM prekey and with the last-resort one', async () => {
    const bob = await makeDevice(1);
    const [withOneTime, withLastResort] = [await makeDevice(), await makeDevice()];
    const oneTimeBundle = bob.bundle();
    expect(oneTimeBundle.kemPrekey?.lastResort).toBe(false);
    await converse(withOneTime, bob, oneTimeBundle);
    // The one-time KEM prekey is gone once its session is saved; the last-resort one stays.
    expect(await bob.store.getKemPrekey(oneTimeBundle.kemPrekey?.id as number)).toBe(undefined);

    const lastResortBundle = bob.bundle({ oneTime: false });
    expect(lastResortBundle.kemPrekey?.lastResort).toBe(true);
    await converse(withLastResort, bob, lastResortBundle);
    expect(await bob.store.getKemPrekey(lastResortBundle.kemPrekey?.id as number)).toBeDefined();

    for (const alice of [withOneTime, withLastResort]) {
      expect(await alice.cipher.sessionVersion(bob.address)).toBe(2);
      expect(await bob.cipher.sessionVersion(alice.address)).toBe(2);
    }
  });

  it('reuses the last-resort KEM prekey for several initiators, each with a session of its own', async () => {
    const bob = await makeDevice(0);
    const initiators = [await makeDevice(), await makeDevice(), await makeDevice()];
    const bundles = initiators.map(() => bob.bundle());
    const ids = new Set(bundles.map((b) => b.kemPrekey?.id));
    expect(ids.size).toBe(1);
    expect(bundles.every((b) => b.kemPrekey?.lastResort)).toBe(true);
    for (const [i, alice] of initiators.entries()) await converse(alice, bob, bundles[i] as RemoteBundle);
    // Same KEM key, different encapsulations: the first messages' KEM ciphertexts all differ.
    const first = await Promise.all(initiators.map((a) => a.cipher.encrypt(bob.address, text('x'))));
    expect(first.every((m) => m.kind === 'message')).toBe(true);
  });

  it('carries the KEM ciphertext and prekey id in the first message, and repeats them until the first reply', async () => {
    const [alice, bob] = [await makeDevice(), await makeDevice()];
    const bundle = bob.bundle();
    const one = await alice.cipher.encrypt(bob.address, text('one'), bundle);
    const two = await alice.cipher.encrypt(bob.address, text('two'));
    for (const message of [one, two]) {
      const parsed = parseMessage(message.body);
      expect(parsed.version).toBe(2);
      expect(parsed.prekey?.kem?.prekeyId).toBe(bundle.kemPrekey?.id);
      expect(parsed.prekey?.kem?.ciphertext.length).toBe(1088);
    }
    // The second arrives first: it starts the session, and the first still decrypts in it.
    expect(read(await bob.cipher.decrypt(alice.address, two.body))).toBe('two');
    expect(read(await bob.cipher.decrypt(alice.address, one.body))).toBe('one');
    const reply = await bob.cipher.encrypt(alice.address, text('reply'));
    await alice.cipher.decrypt(bob.address, reply.body);
    expect(parseMessage((await alice.cipher.encrypt(bob.address, text('three'))).body).prekey).toBe(undefined);
  });

  it('refuses a KEM prekey with a tampered signature, another key type, or the wrong role, and starts no session', async () => {
    const [alice, bob] = [await makeDevice(), await makeDevice()];
    const bundle = bob.bundle();
    const kem = bundle.kemPrekey as NonNullable<RemoteBundle['kemPrekey']>;
    const flipped = kem.signature.slice();
    flipped[0] = (flipped[0] as number) ^ 1;
    const otherKey = generateKemPrekey(bob.identity, kem.id, false, kem.createdAt);
    const forged: RemoteBundle[] = [
      // A signature that is not the identity key's over this key.
      { ...bundle, kemPrekey: { ...kem, signature: flipped } },
      // Another ML-KEM key under the genuine signature.
      { ...bundle, kemPrekey: { ...kem, publicKey: sodium().crypto_kem_mlkem768_keypair().publicKey } },
      // The same key presented as last-resort: the role is signed too.
      { ...bundle, kemPrekey: { ...kem, lastResort: !kem.lastResort } },
      // The signed X25519 prekey's signature offered for the KEM key: the key type is in what is signed.
      { ...bundle, kemPrekey: { ...kem, signature: bundle.signedPrekey.signature } },
      // A KEM key signed by someone else.
      { ...bundle, kemPrekey: { ...kem, signature: sign(generateIdentityKeyPair(), new Uint8Array(8)) } },
      // An id the device did not sign with this key.
      { ...bundle, kemPrekey: { ...kem, id: kem.id + 1 } },
      // Not an ML-KEM-768 key at all: an X25519 key in the KEM slot.
      { ...bundle, kemPrekey: { ...kem, publicKey: bundle.signedPrekey.publicKey } },
    ];
    expect(otherKey.signature).not.toEqual(kem.signature);
    for (const [i, bad] of forged.entries()) {
      const error = await alice.cipher.encrypt(bob.address, text('x'), bad).catch((e: unknown) => e);
      expect(isLiaisonError(error) && error.code, `case ${i}`).toBe(
        i === forged.length - 1 ? 'INVALID_INPUT' : 'BAD_SIGNATURE',
      );
      expect(await record(alice, bob)).toBe(undefined);
    }
  });

  it('refuses a truncated or altered KEM ciphertext, leaving the prekeys and sessions as they were', async () => {
    const [alice, bob] = [await makeDevice(), await makeDevice()];
    const bundle = bob.bundle();
    const first = await alice.cipher.encrypt(bob.address, text('first'), bundle);
    const kemAt = 2 + 32 + 32 + 4 + 1 + 4 + 4; // version, type, identity, base key, spk id, flag + otp id, KEM id
    const kemIds = (await bob.store.getKemPrekeys()).map((p) => p.id).sort();
    const truncated = new Uint8Array([...first.body.slice(0, kemAt + 500)]);
    const cut = new Uint8Array([...first.body.slice(0, kemAt + 100), ...first.body.slice(kemAt + 101)]);
    const altered = first.body.slice();
    altered[kemAt + 10] = (altered[kemAt + 10] as number) ^ 0x80;
    await rejects(bob.cipher.decrypt(alice.address, truncated), 'INVALID_MESSAGE');
    await rejects(bob.cipher.decrypt(alice.address, cut), 'DECRYPT_FAILED');
    // ML-KEM rejects implicitly: another shared secret, so the first message's AEAD check fails.
    await rejects(bob.cipher.decrypt(alice.address, altered), 'DECRYPT_FAILED');
    expect(await record(bob, alice)).toBe(undefined);
    expect((await bob.store.getKemPrekeys()).map((p) => p.id).sort()).toEqual(kemIds);
    expect(read(await bob.cipher.decrypt(alice.address, first.body))).toBe('first');
  });

  it('refuses a first message naming a KEM prekey the device does not have', async () => {
    const [alice, bob] = [await makeDevice(), await makeDevice()];
    const bundle = bob.bundle();
    const first = await alice.cipher.encrypt(bob.address, text('first'), bundle);
    await bob.store.removeKemPrekey(bundle.kemPrekey?.id as number);
    await rejects(bob.cipher.decrypt(alice.address, first.body), 'MISSING_PREKEY');
    expect(await record(bob, alice)).toBe(undefined);
  });

  it('refuses a downgrade: a device certified for hybrid sessions offered without a KEM prekey', async () => {
    const [alice, bob] = [await makeDevice(), await makeDevice()];
    const stripped = { ...bob.bundle({ kem: false }), requiresHybrid: true };
    await rejects(alice.cipher.encrypt(bob.address, text('x'), stripped), 'DOWNGRADE_REFUSED');
    expect(await record(alice, bob)).toBe(undefined);
    // With its KEM prekey, the same device is reached, hybrid.
    await converse(alice, bob, { ...bob.bundle(), requiresHybrid: true });
    expect(await alice.cipher.sessionVersion(bob.address)).toBe(2);
  });

  it('remembers a device that speaks hybrid sessions: a bundle without a KEM prekey is refused later, whatever certificate came with it', async () => {
    const [alice, bob, carol] = [await makeDevice(), await makeDevice(), await makeDevice()];
    // Alice once saw Bob's certificate saying pq-hybrid; the relay now shows an older one and strips the KEM prekey.
    await alice.cipher.rememberHybrid([bob.id]);
    await rejects(alice.cipher.encrypt(bob.address, text('x'), bob.bundle({ kem: false })), 'DOWNGRADE_REFUSED');
    expect(await record(alice, bob)).toBe(undefined);
    // Carol made a hybrid session with Alice: Alice remembers Carol speaks them, and Carol remembers Alice.
    await converse(carol, alice, alice.bundle());
    expect(await alice.cipher.speaksHybrid(carol.id)).toBe(true);
    expect(await carol.cipher.speaksHybrid(alice.id)).toBe(true);
    alice.restart();
    expect(await alice.cipher.speaksHybrid(carol.id)).toBe(true);
  });

  it('replaces a classical session with a hybrid one once the device is known to speak them', async () => {
    const [alice, bob] = [await makeDevice(), await makeDevice()];
    await converse(alice, bob, bob.bundle({ kem: false }));
    const inFlight = await alice.cipher.encrypt(bob.address, text('sent classically'));
    expect(await alice.cipher.hasSession(bob.address)).toBe(true);

    await alice.cipher.rememberHybrid([bob.id]);
    // Not ready without a bundle: the application fetches one, and the next message starts a hybrid session.
    expect(await alice.cipher.hasSession(bob.address)).toBe(false);
    await rejects(alice.cipher.encrypt(bob.address, text('x')), 'NO_SESSION');
    const upgraded = await alice.cipher.encrypt(bob.address, text('hybrid now'), bob.bundle());
    expect(parseMessage(upgraded.body).version).toBe(2);
    expect(read(await bob.cipher.decrypt(alice.address, upgraded.body))).toBe('hybrid now');
    expect(read(await bob.cipher.decrypt(alice.address, inFlight.body))).toBe('sent classically');
    const reply = await bob.cipher.encrypt(alice.address, text('reply'));
    expect(read(await alice.cipher.decrypt(bob.address, reply.body))).toBe('reply');
    expect(await alice.cipher.sessionVersion(bob.address)).toBe(2);
    expect(await bob.cipher.sessionVersion(alice.address)).toBe(2);
  });

  it('reaches a device that predates hybrid sessions classically, and says so', async () => {
    const [alice, bob] = [await makeDevice(), await makeDevice()];
    await converse(alice, bob, bob.bundle({ kem: false }));
    expect(await alice.cipher.sessionVersion(bob.address)).toBe(1);
    expect(await bob.cipher.sessionVersion(alice.address)).toBe(1);
    expect(parseMessage((await alice.cipher.encrypt(bob.address, text('x'))).body).version).toBe(1);
  });

  it('keeps a hybrid session across restarts of both sides', async () => {
    const [alice, bob] = [await makeDevice(), await makeDevice()];
    const first = await alice.cipher.encrypt(bob.address, text('first'), bob.bundle());
    alice.restart();
    const second = await alice.cipher.encrypt(bob.address, text('second'));
    expect(parseMessage(second.body).prekey?.kem).toBeDefined();
    bob.restart();
    expect(read(await bob.cipher.decrypt(alice.address, first.body))).toBe('first');
    bob.restart();
    expect(read(await bob.cipher.decrypt(alice.address, second.body))).toBe('second');
    expect(await bob.cipher.sessionVersion(alice.address)).toBe(2);
  });
});
