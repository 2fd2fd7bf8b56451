import {
  type Attachment,
  decodeBase64url,
  Envelope,
  LIMITS,
  type MessageContent,
  type RequestContent,
  type RoomContent,
} from '@liaison/protocol';
import type { SessionCipher, SessionPeer } from '../crypto/session-cipher.js';
import { isLiaisonError, LiaisonError } from '../errors.js';
import type { Evidence } from '../evidence/evidence.js';
import type { DeviceChain } from '../evidence/evidence-log.js';
import { openSigned } from '../evidence/signed-content.js';
import type { PeerIdentities, PeerIdentityStatus } from '../trust/identities.js';
import { type PeerDirectory, sessionPeer } from '../trust/peer-directory.js';
import { AckQueue } from './ack-queue.js';
import { contradiction, type OutgoingMessage } from './content.js';
import type { Inbox } from './inbox.js';
import { malformedElement, pushedFrame } from './pushed-frame.js';

const Frame = pushedFrame(LIMITS.deliveryWindow);

/** What a person is shown about who sent a message: all of it from verified certificates. */
export interface VerifiedSender {
  contactPointId: string;
  displayName: string;
  role: string;
  authorityId: string;
  authorityName: string;
  country: string;
  networkId: string;
  networkName: string;
  deviceId: string;
  deviceName: string;
  /** `changed`: the account key differs from the one recorded; compare safety numbers. */
  identity: PeerIdentityStatus | 'changed';
}

/**
 * A received message. Everything at the top level is the sender's, from inside the end-to-end
 * encryption (or from certificates, for `sender`); the relay could not have changed it. What only
 * the relay says is under `relay`.
 */
export interface ReceivedMessage extends OutgoingMessage {
  messageId: string;
  /** `outgoing`: a copy of what another device of this contact point sent. */
  direction: 'incoming' | 'outgoing';
  to: string;
  sender: VerifiedSender;
  priority: 'normal' | 'urgent';
  /** The sender's clock when it sent the message. */
  sentAt: number;
  /** Urgent only: 0 when addressed to this contact point, k when it reached it by escalation to level k. */
  escalationLevel: number;
  /** Urgent only: what the sender chose: the time each level has to acknowledge, and the escalation chain. */
  urgent?: { acknowledgeWithinMs: number; escalation: string[] };
  /** The request this message opens or is about (`client.requests` folds them). */
  request?: RequestContent;
  /** SHA-256 of the content as the sender signed it, base64url: what receipts and case records name. */
  contentHash: string;
  /**
   * Files sent with the message; fetch each with `download`. Each carries the key that opens it:
   * keep it as carefully as the message text.
   */
  attachments?: Attachment[];
  /**
   * The relay's word, which the sender did not seal: when the relay stored the message and, for
   * an urgent message, when a person at this device's level must acknowledge it (see `acknowledge`).
   */
  relay: { serverTime: number; deadline?: number };
}

/**
 * Envelopes the relay pushes, several in a frame, handled one at a time and in order: the sending
 * device verified from certificates (the relay's word on who sent it counts for nothing), the
 * ciphertext decrypted, the content checked against the envelope, the message handed to the
 * application, and only then recorded as delivered and acknowledged to the relay. What cannot be shown is reported and
 * acknowledged, so the relay drops it; what may become showable (a chain not valid yet) is left
 * for the relay to offer again.
 */
export class Receiver {
  private incoming: Promise<void> = Promise.resolve();
  private readonly acks: AckQueue;

  constructor(
    private readonly self: string,
    private readonly cipher: SessionCipher,
    private readonly inbox: Inbox,
    private readonly directory: PeerDirectory,
    private readonly identities: PeerIdentities,
    private readonly evidence: Pick<Evidence, 'received' | 'receipts'>,
    sendAcks: (messageIds: string[]) => Promise<unknown>,
    private readonly deliver: (message: ReceivedMessage) => Promise<void>,
    private readonly rooms: (
      room: RoomContent,
      content: MessageContent,
      sender: VerifiedSender,
      envelope: Envelope,
    ) => Promise<void>,
    report: (error: unknown) => Promise<void>,
  ) {
    // A report that fails (an application's error listener that throws) must not stop the
    // handling of what comes next (review 25b, finding 1): there is nothing more to tell it with.
    this.report = (error) => report(error).catch(() => undefined);
    this.acks = new AckQueue(sendAcks, (error) => this.report(error));
  }

  private readonly report: (error: unknown) => Promise<void>;

  /**
   * An `envelopes` event the relay pushed (its word, checked as any input): handled after those
   * pushed before, one envelope at a time and in order. An event that is not an array of 1 to
   * LIMITS.deliveryWindow elements is reported and dropped whole. Within one, an element that is not
   * an Envelope is reported (INVALID_MESSAGE, with its messageId if that much is readable) and left
   * unacknowledged, holding one slot of the window, as any envelope that fails; the others are
   * handled all the same: the relay rebuilds the same frame at each redelivery, so dropping the
   * frame for one element would hold every envelope pushed with it until that one expired.
   * Acknowledgements leave in few batches (AckQueue.hold): at the end of the frame at the latest.
   */
  push(frame: unknown): void {
    const elements = Frame.safeParse(frame);
    if (!elements.success) {
      void this.report(malformedElement('envelope', frame));
      return;
    }
    this.incoming = this.incoming
      .then(async () => {
        this.acks.hold();
        try {
          // One envelope's failure is reported, and the next is handled all the same.
          for (const element of elements.data) await this.element(element).catch((error) => this.report(error));
        } finally {
          this.acks.release();
        }
      })
      // Nothing above throws any more; kept so that nothing can leave the chain rejected for good.
      .catch((error) => this.report(error));
  }

  /**
   * The connection ended: acknowledgements not yet accepted are for that connection only (after a
   * reconnection the relay offers those envelopes again, and the inbox recognises them).
   */
  disconnected(): void {
    this.acks.clear();
  }

  /** Resolves once the envelopes pushed so far are handled. */
  idle(): Promise<void> {
    return this.incoming;
  }

  private async element(element: unknown): Promise<void> {
    const envelope = Envelope.safeParse(element);
    if (envelope.success) return this.receive(envelope.data);
    return this.report(malformedElement('envelope', element));
  }

  private async receive(envelope: Envelope): Promise<void> {
    if (await this.inbox.delivered(envelope)) return this.acks.add(envelope.messageId);
    let sender: { shown: VerifiedSender; peer: SessionPeer; chain: DeviceChain };
    try {
      sender = await this.sender(envelope);
    } catch (error) {
      // A chain not valid yet by the relay's clock may become valid (the issuer's clock ran ahead):
      // keep the envelope unacknowledged, and the relay offers it again later.
      if (isLiaisonError(error, 'NOT_YET_VALID')) return this.report(error);
      // A chain that does not verify never will: report it and let the relay drop the envelope.
      if (isLiaisonError(error) && error.code !== 'UNAVAILABLE' && !isKeyStoreFailure(error)) {
        await this.report(error);
        return this.acks.add(envelope.messageId);
      }
      throw error;
    }
    const kept = await this.inbox.pending(envelope);
    let plaintext: Uint8Array;
    if (kept && kept.senderContactPoint === sender.peer.contactPointId) {
      plaintext = kept.plaintext;
    } else {
      try {
        plaintext = await this.cipher.decrypt(sender.peer, decodeBase64url(envelope.ciphertext) as Uint8Array, (p) =>
          this.inbox.keepPending(envelope, { plaintext: p, senderContactPoint: sender.peer.contactPointId }),
        );
      } catch (error) {
        if (!isLiaisonError(error) || isKeyStoreFailure(error)) throw error;
        if (error.code !== 'DUPLICATE_MESSAGE') await this.report(error);
        return this.acks.add(envelope.messageId);
      }
    }
    const opened = openSigned(plaintext, decodeBase64url(envelope.senderDevice) as Uint8Array);
    const refusal = opened
      ? contradiction(envelope, opened.content)
      : new LiaisonError(
          'INVALID_MESSAGE',
          `message ${envelope.messageId} has no readable content signed by its sender's device`,
        );
    if (refusal || !opened) {
      await this.report(refusal);
      await this.inbox.markDelivered(envelope);
      return this.acks.add(envelope.messageId);
    }
    const content = opened.content;
    if ('receipts' in content) {
      await this.evidence.receipts(content, sender.chain);
      await this.inbox.markDelivered(envelope);
      return this.acks.add(envelope.messageId);
    }
    if (content.room) return this.receiveRoom(content.room, content, sender.shown, envelope);
    const misaddressed = this.misaddressed(content, sender.shown.contactPointId);
    if (misaddressed) {
      await this.report(misaddressed);
      await this.inbox.markDelivered(envelope);
      return this.acks.add(envelope.messageId);
    }
    // Kept as evidence before the application has it: a crash in between finds it kept once.
    await this.evidence.received(content, opened.signed, sender.chain);
    const { version: _, to, room: _room, sentAt, urgent, ...fields } = content;
    await this.deliver({
      ...fields,
      direction: sender.shown.contactPointId === this.self ? 'outgoing' : 'incoming',
      // The schema gives every message that is not a room's its recipient.
      to: to as string,
      sender: sender.shown,
      sentAt,
      escalationLevel: urgent?.level ?? 0,
      ...(urgent && { urgent: { acknowledgeWithinMs: urgent.acknowledgeWithinMs, escalation: urgent.escalation } }),
      contentHash: opened.signed.hash,
      relay: {
        serverTime: envelope.serverTime,
        ...(envelope.deadline !== undefined && { deadline: envelope.deadline }),
      },
    });
    await this.inbox.markDelivered(envelope);
    this.acks.add(envelope.messageId);
  }

  /**
   * A room's content goes to the rooms, which keep or hand it over; what they refuse is reported
   * and acknowledged, and what they could not decide yet (the relay unreachable for a signer's
   * certificate, the key store closed) stays for the relay to offer again.
   */
  private async receiveRoom(
    room: RoomContent,
    content: MessageContent,
    sender: VerifiedSender,
    envelope: Envelope,
  ): Promise<void> {
    try {
      await this.rooms(room, content, sender, envelope);
    } catch (error) {
      if (!isLiaisonError(error) || isKeyStoreFailure(error) || error.code === 'UNAVAILABLE') throw error;
      await this.report(error);
    }
    await this.inbox.markDelivered(envelope);
    this.acks.add(envelope.messageId);
  }

  /**
   * A message another contact point sealed for someone else (its recipient, or at its level of
   * escalation, that member) is not shown here: it would read as addressed to them, and be kept
   * as evidence of something that was not sent to this contact point.
   */
  private misaddressed(content: MessageContent, from: string): LiaisonError | undefined {
    if (from === this.self) return undefined;
    const level = content.urgent?.level ?? 0;
    const addressee = level === 0 ? content.to : content.urgent?.escalation[level - 1];
    return addressee === this.self
      ? undefined
      : new LiaisonError(
          'INVALID_MESSAGE',
          `message ${content.messageId} from "${from}" was sealed for "${addressee}", not for this contact point`,
        );
  }

  /** Who sent an envelope, from certificates this client verified itself; the relay's claim alone counts for nothing. */
  private async sender(envelope: Envelope): Promise<{ shown: VerifiedSender; peer: SessionPeer; chain: DeviceChain }> {
    const { contactPoint: verified, devices } = await this.directory.lookup(
      envelope.senderContactPoint,
      envelope.senderDevice,
    );
    const device = devices.get(envelope.senderDevice);
    if (!device)
      throw new LiaisonError(
        'UNTRUSTED_IDENTITY',
        `device ${envelope.senderDevice} is not certified for ${envelope.senderContactPoint}`,
      );
    await this.identities.checkOwner(envelope.senderContactPoint, [device.deviceId]);
    let identity: VerifiedSender['identity'];
    try {
      identity = await this.identities.check(verified);
    } catch (error) {
      if (!isLiaisonError(error, 'UNTRUSTED_IDENTITY')) throw error;
      identity = 'changed';
    }
    return {
      shown: {
        contactPointId: verified.contactPoint.contactPointId,
        displayName: verified.contactPoint.displayName,
        role: verified.contactPoint.role,
        authorityId: verified.authority.authorityId,
        authorityName: verified.authority.name,
        country: verified.authority.country,
        networkId: verified.networkId,
        networkName: verified.networkName,
        deviceId: device.deviceId,
        deviceName: device.deviceName,
        identity,
      },
      peer: sessionPeer(verified, device.deviceId),
      chain: { authority: verified.authority, contactPoint: verified.contactPoint, device },
    };
  }
}

/**
 * This device could not read or keep its own state (a store closed for a lock screen, or one that
 * could not write): nothing was decided about the envelope, so it stays unacknowledged and the
 * relay offers it again. Acknowledging would delete a message no one has read.
 */
function isKeyStoreFailure(error: LiaisonError): boolean {
  return error.code.startsWith('KEY_STORE_');
}
