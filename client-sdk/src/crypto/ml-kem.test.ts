import { createHash } from 'node:crypto';
import sodium from 'libsodium-wrappers-sumo';
import { beforeAll, describe, expect, it } from 'vitest';

// ML-KEM-768 as libsodium-wrappers-sumo 0.8.4 provides it, checked against NIST's published ACVP
// vectors for FIPS 203 (final, August 2024), not against itself: the hybrid session's known-answer
// test trusts crypto_kem_mlkem768_seed_keypair and _enc_deterministic, so they are pinned here.
// Source: usnistgov/ACVP-Server commit 65370b8, gen-val/json-files/ML-KEM-keyGen-FIPS203 and
// ML-KEM-encapDecap-FIPS203, internalProjection.json (as copied in RustCrypto/KEMs ml-kem/tests/),
// ML-KEM-768 group, tcId 26 of each. Long outputs are compared by their SHA-256, computed from the
// vectors' hex; all 25 keyGen, 25 encapsulation and 10 decapsulation ML-KEM-768 cases of those
// files were run once by hand against this libsodium and matched.

const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const KEY_GEN = {
  d: 'e34a701c4c87582f42264ee422d3c684d97611f2523efe0c998af05056d693dc',
  z: 'a85768f3486bd32a01bf9a8f21ea938e648eae4e5448c34c3eb88820b159eedd',
  ekSha256: '7799c9d8eef172aa78c073514f2f039c240de8c5cb61bca82ba0bc46041ce279',
  dkSha256: '104b3444c3de2b81143788d27e17648f45c80f617f906156db2258da96dead40',
};

const ENCAPSULATION = {
  ek: [
    '89d2cb65f94dcbfc890efc7d0e5a7a38344d1641a3d0b024d50797a5f23c3a18b3101a1269069f43a842bacc098a8821271c673db1be',
    'b33034e4d7774d16635c7c2c3c2763453538bc1632e1851591a51642974e5928abb8e55fe55612f9b141aff015545394b2092e590970',
    'ec29a7b7e7aa1fb4493bf7cb731906c2a5cb49e6614859064e19b8fa26af51c44b5e7535bfdac072b646d3ea490d277f0d97ced47395',
    'fed91e8f2bce0e3ca122c2025f74067ab928a822b35653a74f06757629afb1a1caf237100ea935e793c8f58a71b3d6ae2c8658b10150',
    'd4a38f572a0d49d28ae89451d338326fdb3b4350036c1081117740edb86b12081c5c1223dbb5660d5b3cb3787d481849304c68be8754',
    '66f14ee5495c2bd795ae412d09002d65b8719b90cba3603ac4958ea03cc138c86f7851593125334701b677f82f4952a4c93b5b4c134b',
    'b42a857fd15c650864a6aa94eb691c0b691be4684c1f5b7490467fc01b1d1fda4dda35c4ecc231bc73a6fef42c99d34eb82a4d014987',
    'b3e386910c62679a118f3c5bd9f467e4162042424357db92ef484a4a1798c1257e870a30cb20aaa0335d83314fe0aa7e63a862648041',
    'a72a6321523220b1ace9bb701b21ac1253cb812c15575a9085eabeade73a4ae76e6a7b158a20586d78a5ac620a5c9abcc9c043350a73',
    '656b0abe822da5e0ba76045fad75401d7a3b703791b7e99261710f86b72421d240a347638377205a152c794130a4e047742b888303bd',
    'dc309116764de7424cebea6db65348ac537e01a9cc56ea667d5aa87ac9aaa4317d262c10143050b8d07a728ca633c13e468abcead372',
    'c77b8ecf3b986b98c1e55860b2b4216766ad874c35ed7205068739230220b5a2317d102c598356f168acbe80608de4c9a710b8dd0707',
    '8cd7c671058af1b0b8304a314f7b29be78a933c7b9294424954a1bf8bc745de86198659e0e1225a910726074969c39a97c19240601a4',
    '6e013dcdcb677a8cbd2c95a40629c256f24a328951df57502ab30772cc7e5b850027c8551781ce4985bdacf6b865c104e8a4bc65c416',
    '94d456b7169e45ab3d7acabeafe23ad6a7b94d1979a2f4c1cae7cd77d681d290b5d8e451bfdcccf5310b9d12a88ec29b10255d5e17a1',
    '92670aa9731c5ca67ec784c502781be8527d6fc003c6701b3632284b40307a527c7620377feb0b73f722c9e3cd4dec64876b93ab5b7c',
    'fc4a657f852b659282864384f442b22e8a21109387b8b47585fc680d0ba45c7a8b1d7274bda57845d100d0f42a3b74628773351fd7ac',
    '305b2497639be90b3f4f71a6aa3561eecc6a691bb5cb3914d8634ca1e1af543c049a8c6e868c51f0423bd2d5ae09b79e57c27f3fe3ae',
    '2b26a441babfc6718ce8c05b4fe793b910b8fbcbbe7f1013242b40e0514d0bdc5c88bac594c794ce5122fbf34896819147b928381587',
    '963b0b90034aa07a10be176e01c80ad6a4b71b10af4241400a2a4cbbc05961a15ec1474ed51a3cc6d35800679a462809caa3ab4f7094',
    'cd6610b4a700cba939e7eac93e38c99755908727619ed76a34e53c4fa25bfc97008206697dd145e5b9188e5b014e941681e15fe3e132',
    'b8a3903474148ba28b987111c9bcb3989bbbc671c581b44a492845f288e62196e471fed3c39c1bbddb0837d0d4706b0922c4',
  ].join(''),
  ekSha256: '2d50c6c9908667afe27abe147d0f5277af75512a39024edc1bf893369ac69bca',
  m: '2ce74ad291133518fe60c7df5d251b9d82add48462ff505c6e547e949e6b6bf7',
  cSha256: 'ac57163b80ead205b8323e1402b8ca66bece40d8df9994b12d43bbb4f6e19bf4',
  k: '2696d28e9c61c2a01ce9b1608dcb9d292785a0cd58efb7fe13b1de95f0db55b3',
};

beforeAll(async () => {
  await sodium.ready;
});

describe('ML-KEM-768 (libsodium) against NIST ACVP vectors', () => {
  it('derives the published key pair from the seed d || z', () => {
    const { publicKey, privateKey } = sodium.crypto_kem_mlkem768_seed_keypair(fromHex(KEY_GEN.d + KEY_GEN.z));
    expect(publicKey).toHaveLength(1184);
    expect(privateKey).toHaveLength(2400);
    expect(sha256(publicKey)).toBe(KEY_GEN.ekSha256);
    expect(sha256(privateKey)).toBe(KEY_GEN.dkSha256);
    // FIPS 203's layout of the decapsulation key: dkPKE (1152) || ek || H(ek) || z.
    expect(hex(privateKey.subarray(1152, 2336))).toBe(hex(publicKey));
    expect(hex(privateKey.subarray(2336, 2368))).toBe(createHash('sha3-256').update(publicKey).digest('hex'));
    expect(hex(privateKey.subarray(2368))).toBe(KEY_GEN.z);
  });

  it('encapsulates to the published ciphertext and shared secret from the message m', () => {
    const ek = fromHex(ENCAPSULATION.ek);
    expect(sha256(ek)).toBe(ENCAPSULATION.ekSha256); // the long input above was copied whole
    const { ciphertext, sharedSecret } = sodium.crypto_kem_mlkem768_enc_deterministic(ek, fromHex(ENCAPSULATION.m));
    expect(ciphertext).toHaveLength(1088);
    expect(sha256(ciphertext)).toBe(ENCAPSULATION.cSha256);
    expect(hex(sharedSecret)).toBe(ENCAPSULATION.k);
  });

  it('rejects an altered ciphertext implicitly, with the secret J(z || c) of FIPS 203', () => {
    const { publicKey, privateKey } = sodium.crypto_kem_mlkem768_seed_keypair(fromHex(KEY_GEN.d + KEY_GEN.z));
    const { ciphertext, sharedSecret } = sodium.crypto_kem_mlkem768_enc_deterministic(
      publicKey,
      fromHex(ENCAPSULATION.m),
    );
    expect(hex(sodium.crypto_kem_mlkem768_dec(ciphertext, privateKey))).toBe(hex(sharedSecret));

    const altered = Uint8Array.from(ciphertext);
    altered[100] = (altered[100] ?? 0) ^ 0x01;
    const rejected = sodium.crypto_kem_mlkem768_dec(altered, privateKey);
    const expected = createHash('shake256', { outputLength: 32 })
      .update(fromHex(KEY_GEN.z))
      .update(altered)
      .digest('hex');
    expect(hex(rejected)).toBe(expected);
    expect(hex(rejected)).not.toBe(hex(sharedSecret));
  });
});
