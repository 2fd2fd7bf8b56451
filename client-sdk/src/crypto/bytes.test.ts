import { beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from './bytes.js';
import { randomBytes, ready, sodium } from './sodium.js';

beforeAll(ready);

describe('hex of public values', () => {
  it("writes what libsodium's to_hex writes, and reads it back", () => {
    for (const length of [0, 1, 32, 33]) {
      const bytes = randomBytes(length);
      expect(toHex(bytes)).toBe(sodium().to_hex(bytes));
      expect(fromHex(toHex(bytes))).toEqual(bytes);
    }
    expect(toHex(Uint8Array.of(0, 9, 10, 255))).toBe('00090aff');
  });

  it('refuses what is not lowercase hex of even length', () => {
    for (const text of ['0', 'abc', '0g', 'AB', ' a', 'a\u0130', '\u0100\u0100', '0x']) {
      expect(fromHex(text), JSON.stringify(text)).toBeUndefined();
    }
  });
});
