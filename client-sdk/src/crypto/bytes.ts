import { sodium } from './sodium.js';

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Constant-time comparison of equal-length byte strings; false for different lengths. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && sodium().memcmp(a, b);
}

export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** Overwrites key material that is no longer needed. */
export function wipe(...buffers: (Uint8Array | undefined | null)[]): void {
  for (const buffer of buffers) if (buffer) sodium().memzero(buffer);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
// The value of each hex digit by character code, 255 for characters that are not one.
const HEX_VALUE = new Uint8Array(256).fill(255);
for (let i = 0; i < 16; i++) HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;

/**
 * Lowercase hex, as libsodium's to_hex writes it, for public values only (ratchet public keys
 * naming chains): a table lookup, not constant-time, and without a call into WebAssembly, which
 * cost more than the work on the message path.
 */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b];
  return out;
}

/** The bytes of lowercase hex of even length (public values only, as toHex); undefined if it is not. */
export function fromHex(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = HEX_VALUE[text.charCodeAt(2 * i)] ?? 255;
    const lo = HEX_VALUE[text.charCodeAt(2 * i + 1)] ?? 255;
    if ((hi | lo) > 15) return undefined;
    out[i] = (hi << 4) | lo;
  }
  return out;
}
