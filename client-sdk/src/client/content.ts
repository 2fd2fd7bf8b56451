import {
  type Envelope,
  type HandlingCode,
  LIMITS,
  MessageContent,
  ReceiptsContent,
  type SealedContent,
} from '@liaison/protocol';
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

/**
 * The content bytes to sign and encrypt (a message, or receipts): content that the relay and every
 * recipient will accept, or INVALID_INPUT / PAYLOAD_TOO_LARGE.
 */
export function sealContent(content: unknown): Uint8Array {
  const parsed = parseSealed(content);
  if (!parsed.success) throw new LiaisonError('INVALID_INPUT', parsed.error.issues[0]?.message ?? 'invalid message');
  const bytes = new TextEncoder().encode(JSON.stringify(parsed.data));
  if (bytes.length > LIMITS.maxCiphertextBytes - SEALING_OVERHEAD)
    throw new LiaisonError('PAYLOAD_TOO_LARGE', 'the message is too long; send documents as attachments');
  return bytes;
}

/** Content of either kind, with the refusal its own schema gives (a union would only say "invalid input"). */
export function parseSealed(value: unknown) {
  const receipts = typeof value === 'object' && value !== null && 'receipts' in value;
  return (receipts ? ReceiptsContent : MessageContent).safeParse(value) as ReturnType<typeof SealedContent.safeParse>;
}

/**
 * Where the relay's envelope says something else than the sender sealed inside it: the message
 * id, the priority, the escalation level. Such an envelope is refused, not shown.
 */
export function contradiction(envelope: Envelope, content: SealedContent): LiaisonError | undefined {
  const message = 'text' in content ? content : undefined;
  const sealedLevel = message?.urgent?.level ?? 0;
  const priority = message?.priority ?? 'normal';
  const differs =
    envelope.messageId !== content.messageId
      ? 'message id'
      : envelope.priority !== priority
        ? 'priority'
        : envelope.escalationLevel !== sealedLevel
          ? 'escalation level'
          : envelope.deadline !== undefined && priority !== 'urgent'
            ? 'deadline of a message that is not urgent'
            : undefined;
  return differs
    ? new LiaisonError(
        'ENVELOPE_MISMATCH',
        `the relay's envelope ${envelope.messageId} contradicts the sender's ${differs}`,
      )
    : undefined;
}
