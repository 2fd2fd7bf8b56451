import { beforeAll, describe, expect, it } from 'vitest';
import { generateIdentityKeyPair } from './keys.js';
import {
  combineFingerprints,
  fingerprintDigits,
  formatSafetyNumber,
  safetyNumber,
  safetyNumbersMatch,
} from './safety-number.js';
import { ready } from './sodium.js';

beforeAll(ready);

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

// Signal's published vector (libsignal NumericFingerprintGeneratorTest, 5200 iterations).
const ALICE_KEY = hex('05 06863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868');
const BOB_KEY = hex('05 f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b');
const DISPLAYABLE = '300354477692869396892869876765458257569162576843440918079131';

describe('safety numbers', () => {
  it("reproduce Signal's published displayable fingerprint", () => {
    const alice = fingerprintDigits('+14152222222', ALICE_KEY);
    const bob = fingerprintDigits('+14153333333', BOB_KEY);
    expect(combineFingerprints(alice, bob)).toBe(DISPLAYABLE);
    expect(combineFingerprints(bob, alice)).toBe(DISPLAYABLE);
  });

  it('are the same 60 digits on both sides, and differ when either key or id differs', () => {
    const a = { contactPointId: 'th-oag.somchai', accountKey: generateIdentityKeyPair().publicKey };
    const b = { contactPointId: 'vn-spp.lan', accountKey: generateIdentityKeyPair().publicKey };
    const number = safetyNumber(a, b);
    expect(number).toMatch(/^\d{60}$/);
    expect(safetyNumber(b, a)).toBe(number);
    const mitm = { ...b, accountKey: generateIdentityKeyPair().publicKey };
    expect(safetyNumber(a, mitm)).not.toBe(number);
    expect(safetyNumber(a, { ...b, contactPointId: 'vn-spp.lan2' })).not.toBe(number);
  });

  it('format in groups of five and compare what a person typed', () => {
    expect(formatSafetyNumber(DISPLAYABLE)).toBe(
      '30035 44776 92869 39689 28698 76765 45825 75691 62576 84344 09180 79131',
    );
    expect(safetyNumbersMatch(DISPLAYABLE, formatSafetyNumber(DISPLAYABLE))).toBe(true);
    expect(safetyNumbersMatch(DISPLAYABLE, `${DISPLAYABLE.slice(0, 59)}0`)).toBe(false);
    expect(safetyNumbersMatch(DISPLAYABLE, DISPLAYABLE.slice(0, 30))).toBe(false);
  });
});
