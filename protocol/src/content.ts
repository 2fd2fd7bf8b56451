import { z } from 'zod';
import { Attachment } from './blobs.js';
import { LIMITS } from './limits.js';
import { ContactPointId, LanguageTag, MultilineString, Timestamp, text } from './primitives.js';

/**
 * What travels inside the ciphertext, between SDKs only: the relay never sees it. Defined here
 * so that every SDK reads and writes the same shape.
 */

/** Handling restrictions, after those police-cooperation systems attach to each message. */
export const HANDLING_CODES = [
  'purpose-limited',
  'no-court-use-without-permission',
  'no-onward-transfer-without-permission',
  'confidential',
] as const;
export const HandlingCode = z.enum(HANDLING_CODES);
export type HandlingCode = z.infer<typeof HandlingCode>;

export const MessageContent = z.strictObject({
  version: z.literal(1),
  /** The recipient contact point, so that the sender's other devices know where a copy went. */
  to: ContactPointId,
  text: MultilineString.max(40_000),
  subject: text(300).optional(),
  /** The sender's own reference (a case or request number). */
  reference: text(100).optional(),
  language: LanguageTag.optional(),
  handling: z.array(HandlingCode).max(HANDLING_CODES.length).optional(),
  /** Encrypted files uploaded as blobs; each entry carries the key to read one. */
  attachments: z.array(Attachment).min(1).max(LIMITS.maxAttachmentsPerMessage).optional(),
  sentAt: Timestamp,
});
export type MessageContent = z.infer<typeof MessageContent>;
