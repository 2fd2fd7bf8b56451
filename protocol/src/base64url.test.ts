import { describe, expect, it } from 'vitest';
import { decodeBase64url, encodeBase64url, isCanonicalBase64url } from './base64url.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('base64url', () => {
  // RFC 4648 section 10 vectors, in the URL-safe alphabet without padding.
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ];
  it.each(vectors)('encodes %j as %j (RFC 4648)', (plain, encoded) => {
    expect(encodeBase64url(ascii(plain))).toBe(encoded);
    expect(decodeBase64url(encoded)).toEqual(ascii(plain));
    expect(isCanonicalBase64url(encoded)).toBe(true);
  });

  it('uses the URL-safe alphabet', () => {
    expect(encodeBase64url(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
  });

  it('round-trips every length up to 70 bytes', () => {
    for (let n = 0; n <= 70; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      expect(decodeBase64url(encodeBase64url(data))).toEqual(data);
    }
  });

  it.each([
    ['padding', 'Zg=='],
    ['standard alphabet', 'Zm+v'],
    ['impossible length', 'Zm9vY'],
    ['non-zero trailing bits', 'Zh'],
    ['white space', 'Zm9 v'],
    ['non-ASCII', 'Zm9vé'],
  ])('refuses %s', (_, text) => {
    expect(decodeBase64url(text)).toBeUndefined();
    expect(isCanonicalBase64url(text)).toBe(false);
  });

  it('judges text canonical exactly when it decodes', () => {
    // Every text of up to three characters from the alphabet and a few strangers, then random longer ones.
    const chars = [
      ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
      '=',
      '+',
      '/',
      ' ',
      'é',
      '\0',
    ];
    const texts = [''];
    for (const a of chars) {
      texts.push(a);
      for (const b of chars) {
        texts.push(a + b);
        for (const c of chars) texts.push(a + b + c);
      }
    }
    for (let i = 0; i < 5000; i++) {
      const n = 4 + (i % 9);
      texts.push(Array.from({ length: n }, () => chars[Math.floor(Math.random() * chars.length)]).join(''));
    }
    const disagreeing = texts.filter((text) => isCanonicalBase64url(text) !== (decodeBase64url(text) !== undefined));
    expect(disagreeing).toEqual([]);
  });
});
