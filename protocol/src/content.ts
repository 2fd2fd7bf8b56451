import { z } from 'zod';
import { Attachment } from './blobs.js';
import { Priority } from './envelope.js';
import { ReceiptsContent } from './evidence.js';
import { LIMITS } from './limits.js';
import { ContactPointId, LanguageTag, MessageId, MultilineString, Timestamp, text } from './primitives.js';
import { RequestContent, requestUpdateProblem } from './requests.js';
import { RoomContent } from './rooms.js';
import { AcknowledgeWithinMs, EscalationLevel } from './urgent.js';

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

/**
 * What the sender of an urgent message chose, sealed with it so the relay cannot change it: the
 * time each level has to acknowledge, the escalation chain it was encrypted for (level k is
 * `escalation[k - 1]`), and the level of this copy.
 */
export const UrgentIntent = z.strictObject({
  acknowledgeWithinMs: AcknowledgeWithinMs,
  escalation: z.array(ContactPointId).max(LIMITS.maxEscalationChain),
  level: EscalationLevel,
});
export type UrgentIntent = z.infer<typeof UrgentIntent>;

/**
 * The fields the relay also sees on the envelope (message id, priority, level) are repeated here,
 * inside the encryption: the receiving SDK refuses an envelope that contradicts them, so the
 * relay can neither re-attribute a message id nor change a message's urgency.
 */
export const MessageContent = z
  .strictObject({
    version: z.literal(2),
    messageId: MessageId,
    /**
     * The recipient contact point, so that the sender's other devices know where a copy went; for
     * a room's message, `room` instead.
     */
    to: ContactPointId.optional(),
    room: RoomContent.optional(),
    priority: Priority,
    urgent: UrgentIntent.optional(),
    text: MultilineString.max(40_000),
    subject: text(300).optional(),
    /** The sender's own reference (a case or request number). */
    reference: text(100).optional(),
    language: LanguageTag.optional(),
    handling: z.array(HandlingCode).max(HANDLING_CODES.length).optional(),
    /** Encrypted files uploaded as blobs; each entry carries the key to read one. */
    attachments: z.array(Attachment).min(1).max(LIMITS.maxAttachmentsPerMessage).optional(),
    /** This message opens a request between authorities, or is about one (requests.ts). */
    request: RequestContent.optional(),
    /** The sender's clock when it sent the message. */
    sentAt: Timestamp,
  })
  .refine((c) => (c.to === undefined) !== (c.room === undefined), {
    message: 'a message is for one contact point (to) or for a room (room)',
    path: ['to'],
  })
  .refine((c) => c.room === undefined || c.priority === 'normal', {
    message: "a room's messages are not urgent: an urgent request goes to one contact point, who escalates",
    path: ['priority'],
  })
  .refine((c) => (c.priority === 'urgent') === (c.urgent !== undefined), {
    message: 'an urgent message says what its sender chose for it, and only an urgent one',
    path: ['urgent'],
  })
  .refine((c) => (c.urgent?.level ?? 0) <= (c.urgent?.escalation.length ?? 0), {
    message: 'a copy is for the recipient or a member of the escalation chain',
    path: ['urgent', 'level'],
  })
  .refine((c) => c.request === undefined || c.room === undefined, {
    message: "a request is between two contact points, not a room's",
    path: ['request'],
  })
  .superRefine((c, ctx) => {
    const problem = c.request?.op === 'update' ? requestUpdateProblem(c.request) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['request'] });
  });
export type MessageContent = z.infer<typeof MessageContent>;

/** Everything a device seals: a message, or signed receipts going back to the sender of messages. */
export const SealedContent = z.union([MessageContent, ReceiptsContent]);
export type SealedContent = z.infer<typeof SealedContent>;
