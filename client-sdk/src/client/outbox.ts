import {
  type Attachment,
  encodeBase64url,
  LIMITS,
  type MessageContent,
  type RelayReceipt,
  type RequestContent,
  type SendRequest,
  type SendResult,
  type UrgentIntent,
  type VerifiedContactPoint,
} from '@liaison/protocol';
import {
  type AttachmentSource,
  type PendingUpload,
  type TransferOptions,
  uploadAttachment,
} from '../attachments/transfer.js';
import type { TransferHashFactory } from '../attachments/transfer-hash.js';
import { bundleFromWire } from '../crypto/bundle.js';
import { randomId } from '../crypto/random-id.js';
import type { SessionCipher } from '../crypto/session-cipher.js';
import { isLiaisonError, isRetryable, LiaisonError } from '../errors.js';
import type { Evidence } from '../evidence/evidence.js';
import { framed, type SignedContent } from '../evidence/signed-content.js';
import type { KeyStore } from '../key-store/key-store.js';
import { type OutgoingMessage, sealContent } from './content.js';
import type { Recipients, Target } from './recipients.js';
import type { RelayApi } from './relay-api.js';
import type { RelayClock } from './relay-clock.js';

export interface SendOptions extends TransferOptions {
  /**
   * Made here when not given. A send that failed (even in a process since restarted, with the same
   * key store) can be repeated with the same id and attachments: uploads resume where they stopped.
   */
  messageId?: string;
  urgent?: UrgentOptions;
  /** Files to encrypt and upload before the message is sent (any size: memory stays flat). */
  attachments?: AttachmentSource[];
}

/**
 * An urgent message: each level (the recipient, then its escalation chain) has this long for a
 * person to acknowledge before the relay releases the next; or give the recipient's deadline.
 */
export type UrgentOptions = { acknowledgeWithin?: number } | { deadline: number };

/** Time to acknowledge each level when the sender gives none: shorter for a 24/7 point of contact. */
export const DEFAULT_ACKNOWLEDGE_WITHIN_MS = { urgent: 30 * 60_000, roundTheClock: 10 * 60_000 } as const;

/** Emits of one send before its retryable failure is the caller's. */
const SEND_ATTEMPTS = 5;
/** Plans of one send: the device lists may change again while it is re-encrypted. */
const PLANS = 3;

/**
 * Outgoing messages: sealed once per escalation level, their attachments uploaded for exactly the
 * devices they are encrypted for, encrypted per device, and emitted with the same message id until
 * the relay has stored them. When the relay refuses the device lists (DEVICE_MISMATCH), what was
 * verified of them is forgotten and the message encrypted again for the current devices.
 */
export class Outbox {
  constructor(
    private readonly self: { contactPointId: string; deviceId: string },
    private readonly store: KeyStore,
    private readonly api: RelayApi,
    private readonly cipher: SessionCipher,
    private readonly recipients: Recipients,
    private readonly clock: RelayClock,
    private readonly now: () => number,
    private readonly evidence: Pick<Evidence, 'sign' | 'sealed' | 'stored' | 'unsent'>,
    private readonly emit: (request: SendRequest) => Promise<SendResult>,
    /** How uploads hash their plaintext (`LiaisonClientOptions.attachmentHash`). */
    private readonly hash?: TransferHashFactory,
  ) {}

  /** A message to one contact point (`request`: one that opens a request or is about one, from `Requests`). */
  async send(
    contactPointId: string,
    message: OutgoingMessage & { request?: RequestContent },
    options: SendOptions = {},
  ): Promise<{ messageId: string; serverTime: number }> {
    const messageId = options.messageId ?? randomId();
    const sentAt = this.now();
    const sources = options.attachments ?? [];
    if (sources.length > LIMITS.maxAttachmentsPerMessage)
      throw new LiaisonError('INVALID_INPUT', `at most ${LIMITS.maxAttachmentsPerMessage} attachments per message`);
    let levels = await this.recipients.levels(contactPointId, options.urgent !== undefined);
    // What the sender chose for an urgent message is sealed in every copy, with the copy's level.
    const urgent: Omit<UrgentIntent, 'level'> | undefined = options.urgent && {
      acknowledgeWithinMs: this.acknowledgeWithin(options.urgent, levels.head),
      escalation: levels.head.contactPoint.escalationChain,
    };
    const content = (attachments: Attachment[], level: number): MessageContent => ({
      version: 2,
      messageId,
      to: contactPointId,
      priority: urgent ? 'urgent' : 'normal',
      ...(urgent && { urgent: { ...urgent, level } }),
      sentAt,
      ...message,
      ...(attachments.length > 0 && { attachments }),
    });
    // A message that cannot be sent is refused before anything is uploaded.
    sealContent(content([], 0));
    const pendingKeys = sources.map((_, i) => `upload:${messageId}:${i}`);
    const attachments = await this.upload(messageId, sources, pendingKeys, this.recipients.readers(levels), options);
    // Each level's copy is signed once, and kept as evidence once the relay has stored it.
    const copies = new Map<number, SignedContent>();
    const copy = async (level: number) => {
      const known = copies.get(level);
      if (known) return known;
      const sealed = content(attachments, level);
      const signed = this.evidence.sign(sealContent(sealed));
      this.evidence.sealed(sealed, signed);
      copies.set(level, signed);
      return signed;
    };
    let sent: Awaited<ReturnType<Outbox['sendPlanned']>>;
    try {
      sent = await this.sendPlanned(
        pendingKeys,
        attachments,
        async () => ({
          messageId,
          recipient: contactPointId,
          priority: urgent ? 'urgent' : 'normal',
          createdAt: sentAt,
          ...(urgent && { acknowledgeWithinMs: urgent.acknowledgeWithinMs }),
          envelopes: await this.encryptForLevels(levels.targets, async (level) => framed(await copy(level))),
        }),
        async () => {
          this.recipients.forget(levels);
          levels = await this.recipients.levels(contactPointId, options.urgent !== undefined);
          return this.recipients.readers(levels);
        },
      );
    } catch (error) {
      this.evidence.unsent(messageId);
      throw error;
    }
    await this.evidence.stored(messageId, sent.stored);
    return { messageId, serverTime: sent.serverTime };
  }

  /**
   * One message to several contact points (a room's members) in one send: `content` says what
   * each contact point's devices get (this contact point's other devices included), and is sealed
   * once per contact point that differs. Retried and re-planned as `send` is.
   */
  async sendToSeveral(
    contactPointIds: readonly string[],
    content: (
      sealed: { messageId: string; sentAt: number; attachments?: Attachment[] },
      contactPointId: string,
    ) => unknown,
    options: Omit<SendOptions, 'urgent'> = {},
  ): Promise<{ messageId: string; serverTime: number }> {
    const messageId = options.messageId ?? randomId();
    const sentAt = this.now();
    const sources = options.attachments ?? [];
    if (sources.length > LIMITS.maxAttachmentsPerMessage)
      throw new LiaisonError('INVALID_INPUT', `at most ${LIMITS.maxAttachmentsPerMessage} attachments per message`);
    const recipients = [...new Set(contactPointIds)];
    for (const id of [...recipients, this.self.contactPointId]) sealContent(content({ messageId, sentAt }, id));
    let targets = await this.recipients.several(recipients);
    const readers = () => [...new Set(targets.map((t) => t.peer.deviceId))].filter((d) => d !== this.self.deviceId);
    const pendingKeys = sources.map((_, i) => `upload:${messageId}:${i}`);
    const attachments = await this.upload(messageId, sources, pendingKeys, readers(), options);
    const sealed = { messageId, sentAt, ...(attachments.length > 0 && { attachments }) };
    const plaintexts = new Map<string, Uint8Array>();
    const plaintext = (contactPointId: string) => {
      const known = plaintexts.get(contactPointId);
      if (known) return known;
      const bytes = framed(this.evidence.sign(sealContent(content(sealed, contactPointId))));
      plaintexts.set(contactPointId, bytes);
      return bytes;
    };
    const sent = await this.sendPlanned(
      pendingKeys,
      attachments,
      async () => {
        const envelopes: SendRequest['envelopes'] = [];
        for (const target of targets) {
          if (target.peer.deviceId === this.self.deviceId) continue;
          envelopes.push(await this.encryptFor(target, plaintext(target.peer.contactPointId), 0));
        }
        const bytes = envelopes.reduce((n, e) => n + Math.floor((e.ciphertext.length * 3) / 4), 0);
        if (bytes > LIMITS.maxSendCiphertextBytes)
          throw new LiaisonError(
            'PAYLOAD_TOO_LARGE',
            `the message is too long for ${envelopes.length} devices; send the text as an attachment`,
          );
        return { messageId, recipients, priority: 'normal', createdAt: sentAt, envelopes };
      },
      async () => {
        this.recipients.forgetSeveral(recipients);
        targets = await this.recipients.several(recipients);
        return readers();
      },
    );
    return { messageId, serverTime: sent.serverTime };
  }

  /**
   * Emits a planned send until the relay stores it. When the relay refuses the device lists
   * (DEVICE_MISMATCH), what was verified of them is forgotten (`replan`), the blobs made readable
   * by the current devices, and the message encrypted again.
   */
  private async sendPlanned(
    pendingKeys: readonly string[],
    attachments: readonly Attachment[],
    plan: () => Promise<SendRequest>,
    replan: () => Promise<string[]>,
  ): Promise<{ serverTime: number; stored?: RelayReceipt }> {
    for (let attempt = 1; ; attempt++) {
      const request = await plan();
      try {
        const result = await this.emitUntilStored(request);
        for (const key of pendingKeys) await this.store.setState(key, undefined);
        return { serverTime: result.serverTime, ...(result.stored && { stored: result.stored }) };
      } catch (error) {
        if (!isLiaisonError(error, 'DEVICE_MISMATCH') || attempt >= PLANS) throw error;
        const readers = await replan();
        for (const { blobId } of attachments) await this.api.setBlobReaders(blobId, readers);
      }
    }
  }

  /** Uploads each file, readable by exactly `readers`; an upload interrupted earlier resumes from what was saved. */
  private async upload(
    messageId: string,
    sources: AttachmentSource[],
    pendingKeys: string[],
    readers: string[],
    options: TransferOptions,
  ): Promise<Attachment[]> {
    const attachments: Attachment[] = [];
    for (const [i, source] of sources.entries()) {
      const key = pendingKeys[i] as string;
      const saved = await this.store.getState(key);
      attachments.push(
        await uploadAttachment(
          this.api,
          source,
          { messageId, readers },
          {
            ...options,
            hash: options.hash ?? this.hash,
            ...(saved && { pending: JSON.parse(saved) as PendingUpload }),
            onStart: (pending) => this.store.setState(key, JSON.stringify(pending)),
          },
        ),
      );
    }
    return attachments;
  }

  private acknowledgeWithin(urgent: UrgentOptions, head: VerifiedContactPoint): number {
    // A deadline the application gives is a time on the relay's clock, which runs the escalation.
    if ('deadline' in urgent) return urgent.deadline - this.clock.now();
    if (urgent.acknowledgeWithin !== undefined) return urgent.acknowledgeWithin;
    return head.contactPoint.competences.includes('cybercrime-24-7')
      ? DEFAULT_ACKNOWLEDGE_WITHIN_MS.roundTheClock
      : DEFAULT_ACKNOWLEDGE_WITHIN_MS.urgent;
  }

  private async encryptForLevels(
    levels: Target[][],
    plaintext: (level: number) => Promise<Uint8Array>,
  ): Promise<SendRequest['envelopes']> {
    const envelopes: SendRequest['envelopes'] = [];
    for (const [level, targets] of levels.entries()) {
      const sealed = await plaintext(level);
      for (const target of targets) {
        if (target.peer.deviceId === this.self.deviceId) continue;
        envelopes.push(await this.encryptFor(target, sealed, level));
      }
    }
    return envelopes;
  }

  private async encryptFor(
    target: Target,
    plaintext: Uint8Array,
    level: number,
  ): Promise<SendRequest['envelopes'][number]> {
    const encrypted = await this.cipher.encrypt(target.peer, plaintext, target.bundle && bundleFromWire(target.bundle));
    return {
      recipientDevice: target.peer.deviceId,
      kind: encrypted.kind,
      ciphertext: encodeBase64url(encrypted.body),
      escalationLevel: level,
    };
  }

  /** Emits a send until the relay has stored it: the same request (same message id) each time. */
  private async emitUntilStored(request: SendRequest): Promise<SendResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const sentAt = this.now();
        const stored = await this.emit(request);
        this.clock.sample(stored.serverTime, sentAt, this.now());
        return stored;
      } catch (error) {
        if (!isRetryable(error) || attempt >= SEND_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
      }
    }
  }
}
