import { beforeAll, describe, expect, it } from 'vitest';
import { hkdfSha256, hmacSha256Each } from './hkdf.js';
import { ready, sodium } from './sodium.js';

const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);

beforeAll(ready);

/** HMAC-SHA-256 through libsodium.js's multi-part API, which takes a key of any length: the tests' reference. */
const hmac = (key: Uint8Array, data: Uint8Array) => {
  const s = sodium();
  const state = s.crypto_auth_hmacsha256_init(key);
  s.crypto_auth_hmacsha256_update(state, data);
  return s.crypto_auth_hmacsha256_final(state);
};

// RFC 5869, Appendix A: the SHA-256 test cases.
describe('HKDF-SHA-256 (RFC 5869 known answers)', () => {
  it('test case 1: basic', () => {
    const okm = hkdfSha256(new Uint8Array(22).fill(0x0b), range(0x00, 0x0c), range(0xf0, 0xf9), 42);
    expect(Buffer.from(okm).toString('hex')).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
  });

  it('test case 2: longer inputs and outputs', () => {
    const okm = hkdfSha256(range(0x00, 0x4f), range(0x60, 0xaf), range(0xb0, 0xff), 82);
    expect(Buffer.from(okm).toString('hex')).toBe(
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c' +
        '59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71' +
        'cc30c58179ec3e87c14c01d5c1f3434f1d87',
    );
  });

  it('test case 3: zero-length salt and info', () => {
    const okm = hkdfSha256(new Uint8Array(22).fill(0x0b), new Uint8Array(0), new Uint8Array(0), 42);
    expect(Buffer.from(okm).toString('hex')).toBe(
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    );
  });

  it("gives what the RFC's construction on libsodium's HMAC gives, for salts, keys, infos and lengths of every size", () => {
    // RFC 5869 section 2, written out with HMAC: the reference libsodium's own HKDF is checked against.
    const reference = (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number) => {
      const prk = hmac(salt.length === 0 ? new Uint8Array(32) : salt, ikm);
      const okm: number[] = [];
      let previous: Uint8Array = new Uint8Array(0);
      for (let i = 1; okm.length < length; i++) {
        previous = hmac(prk, Uint8Array.from([...previous, ...info, i]));
        okm.push(...previous);
      }
      return Uint8Array.from(okm.slice(0, length));
    };
    const s = sodium();
    for (const length of [1, 31, 32, 33, 56, 64, 255 * 32]) {
      for (const sizes of [
        [32, 0, 0],
        [0, 32, 11],
        [13, 65, 200],
        [64, 1, 1],
        [33, 129, 0],
      ]) {
        const [ikm, salt, info] = sizes.map((n) => s.randombytes_buf(n as number)) as [
          Uint8Array,
          Uint8Array,
          Uint8Array,
        ];
        expect(Buffer.from(hkdfSha256(ikm, salt, info, length)).toString('hex')).toBe(
          Buffer.from(reference(ikm, salt, info, length)).toString('hex'),
        );
      }
    }
  });

  it('refuses output lengths the RFC forbids', () => {
    expect(() => hkdfSha256(new Uint8Array(1), new Uint8Array(0), new Uint8Array(0), 255 * 32 + 1)).toThrow();
    expect(() => hkdfSha256(new Uint8Array(1), new Uint8Array(0), new Uint8Array(0), 0)).toThrow();
  });
});

// The chain step's HMACs: RFC 4868 section 2.7.2.1, test cases AUTH256-1 and AUTH256-4 (the full
// 32 bytes of output; the RFC's AUTH-HMAC-SHA-256-128 is their first 16), then any messages.
describe('HMAC-SHA-256 of several messages under one key (the chain step)', () => {
  it('test cases AUTH256-1 and AUTH256-4', () => {
    const [auth256of1] = hmacSha256Each(new Uint8Array(32).fill(0x0b), [new TextEncoder().encode('Hi There')]);
    expect(Buffer.from(auth256of1 as Uint8Array).toString('hex')).toBe(
      '198a607eb44bfbc69903a0f1cf2bbdc5ba0aa3f3d9ae3c1c7a3b1696a0b68cf7',
    );
    const [auth256of4] = hmacSha256Each(range(0x01, 0x20), [new Uint8Array(50).fill(0xcd)]);
    expect(Buffer.from(auth256of4 as Uint8Array).toString('hex')).toBe(
      '372efcf9b40b35c2115b1346903d2ef42fced46f0846e7257bb156d3d7b30d3f',
    );
  });

  it("gives what libsodium's multi-part HMAC gives for each message, of every size", () => {
    const s = sodium();
    for (let i = 0; i < 20; i++) {
      const key = s.randombytes_buf(32);
      const messages = [0, 1, i, 64 + i, 300].map((n) => s.randombytes_buf(n));
      const each = hmacSha256Each(key, messages).map((mac) => Buffer.from(mac).toString('hex'));
      expect(each).toEqual(messages.map((m) => Buffer.from(hmac(key, m)).toString('hex')));
    }
  });

  it('refuses a key of another length than 32 bytes', () => {
    expect(() => hmacSha256Each(new Uint8Array(31), [new Uint8Array(1)])).toThrow(RangeError);
  });
});
