import { type Envelope, type HandlingCode, LIMITS, MessageContent } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';

/** What the application writes; sealed inside the end-to-end encryption with the rest of MessageContent. */
export interface OutgoingMessage {
  text: string;
  subject?: string;
  reference?: string;
  language?: string;
  handling?: HandlingCode[];
}

/** Room left in a ciphertext for the ratchet's header and the AEAD's overhead. */
const SEALING_OVERHEAD = 1024;

/** The bytes to encrypt: content that the relay and every recipient will accept, or INVALID_INPUT / PAYLOAD_TOO_LARGE. */
export function sealContent(content: unknown): Uint8Array {
  const parsed = MessageContent.safeParse(content);
  if (!parsed.success) throw new LiaisonError('INVALID_INPUT', parsed.error.issues[0]?.message ?? 'invalid message');
  const bytes = new TextEncoder().encode(JSON.stringify(parsed.data));
  if (bytes.length > LIMITS.maxCiphertextBytes - SEALING_OVERHEAD)
    throw new LiaisonError('PAYLOAD_TOO_LARGE', 'the message is too long; send documents as attachments');
  return bytes;
}

/** The content of a decrypted message, or undefined when it is not valid UTF-8 JSON of the schema. */
export function openContent(plaintext: Uint8Array): MessageContent | undefined {
  try {
    const parsed = MessageContent.safeParse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where the relay's envelope says something else than the sender sealed inside it: the message
 * id, the priority, the escalation level. Such an envelope is refused, not shown.
 */
export function contradiction(envelope: Envelope, content: MessageContent): LiaisonError | undefined {
  const sealedLevel = content.urgent?.level ?? 0;
  const differs =
    envelope.messageId !== content.messageId
      ? 'message id'
      : envelope.priority !== content.priority
        ? 'priority'
        : envelope.escalationLevel !== sealedLevel
          ? 'escalation level'
          : envelope.deadline !== undefined && content.priority !== 'urgent'
            ? 'deadline of a message that is not urgent'
            : undefined;
  return differs
    ? new LiaisonError(
        'ENVELOPE_MISMATCH',
        `the relay's envelope ${envelope.messageId} contradicts the sender's ${differs}`,
      )
    : undefined;
}
