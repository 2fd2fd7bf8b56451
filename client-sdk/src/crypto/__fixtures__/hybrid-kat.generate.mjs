// Known-answer vectors for Liaison's hybrid (version 2, PQXDH-style) first message.
//
// Written from the spec alone (docs/crypto.md and issue #21's exact layout), without reading or
// importing the SDK's crypto code: the point is a second implementation, so that a mistake in the
// SDK shows as a mismatch instead of being copied into its own expected values. Only
// libsodium-wrappers-sumo (for the primitives the spec names) and node:crypto (HKDF and HMAC from
// OpenSSL, not the SDK's libsodium-based HKDF) are used.
//
// Regenerate: node client-sdk/src/crypto/__fixtures__/hybrid-kat.generate.mjs > client-sdk/src/crypto/__fixtures__/hybrid-kat.json
// A change in the output is a change of the wire protocol: bump the session version instead.

import { createHash, createHmac, hkdfSync } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';

await sodium.ready;

const hex = (b) => Buffer.from(b).toString('hex');
const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const ascii = (s) => Buffer.from(s, 'ascii');
const u8 = (n) => Uint8Array.of(n);
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const concat = (...parts) => new Uint8Array(Buffer.concat(parts.map((p) => Buffer.from(p))));
const hkdf = (salt, ikm, info, length) => new Uint8Array(hkdfSync('sha256', ikm, salt, ascii(info), length));
const hmac = (key, data) => new Uint8Array(createHmac('sha256', key).update(data).digest());
const same = (a, b) => Buffer.from(a).equals(Buffer.from(b));
const check = (ok, what) => {
  if (!ok) throw new Error(`self-check failed: ${what}`);
};

/** `length` bytes counting up from `start` (mod 256): fixed, readable, and distinct for each key. */
const seed = (length, start) => Uint8Array.from({ length }, (_, i) => (start + i) & 0xff);

const SEEDS = {
  aliceIdentity: seed(32, 0x01),
  bobIdentity: seed(32, 0x21),
  bobSignedPrekey: seed(32, 0x41),
  bobOneTimePrekey: seed(32, 0x61),
  bobKemPrekey: seed(64, 0x81), // crypto_kem_mlkem768_SEEDBYTES: d || z of FIPS 203
  aliceEphemeral: seed(32, 0xc1),
  aliceRatchet: seed(32, 0xe1),
  encapsulation: seed(32, 0x09), // the 32-byte message m of FIPS 203 ML-KEM.Encaps_internal
  aliceAccount: seed(32, 0x51),
  bobAccount: seed(32, 0x71),
};
const IDS = { signedPrekey: 7, oneTimePrekey: 11, kemPrekey: 13 };
const CONTACT_POINTS = { alice: 'sn-pj.diallo', bob: 'ci-pg.kone' };
const PLAINTEXT = "Demande d'entraide urgente — préservation des données";

const SK_INFO = 'Liaison v2 PQXDH X25519 ML-KEM-768 SHA-256';
const ROOT_INFO = 'Liaison v1 ratchet root';
const MESSAGE_KEY_INFO = 'Liaison v1 message key';
const VERSION = 2;
const PREKEY_MESSAGE = 2;
const ZERO32 = new Uint8Array(32);

check(sodium.crypto_kem_mlkem768_SEEDBYTES === 64, 'ML-KEM seed is 64 bytes');
check(sodium.crypto_kem_mlkem768_PUBLICKEYBYTES === 1184, 'ML-KEM-768 public key is 1184 bytes');
check(sodium.crypto_kem_mlkem768_CIPHERTEXTBYTES === 1088, 'ML-KEM-768 ciphertext is 1088 bytes');

// Keys.
const aliceIK = sodium.crypto_sign_seed_keypair(SEEDS.aliceIdentity);
const bobIK = sodium.crypto_sign_seed_keypair(SEEDS.bobIdentity);
const bobSPK = sodium.crypto_box_seed_keypair(SEEDS.bobSignedPrekey);
const bobOPK = sodium.crypto_box_seed_keypair(SEEDS.bobOneTimePrekey);
const bobKEM = sodium.crypto_kem_mlkem768_seed_keypair(SEEDS.bobKemPrekey);
const aliceEK = sodium.crypto_box_seed_keypair(SEEDS.aliceEphemeral);
const aliceRK = sodium.crypto_box_seed_keypair(SEEDS.aliceRatchet);
const aliceAccount = sodium.crypto_sign_seed_keypair(SEEDS.aliceAccount);
const bobAccount = sodium.crypto_sign_seed_keypair(SEEDS.bobAccount);

// Identity keys take part in DH through their Curve25519 forms.
const aliceIKx = { privateKey: sodium.crypto_sign_ed25519_sk_to_curve25519(aliceIK.privateKey) };
const bobIKx = {
  publicKey: sodium.crypto_sign_ed25519_pk_to_curve25519(bobIK.publicKey),
  privateKey: sodium.crypto_sign_ed25519_sk_to_curve25519(bobIK.privateKey),
};
const x25519 = sodium.crypto_scalarmult;

// The parts both cases share.
const DH1 = x25519(aliceIKx.privateKey, bobSPK.publicKey);
const DH2 = x25519(aliceEK.privateKey, bobIKx.publicKey);
const DH3 = x25519(aliceEK.privateKey, bobSPK.publicKey);
const DH4 = x25519(aliceEK.privateKey, bobOPK.publicKey);
const { ciphertext: CT, sharedSecret: SS } = sodium.crypto_kem_mlkem768_enc_deterministic(
  bobKEM.publicKey,
  SEEDS.encapsulation,
);

const contactPoint = (id, accountKey) => {
  const idBytes = Buffer.from(id, 'utf8');
  return concat(u8(idBytes.length), idBytes, accountKey);
};
const AD = concat(
  ascii('LIAISON'),
  u8(VERSION),
  aliceIK.publicKey,
  bobIK.publicKey,
  contactPoint(CONTACT_POINTS.alice, aliceAccount.publicKey),
  contactPoint(CONTACT_POINTS.bob, bobAccount.publicKey),
);

const deriveSK = (dhs, ss) => hkdf(ZERO32, concat(new Uint8Array(32).fill(0xff), ...dhs, ss), SK_INFO, 32);

/** Alice's side: everything from SK to the wire bytes of her first message. */
function firstMessage(withOneTimePrekey) {
  const dhs = withOneTimePrekey ? [DH1, DH2, DH3, DH4] : [DH1, DH2, DH3];
  const SK = deriveSK(dhs, SS);

  const root = hkdf(SK, x25519(aliceRK.privateKey, bobSPK.publicKey), ROOT_INFO, 64);
  const rootKey = root.slice(0, 32);
  const chainKey = root.slice(32);
  const messageKey = hmac(chainKey, u8(0x01));
  const nextChainKey = hmac(chainKey, u8(0x02));
  const keys = hkdf(ZERO32, messageKey, MESSAGE_KEY_INFO, 56);
  const aeadKey = keys.slice(0, 32);
  const nonce = keys.slice(32);
  const header = concat(aliceRK.publicKey, u32(0), u32(0));

  const prefix = concat(
    u8(VERSION),
    u8(PREKEY_MESSAGE),
    aliceIK.publicKey,
    aliceEK.publicKey,
    u32(IDS.signedPrekey),
    ...(withOneTimePrekey ? [u8(1), u32(IDS.oneTimePrekey)] : [u8(0)]),
    u32(IDS.kemPrekey),
    CT,
    header,
  );
  const sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
    Buffer.from(PLAINTEXT, 'utf8'),
    concat(AD, prefix),
    null,
    nonce,
    aeadKey,
  );
  const body = concat(prefix, sealed);

  bobReads(body, withOneTimePrekey, SK);

  return {
    DH4: withOneTimePrekey ? hex(DH4) : null,
    SK: hex(SK),
    rootKey: hex(rootKey),
    chainKey: hex(chainKey),
    messageKey: hex(messageKey),
    nextChainKey: hex(nextChainKey),
    aeadKey: hex(aeadKey),
    nonce: hex(nonce),
    header: hex(header),
    prefixLength: prefix.length,
    prefix: hex(prefix),
    bodyLength: body.length,
    bodySha256: sha256(body),
    body: hex(body),
  };
}

/**
 * Bob's side, from the wire bytes and his own private keys only: the generator checks itself the
 * way a responder would, so that a slip in one side of this file cannot go unnoticed.
 */
function bobReads(body, withOneTimePrekey, aliceSK) {
  let at = 0;
  const take = (n) => {
    const out = body.slice(at, at + n);
    at += n;
    return out;
  };
  const readU32 = () => Buffer.from(take(4)).readUInt32BE(0);
  check(take(1)[0] === VERSION && take(1)[0] === PREKEY_MESSAGE, 'version and type');
  const ikA = take(32);
  const ekA = take(32);
  check(readU32() === IDS.signedPrekey, 'signed prekey id');
  const flag = take(1)[0];
  check(flag === (withOneTimePrekey ? 1 : 0), 'one-time prekey flag');
  if (flag === 1) check(readU32() === IDS.oneTimePrekey, 'one-time prekey id');
  check(readU32() === IDS.kemPrekey, 'KEM prekey id');
  const ct = take(1088);
  const ratchetKey = take(32);
  check(readU32() === 0 && readU32() === 0, 'pn and n');
  const prefix = body.slice(0, at);
  const sealed = body.slice(at);

  const ikAx = sodium.crypto_sign_ed25519_pk_to_curve25519(ikA);
  const dhs = [
    x25519(bobSPK.privateKey, ikAx),
    x25519(bobIKx.privateKey, ekA),
    x25519(bobSPK.privateKey, ekA),
    ...(flag === 1 ? [x25519(bobOPK.privateKey, ekA)] : []),
  ];
  const ss = sodium.crypto_kem_mlkem768_dec(ct, bobKEM.privateKey);
  check(same(ss, SS), 'decapsulated secret equals the encapsulated one');
  const SK = deriveSK(dhs, ss);
  check(same(SK, aliceSK), 'both sides derive the same SK');

  const root = hkdf(SK, x25519(bobSPK.privateKey, ratchetKey), ROOT_INFO, 64);
  const messageKey = hmac(root.slice(32), u8(0x01));
  const keys = hkdf(ZERO32, messageKey, MESSAGE_KEY_INFO, 56);
  const opened = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
    null,
    sealed,
    concat(AD, prefix),
    keys.slice(32),
    keys.slice(0, 32),
  );
  check(Buffer.from(opened).toString('utf8') === PLAINTEXT, 'Bob reads the plaintext');
}

const withOneTimePrekey = firstMessage(true);
const withoutOneTimePrekey = firstMessage(false);
check(withOneTimePrekey.SK !== withoutOneTimePrekey.SK, 'DH4 changes SK');

const vectors = {
  description:
    'Liaison session version 2 (hybrid X25519 + ML-KEM-768) first message, computed independently of the SDK by hybrid-kat.generate.mjs',
  inputs: {
    seeds: Object.fromEntries(Object.entries(SEEDS).map(([name, s]) => [name, hex(s)])),
    ids: IDS,
    contactPoints: CONTACT_POINTS,
    plaintext: PLAINTEXT,
    plaintextHex: hex(Buffer.from(PLAINTEXT, 'utf8')),
  },
  keys: {
    aliceIdentityPublic: hex(aliceIK.publicKey),
    bobIdentityPublic: hex(bobIK.publicKey),
    bobSignedPrekeyPublic: hex(bobSPK.publicKey),
    bobOneTimePrekeyPublic: hex(bobOPK.publicKey),
    bobKemPrekeyPublicSha256: sha256(bobKEM.publicKey),
    bobKemPrekeyPrivateSha256: sha256(bobKEM.privateKey),
    aliceEphemeralPublic: hex(aliceEK.publicKey),
    aliceRatchetPublic: hex(aliceRK.publicKey),
    aliceAccountPublic: hex(aliceAccount.publicKey),
    bobAccountPublic: hex(bobAccount.publicKey),
  },
  outputs: {
    DH1: hex(DH1),
    DH2: hex(DH2),
    DH3: hex(DH3),
    SS: hex(SS),
    CTSha256: sha256(CT),
    CT: hex(CT),
    AD: hex(AD),
    withOneTimePrekey,
    withoutOneTimePrekey,
  },
};

process.stdout.write(`${JSON.stringify(vectors, null, 2)}\n`);
