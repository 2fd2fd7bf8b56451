import { z } from 'zod';
import { RelayReceipt } from './evidence.js';
import { LIMITS } from './limits.js';
import { boundedBytes, ContactPointId, DeviceId, MessageId, Timestamp, uniqueList } from './primitives.js';
import { AcknowledgeWithinMs, EscalationLevel } from './urgent.js';

/** Whether a ciphertext starts a session (carries the X3DH header) or continues one. */
export const EnvelopeKind = z.enum(['prekey-message', 'message']);
export type EnvelopeKind = z.infer<typeof EnvelopeKind>;

export const Priority = z.enum(['normal', 'urgent']);
export type Priority = z.infer<typeof Priority>;

export const Ciphertext = boundedBytes(LIMITS.maxCiphertextBytes);

/** The byte count of canonical base64url text, without decoding it. */
const decodedLength = (base64url: string) => Math.floor((base64url.length * 3) / 4);

/** One encrypted copy of a message, for one device. */
export const OutgoingEnvelope = z.strictObject({
  recipientDevice: DeviceId,
  kind: EnvelopeKind,
  ciphertext: Ciphertext,
  /** 0: delivered at once. k >= 1: held until level k-1's deadline passes unacknowledged. */
  escalationLevel: EscalationLevel,
});
export type OutgoingEnvelope = z.infer<typeof OutgoingEnvelope>;

/**
 * One message, encrypted once per device: every device of the recipient contact point (and of
 * each escalation level), or of each of several recipients (a room's members: the relay is told
 * who, never which room), and the sender's own other devices. The relay stores all or none.
 */
export const SendRequest = z
  .strictObject({
    messageId: MessageId,
    recipient: ContactPointId.optional(),
    /** Instead of `recipient`: several contact points, each of which gets the message on all its devices. */
    recipients: uniqueList(ContactPointId, LIMITS.maxRoomMembers).min(1).optional(),
    priority: Priority,
    createdAt: Timestamp,
    /** Urgent only: how long each level has for a person to acknowledge, from its release. */
    acknowledgeWithinMs: AcknowledgeWithinMs.optional(),
    envelopes: z.array(OutgoingEnvelope).min(1).max(LIMITS.maxEnvelopesPerSend),
  })
  .refine((r) => (r.recipient === undefined) !== (r.recipients === undefined), {
    message: 'a message is for one recipient or a list of recipients',
    path: ['recipient'],
  })
  .refine((r) => r.recipients === undefined || r.priority === 'normal', {
    message: 'a message to several recipients is not urgent',
    path: ['priority'],
  })
  .superRefine((r, ctx) => {
    const bytes = r.envelopes.reduce((n, e) => n + decodedLength(e.ciphertext), 0);
    if (bytes > LIMITS.maxSendCiphertextBytes) {
      ctx.addIssue({
        code: 'too_big',
        origin: 'number',
        maximum: LIMITS.maxSendCiphertextBytes,
        inclusive: true,
        message: `at most ${LIMITS.maxSendCiphertextBytes} bytes of ciphertext in one send`,
        path: ['envelopes'],
      });
    }
  })
  .refine((r) => new Set(r.envelopes.map((e) => e.recipientDevice)).size === r.envelopes.length, {
    message: 'one envelope per device',
    path: ['envelopes'],
  })
  .refine((r) => (r.priority === 'urgent') === (r.acknowledgeWithinMs !== undefined), {
    message: 'an urgent message has acknowledgeWithinMs, and only an urgent one',
    path: ['acknowledgeWithinMs'],
  })
  .refine((r) => r.priority === 'urgent' || r.envelopes.every((e) => e.escalationLevel === 0), {
    message: 'escalation levels are for urgent messages',
    path: ['envelopes'],
  });
export type SendRequest = z.infer<typeof SendRequest>;

export const SendResult = z.strictObject({
  messageId: MessageId,
  /** When the relay durably stored the message. */
  serverTime: Timestamp,
  /** True when this id had been stored before: the send was a retry. */
  duplicate: z.boolean(),
  /** The relay's signed "stored at", when its network's manifest certifies a key of it (docs/evidence.md). */
  stored: RelayReceipt.optional(),
});
export type SendResult = z.infer<typeof SendResult>;

/** What a device receives: its copy, and the delivery metadata the relay holds. Nothing else. */
export const Envelope = z.strictObject({
  messageId: MessageId,
  senderContactPoint: ContactPointId,
  senderDevice: DeviceId,
  recipientDevice: DeviceId,
  kind: EnvelopeKind,
  priority: Priority,
  ciphertext: Ciphertext,
  createdAt: Timestamp,
  serverTime: Timestamp,
  /** Urgent only: when this device's level must have acknowledged. */
  deadline: Timestamp.optional(),
  escalationLevel: EscalationLevel,
});
export type Envelope = z.infer<typeof Envelope>;

/**
 * What the relay pushes to a device in one `envelopes` event: the envelopes one delivery pass read,
 * or one commit offered, oldest first, never more than the delivery window. A device acknowledges
 * them with one `envelopes:ack`. A client checks the frame's shape and each element on its own
 * (client-sdk/src/client/pushed-frame.ts): one element it refuses must not cost the others.
 */
export type EnvelopeBatch = Envelope[];

/** A device confirms it has stored these envelopes; the relay then deletes their ciphertext. */
export const EnvelopeAck = z.strictObject({
  messageIds: z.array(MessageId).min(1).max(LIMITS.maxAcksPerBatch),
});
export type EnvelopeAck = z.infer<typeof EnvelopeAck>;

/** A person confirmed they have the message (the human acknowledgement that stops escalation). */
export const AcknowledgeRequest = z.strictObject({
  messageId: MessageId,
});
export type AcknowledgeRequest = z.infer<typeof AcknowledgeRequest>;

/**
 * relayed: stored by the relay; delivered: a recipient device acked it; acknowledged: a person
 * confirmed it; expired: it was never delivered within the relay's retention.
 */
export const ReceiptStatus = z.enum(['relayed', 'delivered', 'acknowledged', 'expired']);
export type ReceiptStatus = z.infer<typeof ReceiptStatus>;

export const Receipt = z.strictObject({
  messageId: MessageId,
  status: ReceiptStatus,
  contactPointId: ContactPointId,
  deviceId: DeviceId.optional(),
  at: Timestamp,
});
export type Receipt = z.infer<typeof Receipt>;

/** One `receipts` event to a contact point's devices: the receipts one batch of acknowledgements made. */
export type ReceiptBatch = Receipt[];
