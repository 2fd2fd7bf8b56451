/**
 * A Buffer over the same memory as `bytes`, not a copy: Node's codecs (hex, base64url, UTF-8) and
 * express's bodies take Buffers, and the drivers hand out plain Uint8Arrays (PGlite) or Buffers (pg).
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
