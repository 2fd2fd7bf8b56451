/**
 * Strict base64url (RFC 4648 section 5, no padding). Bytes travel as base64url strings in JSON.
 * Decoding refuses every non-canonical spelling, so one byte string has exactly one text form
 * and a signature over decoded bytes cannot be replayed under a second spelling.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const VALUES = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

export function encodeBase64url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out +=
      ALPHABET.charAt(n >> 18) +
      ALPHABET.charAt((n >> 12) & 63) +
      ALPHABET.charAt((n >> 6) & 63) +
      ALPHABET.charAt(n & 63);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63);
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63) + ALPHABET.charAt((n >> 6) & 63);
  }
  return out;
}

/** Returns undefined for anything that is not canonical unpadded base64url. */
export function decodeBase64url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? (VALUES[code] as number) : -1;
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero, or two spellings would decode to the same bytes.
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

const BASE64URL_TEXT = /^[A-Za-z0-9_-]*$/;

/**
 * Whether `text` is canonical unpadded base64url: exactly when decodeBase64url accepts it, without
 * decoding. Schemas check every ciphertext on the relay's hot path; decoding allocated a copy of
 * each only to throw it away (docs/performance.md).
 */
export function isCanonicalBase64url(text: string): boolean {
  const rest = text.length % 4;
  if (rest === 1 || !BASE64URL_TEXT.test(text)) return false;
  if (rest === 0) return true;
  // Two characters carry 12 bits for one byte, three carry 18 for two: the unused low bits of the
  // last character must be zero, or two spellings would decode to the same bytes.
  const last = VALUES[text.charCodeAt(text.length - 1)] as number;
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Length of the base64url text for a byte count. */
export function base64urlLength(byteCount: number): number {
  return Math.ceil((byteCount * 4) / 3);
}
