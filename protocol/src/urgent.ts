import { z } from 'zod';
import { LIMITS } from './limits.js';
import {
  AuthorityId,
  ContactPointId,
  DeviceId,
  Ed25519Signature,
  fixedBytes,
  MessageId,
  NetworkId,
  NO_CONTROL_CHARACTERS,
  PlainString,
  Timestamp,
} from './primitives.js';

/** How long each level of an urgent message has for a person to acknowledge it. */
export const AcknowledgeWithinMs = z.int().min(LIMITS.minAcknowledgeWithinMs).max(LIMITS.maxAcknowledgeWithinMs);

export const EscalationLevel = z.int().min(0).max(LIMITS.maxEscalationChain);

/** One level of an urgent message: level 0 is the recipient, then the escalation chain in order. */
export const UrgentLevel = z.strictObject({
  level: EscalationLevel,
  contactPointId: ContactPointId,
  /** Devices holding a copy for this level (0: the member had no device when it was sent; the level is skipped). */
  devices: z.int().min(0).max(LIMITS.maxDevicesPerContactPoint),
  /** When the copies were released to this level's devices. */
  releasedAt: Timestamp.optional(),
  /** When this level's time to acknowledge ran or runs out. */
  deadline: Timestamp.optional(),
});
export type UrgentLevel = z.infer<typeof UrgentLevel>;

/**
 * escalating: released up to `level`, waiting for an acknowledgement; acknowledged: a person
 * confirmed it and the later levels' copies are deleted; unacknowledged: every level's time ran out.
 */
export const UrgentStatus = z.enum(['escalating', 'acknowledged', 'unacknowledged']);
export type UrgentStatus = z.infer<typeof UrgentStatus>;

/** What the relay knows of an urgent message: metadata only, shown to its sender and its released recipients. */
export const UrgentState = z.strictObject({
  messageId: MessageId,
  senderContactPoint: ContactPointId,
  status: UrgentStatus,
  /** The highest level released so far. */
  level: EscalationLevel,
  acknowledgeWithinMs: AcknowledgeWithinMs,
  levels: z
    .array(UrgentLevel)
    .min(1)
    .max(LIMITS.maxEscalationChain + 1),
  acknowledged: z.strictObject({ contactPointId: ContactPointId, deviceId: DeviceId, at: Timestamp }).optional(),
  updatedAt: Timestamp,
});
export type UrgentState = z.infer<typeof UrgentState>;

// Checked as given: zod's URL check trims the string and drops tabs and line breaks from it, and a
// registration signs the URL as given. (Checked again after, as every string schema is.)
const WebhookUrl = PlainString.pipe(
  z
    .url({ protocol: /^https?$/ })
    .max(LIMITS.maxUrlLength)
    .check(NO_CONTROL_CHARACTERS),
);

/** Shared secret of a webhook: 32 random bytes, the HMAC-SHA-256 key of its alerts. */
export const WebhookSecret = fixedBytes(32);

/**
 * Signed by an authority's key: send metadata-only alerts about urgent messages addressed to my
 * contact points to this URL (or, without a URL, stop). The newest registration (by issuedAt) wins.
 */
export const WebhookRegistration = z.strictObject({
  networkId: NetworkId,
  authorityId: AuthorityId,
  url: WebhookUrl.optional(),
  secret: WebhookSecret,
  issuedAt: Timestamp,
  signature: Ed25519Signature,
});
export type WebhookRegistration = z.infer<typeof WebhookRegistration>;

/**
 * The body of an alert POSTed to a webhook: ids, level and deadline, never content. Signed in the
 * `Liaison-Signature` header: `t=<ms>,v1=<hex HMAC-SHA-256(secret, t + "." + body)>`.
 */
export const WebhookAlert = z.strictObject({
  alertId: z.int().min(1),
  type: z.enum(['urgent.received', 'urgent.escalated']),
  networkId: NetworkId,
  authorityId: AuthorityId,
  messageId: MessageId,
  contactPointId: ContactPointId,
  level: EscalationLevel,
  deadline: Timestamp,
  at: Timestamp,
});
export type WebhookAlert = z.infer<typeof WebhookAlert>;
