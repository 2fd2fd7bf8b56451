import { randomBytes, sodium } from './sodium.js';

/**
 * A random (version 4) UUID from the platform's generator (crypto.getRandomValues, which every
 * context has). Not crypto.randomUUID: browsers offer it only in secure contexts, and a page served
 * over plain http would fail with a TypeError instead of the SDK's own errors (issue 19).
 */
export function randomId(): string {
  const bytes = randomBytes(16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = sodium().to_hex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
