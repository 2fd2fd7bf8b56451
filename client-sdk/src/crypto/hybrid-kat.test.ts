import { encodeBase64url, encodeSignedPrekey } from '@liaison/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryKeyStore } from '../key-store/memory-key-store.js';
import kat from './__fixtures__/hybrid-kat.json' with { type: 'json' };
import { concat } from './bytes.js';
import {
  dh,
  generateKemPrekey,
  type IdentityKeyPair,
  identityDhPrivateKey,
  identityDhPublicKey,
  type KeyPair,
  kemKeyPair,
  type StoredSignedPrekey,
  sign,
} from './keys.js';
import { messagePrefix, parseMessage } from './message.js';
import { initiatorState, ratchetEncrypt } from './ratchet.js';
import { SessionCipher } from './session-cipher.js';
import { ready, sodium } from './sodium.js';
import { type ContactPointBinding, type RemoteBundle, x3dhInitiate } from './x3dh.js';

// The hybrid (version 2) first message, built with the SDK's own functions from fixed seeds and
// compared byte for byte with __fixtures__/hybrid-kat.json. That file was computed by
// hybrid-kat.generate.mjs from the written spec alone, without the SDK's code (libsodium for the
// primitives, node:crypto for HKDF and HMAC), so that a mistake here cannot also be in the answer.
// A mismatch is a change of the wire protocol: bump the session version rather than the vectors.

beforeAll(ready);

const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const utf8 = new TextEncoder();
const seeds = kat.inputs.seeds;
const CREATED_AT = 1_790_000_000_000;

type Case = Omit<typeof kat.outputs.withOneTimePrekey, 'DH4'>;
const CASES: [string, boolean, Case][] = [
  ['with a one-time prekey', true, kat.outputs.withOneTimePrekey],
  ['without a one-time prekey (last-resort KEM prekey)', false, kat.outputs.withoutOneTimePrekey],
];

const signingKeyPair = (seed: string): IdentityKeyPair => {
  const { publicKey, privateKey } = sodium().crypto_sign_seed_keypair(fromHex(seed));
  return { publicKey, privateKey };
};
const dhKeyPair = (seed: string): KeyPair => {
  const { publicKey, privateKey } = sodium().crypto_box_seed_keypair(fromHex(seed));
  return { publicKey, privateKey };
};

/** Every key of both sides, from the vectors' seeds. A function: the SDK wipes what it is done with. */
function keys() {
  const bobIdentity = signingKeyPair(seeds.bobIdentity);
  const spk = dhKeyPair(seeds.bobSignedPrekey);
  const { signedPrekey: spkId, oneTimePrekey: opkId, kemPrekey: kemId } = kat.inputs.ids;
  const signedPrekey: StoredSignedPrekey = {
    id: spkId,
    createdAt: CREATED_AT,
    signature: sign(
      bobIdentity,
      encodeSignedPrekey({ id: spkId, publicKey: encodeBase64url(spk.publicKey), createdAt: CREATED_AT }),
    ),
    ...spk,
  };
  const alice: ContactPointBinding = {
    contactPointId: kat.inputs.contactPoints.alice,
    accountKey: signingKeyPair(seeds.aliceAccount).publicKey,
  };
  const bob: ContactPointBinding = {
    contactPointId: kat.inputs.contactPoints.bob,
    accountKey: signingKeyPair(seeds.bobAccount).publicKey,
  };
  return {
    aliceIdentity: signingKeyPair(seeds.aliceIdentity),
    bobIdentity,
    signedPrekey,
    oneTimePrekey: { id: opkId, ...dhKeyPair(seeds.bobOneTimePrekey) },
    kemPrekey: (lastResort: boolean) =>
      generateKemPrekey(bobIdentity, kemId, lastResort, CREATED_AT, fromHex(seeds.bobKemPrekey)),
    ephemeral: dhKeyPair(seeds.aliceEphemeral),
    ratchet: dhKeyPair(seeds.aliceRatchet),
    parties: { initiator: alice, responder: bob },
  };
}

/** Bob's bundle as a relay would serve it, the KEM prekey one-time or last-resort. */
function bundle(k: ReturnType<typeof keys>, withOneTimePrekey: boolean): RemoteBundle {
  const kem = k.kemPrekey(!withOneTimePrekey);
  return {
    identityKey: k.bobIdentity.publicKey,
    signedPrekey: {
      id: k.signedPrekey.id,
      publicKey: k.signedPrekey.publicKey,
      createdAt: k.signedPrekey.createdAt,
      signature: k.signedPrekey.signature,
    },
    ...(withOneTimePrekey && { oneTimePrekey: { id: k.oneTimePrekey.id, publicKey: k.oneTimePrekey.publicKey } }),
    kemPrekey: {
      id: kem.id,
      lastResort: kem.lastResort,
      publicKey: kemKeyPair(kem).publicKey,
      createdAt: kem.createdAt,
      signature: kem.signature,
    },
    requiresHybrid: true,
  };
}

/** Alice's first message, from the SDK's pieces with the fixed randomness the vectors name. */
function firstMessage(withOneTimePrekey: boolean) {
  const k = keys();
  const remote = bundle(k, withOneTimePrekey);
  const agreement = x3dhInitiate(k.aliceIdentity, remote, k.parties, {
    ephemeral: k.ephemeral,
    encapsulationSeed: fromHex(seeds.encapsulation),
  });
  const state = initiatorState(agreement.sharedKey, remote.signedPrekey.publicKey, k.ratchet);
  // Read before encrypting: ratchetEncrypt wipes the chain key it steps from.
  const ratchet = { rootKey: hex(state.rootKey), chainKey: hex(state.sendingChainKey ?? new Uint8Array(0)) };
  const prekey = {
    identityKey: k.aliceIdentity.publicKey,
    baseKey: agreement.ephemeralPublicKey,
    signedPrekeyId: remote.signedPrekey.id,
    ...(remote.oneTimePrekey && { oneTimePrekeyId: remote.oneTimePrekey.id }),
    ...(agreement.kem && { kem: agreement.kem }),
  };
  let prefix: Uint8Array = new Uint8Array(0);
  const { header, ciphertext } = ratchetEncrypt(state, utf8.encode(kat.inputs.plaintext), (h) => {
    prefix = messagePrefix(agreement.version, prekey, h);
    return concat(agreement.associatedData, prefix);
  });
  return {
    agreement,
    ratchet,
    nextChainKey: hex(state.sendingChainKey ?? new Uint8Array(0)),
    header,
    prefix,
    body: concat(prefix, ciphertext),
  };
}

describe('hybrid first message: known answers computed without the SDK', () => {
  it('derives the published public keys from the seeds', () => {
    const k = keys();
    const kem = k.kemPrekey(false);
    expect({
      aliceIdentityPublic: hex(k.aliceIdentity.publicKey),
      bobIdentityPublic: hex(k.bobIdentity.publicKey),
      bobSignedPrekeyPublic: hex(k.signedPrekey.publicKey),
      bobOneTimePrekeyPublic: hex(k.oneTimePrekey.publicKey),
      bobKemPrekeyPublicSha256: sha256(kemKeyPair(kem).publicKey),
      bobKemPrekeyPrivateSha256: sha256(kemKeyPair(kem).privateKey),
      aliceEphemeralPublic: hex(k.ephemeral.publicKey),
      aliceRatchetPublic: hex(k.ratchet.publicKey),
      aliceAccountPublic: hex(k.parties.initiator.accountKey),
      bobAccountPublic: hex(k.parties.responder.accountKey),
    }).toEqual(kat.keys);
  });

  it('computes DH1 to DH4 and the KEM shared secret with the SDK key helpers', () => {
    const k = keys();
    const spk = k.signedPrekey.publicKey;
    expect(hex(dh(identityDhPrivateKey(k.aliceIdentity), spk))).toBe(kat.outputs.DH1);
    expect(hex(dh(k.ephemeral.privateKey, identityDhPublicKey(k.bobIdentity.publicKey)))).toBe(kat.outputs.DH2);
    expect(hex(dh(k.ephemeral.privateKey, spk))).toBe(kat.outputs.DH3);
    expect(hex(dh(k.ephemeral.privateKey, k.oneTimePrekey.publicKey))).toBe(kat.outputs.withOneTimePrekey.DH4);
    // Bob's side of the KEM: his key pair made again from the 64-byte seed the key store keeps.
    const { privateKey } = kemKeyPair(k.kemPrekey(false));
    expect(hex(sodium().crypto_kem_mlkem768_dec(fromHex(kat.outputs.CT), privateKey))).toBe(kat.outputs.SS);
  });

  for (const [name, withOneTimePrekey, expected] of CASES) {
    it(`builds the same first message, ${name}`, () => {
      const built = firstMessage(withOneTimePrekey);
      expect(built.agreement.version).toBe(2);
      expect(hex(built.agreement.kem?.ciphertext ?? new Uint8Array(0))).toBe(kat.outputs.CT);
      expect(sha256(built.agreement.kem?.ciphertext ?? new Uint8Array(0))).toBe(kat.outputs.CTSha256);
      expect(built.agreement.kem?.prekeyId).toBe(kat.inputs.ids.kemPrekey);
      expect(hex(built.agreement.sharedKey)).toBe(expected.SK);
      expect(hex(built.agreement.associatedData)).toBe(kat.outputs.AD);
      expect(built.ratchet).toEqual({ rootKey: expected.rootKey, chainKey: expected.chainKey });
      expect(built.nextChainKey).toBe(expected.nextChainKey);
      expect(hex(built.header)).toBe(expected.header);
      expect(built.prefix.length).toBe(expected.prefixLength);
      expect(hex(built.prefix)).toBe(expected.prefix);
      expect(built.body.length).toBe(expected.bodyLength);
      expect(sha256(built.body)).toBe(expected.bodySha256);
      expect(hex(built.body)).toBe(expected.body);
    });

    it(`is read by the responder's SessionCipher from the published bytes, ${name}`, async () => {
      const k = keys();
      const kem = k.kemPrekey(!withOneTimePrekey);
      const store = new MemoryKeyStore();
      await store.setIdentity(k.bobIdentity);
      await store.putSignedPrekey(k.signedPrekey);
      await store.putOneTimePrekeys([k.oneTimePrekey]);
      await store.putKemPrekeys([kem]);
      const bob = new SessionCipher(store, k.parties.responder);
      const alice = { deviceId: encodeBase64url(k.aliceIdentity.publicKey), ...k.parties.initiator };

      const body = fromHex(expected.body);
      const parsed = parseMessage(body);
      expect(parsed.version).toBe(2);
      expect(parsed.prekey?.oneTimePrekeyId).toBe(withOneTimePrekey ? kat.inputs.ids.oneTimePrekey : undefined);
      expect(parsed.prekey?.kem?.prekeyId).toBe(kat.inputs.ids.kemPrekey);

      const plaintext = await bob.decrypt(alice, body);
      expect(new TextDecoder().decode(plaintext)).toBe(kat.inputs.plaintext);
      expect(hex(plaintext)).toBe(kat.inputs.plaintextHex);
      expect(await bob.sessionVersion(alice)).toBe(2);
      // The prekeys a first message used once are gone; a last-resort KEM prekey stays.
      expect(await store.getOneTimePrekey(kat.inputs.ids.oneTimePrekey)).toEqual(
        withOneTimePrekey ? undefined : k.oneTimePrekey,
      );
      expect((await store.getKemPrekey(kat.inputs.ids.kemPrekey)) !== undefined).toBe(!withOneTimePrekey);
    });
  }
});

function sha256(bytes: Uint8Array): string {
  return hex(sodium().crypto_hash_sha256(bytes));
}
