import { z } from 'zod';
import { base64urlLength, decodeBase64url } from './base64url.js';
import { LIMITS } from './limits.js';

/** Lowercase slug for network, authority and contact-point ids: stable, URL-safe, unambiguous. */
export const Slug = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/, 'lowercase letters, digits, ".", "_" or "-"');

export const NetworkId = Slug;
export const AuthorityId = Slug;
export const ContactPointId = Slug;

/** Bytes as canonical base64url of exactly `n` bytes. */
export function fixedBytes(n: number) {
  const length = base64urlLength(n);
  return z
    .string()
    .length(length, `${n} bytes as base64url (${length} characters)`)
    .refine((s) => decodeBase64url(s)?.length === n, 'canonical base64url');
}

/** Bytes as canonical base64url of at most `max` bytes (at least one). */
export function boundedBytes(max: number) {
  return z
    .string()
    .min(2)
    .max(base64urlLength(max), `at most ${max} bytes`)
    .refine((s) => decodeBase64url(s) !== undefined, 'canonical base64url');
}

export const Ed25519PublicKey = fixedBytes(32);
export const X25519PublicKey = fixedBytes(32);
export const Ed25519Signature = fixedBytes(64);

/** A device is named by its Ed25519 identity public key: self-certifying and globally unique. */
export const DeviceId = Ed25519PublicKey;

/** Milliseconds since the Unix epoch. */
export const Timestamp = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

export const MessageId = z.uuid();

/** ISO 3166-1 alpha-2. */
export const CountryCode = z.string().regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2 code, upper case');

/** BCP 47 language tag, restricted to language and optional region ("en", "pt-BR"). */
export const LanguageTag = z.string().regex(/^[a-z]{2,3}(?:-[A-Z]{2})?$/, 'language tag such as "en" or "pt-BR"');

/** IANA time zone name, by shape ("Asia/Bangkok", "UTC"). */
export const TimeZone = z
  .string()
  .max(64)
  .regex(/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/, 'IANA time zone such as "Asia/Bangkok"');

// A lone surrogate would be replaced while encoding to UTF-8, so two different strings could
// sign as the same bytes; control characters have no place in names.
const LONE_SURROGATE_OR_CONTROL = /[\p{Cs}\p{Cc}]/u;

/** Single-line human text: no control characters, well-formed Unicode, trimmed. */
export function text(max: number) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !LONE_SURROGATE_OR_CONTROL.test(s), 'no control characters or lone surrogates')
    .refine((s) => s.trim() === s, 'no leading or trailing spaces');
}

export const Name = text(LIMITS.maxNameLength);
export const ShortText = text(LIMITS.maxShortTextLength);

/** A list with no repeated items, bounded. */
export function uniqueList<T extends z.ZodType>(item: T, max: number = LIMITS.maxListItems) {
  return z
    .array(item)
    .max(max)
    .refine((items) => new Set(items).size === items.length, 'no repeated items');
}
