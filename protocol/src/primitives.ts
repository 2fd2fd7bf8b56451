import { z } from 'zod';
import { base64urlLength, isCanonicalBase64url } from './base64url.js';
import { LIMITS } from './limits.js';

// Control characters (C0, DEL and C1: \p{Cc}) have no place in an id, a key, a name or a query, and
// PostgreSQL cannot store U+0000 in text or jsonb at all. Every string of the protocol is built on
// PlainString or MultilineString, and strings.test.ts walks every schema to hold a new field to it.
const CONTROL = /\p{Cc}/u;
const CONTROL_BUT_TAB_OR_LINE_BREAK = /(?![\t\n\r])\p{Cc}/u;

/** The check of every single-line string. */
export const NO_CONTROL_CHARACTERS = z.refine<string>((s) => !CONTROL.test(s), 'no control characters');
/** The check of multi-line text, where tabs and line breaks are part of the text. */
export const ONLY_TEXT_CONTROL_CHARACTERS = z.refine<string>(
  (s) => !CONTROL_BUT_TAB_OR_LINE_BREAK.test(s),
  'no control characters but tabs and line breaks',
);

/** The base of every single-line string on the wire: ids, keys, names, cursors, queries. */
export const PlainString = z.string().check(NO_CONTROL_CHARACTERS);
/** The base of multi-line free text, such as a message's body. */
export const MultilineString = z.string().check(ONLY_TEXT_CONTROL_CHARACTERS);

/** A UUID (message and blob ids, made by the sender). */
export const Uuid = z.uuid().check(NO_CONTROL_CHARACTERS);

/**
 * A whole number in a query string: plain digits, as the URL carries them. Stricter than
 * coercion, which would take " 1", "1e3", "0x10" or an empty string for numbers.
 */
export function queryInteger(min: number, max: number) {
  return PlainString.regex(/^(?:0|[1-9][0-9]{0,15})$/, 'a whole number in digits')
    .transform(Number)
    .pipe(z.int().min(min).max(max));
}

/** Lowercase slug for network, authority and contact-point ids: stable, URL-safe, unambiguous. */
export const Slug = PlainString.min(1)
  .max(64)
  .regex(/^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/, 'lowercase letters, digits, ".", "_" or "-"');

export const NetworkId = Slug;
export const AuthorityId = Slug;
export const ContactPointId = Slug;

/** Bytes as canonical base64url of exactly `n` bytes. */
export function fixedBytes(n: number) {
  const length = base64urlLength(n);
  return PlainString.length(length, `${n} bytes as base64url (${length} characters)`).refine(
    // The length is checked first, and canonical text of that length is n bytes.
    (s) => isCanonicalBase64url(s),
    'canonical base64url',
  );
}

/** Bytes as canonical base64url of at most `max` bytes (at least one). */
export function boundedBytes(max: number) {
  return PlainString.min(2)
    .max(base64urlLength(max), `at most ${max} bytes`)
    .refine(isCanonicalBase64url, 'canonical base64url');
}

export const Ed25519PublicKey = fixedBytes(32);
export const X25519PublicKey = fixedBytes(32);
export const Ed25519Signature = fixedBytes(64);
/** An ML-KEM-768 encapsulation key (FIPS 203). */
export const MlKem768PublicKey = fixedBytes(1184);

/** A device is named by its Ed25519 identity public key: self-certifying and globally unique. */
export const DeviceId = Ed25519PublicKey;

/** The latest time a JavaScript Date holds (year 275760): a later one could not be shown anywhere. */
export const MAX_TIMESTAMP = 8_640_000_000_000_000;

/** Milliseconds since the Unix epoch. */
export const Timestamp = z.int().min(0).max(MAX_TIMESTAMP);

export const MessageId = Uuid;

/** ISO 3166-1 alpha-2. */
export const CountryCode = PlainString.regex(/^[A-Z]{2}$/, 'ISO 3166-1 alpha-2 code, upper case');

/** BCP 47 language tag, restricted to language and optional region ("en", "pt-BR"). */
export const LanguageTag = PlainString.regex(/^[a-z]{2,3}(?:-[A-Z]{2})?$/, 'language tag such as "en" or "pt-BR"');

/** IANA time zone name, by shape ("Asia/Bangkok", "UTC"). */
export const TimeZone = PlainString.max(64).regex(
  /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/,
  'IANA time zone such as "Asia/Bangkok"',
);

// A lone surrogate would be replaced while encoding to UTF-8, so two different strings could
// sign as the same bytes.
const LONE_SURROGATE = /\p{Cs}/u;

/** Single-line human text: no control characters, well-formed Unicode, trimmed. */
export function text(max: number) {
  return PlainString.min(1)
    .max(max)
    .refine((s) => !LONE_SURROGATE.test(s), 'no lone surrogates')
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
