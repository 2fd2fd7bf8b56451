import {
  type EvidenceReceipt,
  encodeBase64url,
  LIMITS,
  type MessageContent,
  manifestSignedBy,
  type NetworkManifest,
  type ReceiptsContent,
  type RelayReceipt,
  type Revocation,
  type TrustedRoot,
} from '@liaison/protocol';
import { type IdentityKeyPair, verifySignature } from '../crypto/keys.js';
import { isLiaisonError, isRetryable, LiaisonError } from '../errors.js';
import type { KeyStore } from '../key-store/key-store.js';
import { verifiedDevice } from '../trust/verify.js';
import type { DeviceChain, EvidenceLog, MessageIndex } from './evidence-log.js';
import { receiptSigned, relayReceiptSigned, signReceipt } from './receipts.js';
import { type SignedContent, signContent } from './signed-content.js';

const OUTBOX = 'evidence:outbox';

/** Receipts waiting to go back to the contact point whose message they attest. */
interface QueuedReceipt {
  to: string;
  receipt: EvidenceReceipt;
}

/** A message this device sealed, kept as evidence once the relay has stored it. */
interface Sending {
  copies: { content: MessageContent; signed: SignedContent }[];
  done: Promise<void>;
  finish: () => void;
}

export interface EvidenceOptions {
  self: { contactPointId: string; deviceId: string; networkId: string; chain: DeviceChain };
  identity: IdentityKeyPair;
  store: KeyStore;
  log: EvidenceLog;
  trustedRoots: readonly TrustedRoot[];
  revocations?: readonly Revocation[];
  now: () => number;
  /** The relay's network manifest, unchecked (undefined when the relay has none). */
  fetchManifest: () => Promise<NetworkManifest | undefined>;
  /** Sends receipts end to end to a contact point's devices. */
  sendReceipts: (to: string, receipts: EvidenceReceipt[]) => Promise<unknown>;
  /** A request gained a message or a receipt. */
  requestChanged: (requestId: string) => Promise<void>;
  /** A signed receipt was verified and kept. */
  receiptKept: (receipt: EvidenceReceipt) => Promise<void>;
  report: (error: unknown) => Promise<void>;
}

/**
 * What makes messages evidence (docs/evidence.md): every message this device seals is signed with
 * its identity key; every message it receives is kept as signed, with a signed `delivered` receipt
 * sent back; a person's acknowledgement is signed too; receipts coming back are verified against the
 * message they name before they are kept; the relay's "stored at" is kept only when a key its
 * network's manifest certifies signed it. All of it goes to the evidence log, and only what the
 * offline verifier will accept: each signer's chain valid when it signed.
 */
export class Evidence {
  private flushing: Promise<void> | undefined;
  private again = false;
  private queueing: Promise<unknown> = Promise.resolve();
  private manifest: Promise<NetworkManifest | undefined> | undefined;
  private readonly sending = new Map<string, Sending>();

  constructor(private readonly o: EvidenceOptions) {}

  sign(bytes: Uint8Array): SignedContent {
    return signContent(this.o.identity, bytes);
  }

  /** A copy this device sealed (one per escalation level), kept once the relay has stored the message. */
  sealed(content: MessageContent, signed: SignedContent): void {
    let sending = this.sending.get(content.messageId);
    if (!sending) {
      let finish = () => {};
      const done = new Promise<void>((resolve) => {
        finish = resolve;
      });
      sending = { copies: [], done, finish };
      this.sending.set(content.messageId, sending);
    }
    if (!sending.copies.some((c) => c.signed.hash === signed.hash)) sending.copies.push({ content, signed });
  }

  /**
   * The relay stored a message this device sent: its copies are kept, then the relay's "stored
   * at" when it verifies (refused and reported when not). A message the relay never stored is not
   * evidence of anything: `unsent` forgets it.
   */
  async stored(messageId: string, receipt: RelayReceipt | undefined): Promise<void> {
    const sending = this.sending.get(messageId);
    try {
      await this.o.log.keepChain(this.o.self.chain);
      for (const { content, signed } of sending?.copies ?? [])
        await this.keepMessage(content.to as string, content, signed, this.o.self.contactPointId, this.o.self.deviceId);
      if (receipt) await this.keepRelayReceipt(receipt, messageId);
    } finally {
      this.sending.delete(messageId);
      sending?.finish();
    }
  }

  unsent(messageId: string): void {
    this.sending.get(messageId)?.finish();
    this.sending.delete(messageId);
  }

  /**
   * A message received (or a copy of one this contact point sent from another device): kept as
   * signed when its sender's chain was valid when it says it signed; when it is for this contact
   * point, a signed `delivered` receipt goes back to its sender. Each step is redone on redelivery,
   * so a crash between them loses nothing.
   */
  async received(content: MessageContent, signed: SignedContent, sender: DeviceChain): Promise<void> {
    const from = sender.contactPoint.contactPointId;
    const peer = from === this.o.self.contactPointId ? (content.to as string) : from;
    try {
      this.chainAt(sender, content.sentAt);
    } catch (error) {
      return this.o.report(notEvidence(content.messageId, error));
    }
    await this.o.log.keepChain(sender);
    const kept = await this.keepMessage(peer, content, signed, from, sender.device.deviceId);
    if (kept === 'elsewhere' || from === this.o.self.contactPointId) return;
    const index = await this.o.log.message(content.messageId);
    if (index?.receipts.includes(`delivered:${this.o.self.deviceId}`)) return;
    // This device's own receipt is evidence too: its record shows what it received, and when.
    const receipt = this.receipt('delivered', content.messageId, signed.hash, from);
    await this.o.log.addReceipt({ type: 'receipt', receipt });
    await this.queue(from, receipt);
    if (index) await this.changed(index);
  }

  /**
   * A person at this contact point acknowledged a message: signed, kept and sent to its sender. A
   * message this device holds no signed copy of (a room's, or one not kept as evidence) has the
   * relay's acknowledgement alone.
   */
  async acknowledged(messageId: string): Promise<void> {
    const index = await this.o.log.message(messageId);
    const hash = index?.hashes[0];
    if (!index || !hash || index.from === this.o.self.contactPointId) return;
    if (!index.readers.includes(this.o.self.contactPointId)) return;
    if (index.receipts.includes(`acknowledged:${this.o.self.deviceId}`)) return;
    const receipt = this.receipt('acknowledged', messageId, hash, index.from);
    await this.o.log.addReceipt({ type: 'receipt', receipt });
    await this.queue(index.from, receipt);
    await this.changed(index);
  }

  /** Receipts a device sent back: each verified against the message it names, kept, or refused and reported. */
  async receipts(content: ReceiptsContent, sender: DeviceChain): Promise<void> {
    for (const receipt of content.receipts) {
      // A receipt can overtake the send result of the message it attests.
      await this.sending.get(receipt.messageId)?.done;
      let index: MessageIndex;
      try {
        index = await this.checkReceipt(receipt, sender);
      } catch (error) {
        await this.o.report(error);
        continue;
      }
      await this.o.log.keepChain(sender);
      if (await this.o.log.addReceipt({ type: 'receipt', receipt })) {
        await this.o.receiptKept(receipt);
        await this.changed(index);
      }
    }
  }

  /** Sends what waits, grouped by contact point; a failure that retrying cannot fix drops that group, reported. */
  flush(): Promise<void> {
    this.again = true;
    this.flushing ??= (async () => {
      try {
        while (this.again) {
          this.again = false;
          await this.sendQueued();
        }
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  private async sendQueued(): Promise<void> {
    for (;;) {
      const queued = await this.queued();
      const to = queued[0]?.to;
      if (to === undefined) return;
      const batch = queued.filter((q) => q.to === to).slice(0, 64);
      try {
        await this.o.sendReceipts(
          to,
          batch.map((q) => q.receipt),
        );
      } catch (error) {
        // Kept for the next attempt (at the next receipt, or the next connection): the relay
        // unreachable, a queue full at the relay, this device's store closed.
        if (isRetryable(error) || isLiaisonError(error, 'QUOTA_EXCEEDED') || isKeyStoreFailure(error)) throw error;
        await this.o.report(error);
      }
      const sent = new Set(batch.map((q) => q.receipt.signature));
      await this.changeQueue((q) => q.filter((x) => !sent.has(x.receipt.signature)));
    }
  }

  private receipt(kind: EvidenceReceipt['kind'], messageId: string, contentHash: string, sender: string) {
    return signReceipt(this.o.identity, {
      kind,
      messageId,
      contentHash,
      sender,
      by: this.o.self.contactPointId,
      byDevice: this.o.self.deviceId,
      at: this.o.now(),
    });
  }

  private async keepMessage(
    peer: string,
    content: MessageContent,
    signed: SignedContent,
    from: string,
    fromDevice: string,
  ): Promise<'added' | 'known' | 'elsewhere'> {
    const requestId = content.request?.op === 'open' ? content.messageId : content.request?.requestId;
    const kept = await this.o.log.addMessage(
      peer,
      {
        type: 'message',
        messageId: content.messageId,
        from,
        fromDevice,
        content: encodeBase64url(signed.bytes),
        signature: encodeBase64url(signed.signature),
        hash: signed.hash,
      },
      {
        from,
        readers: [content.to as string, ...(content.urgent?.escalation ?? [])],
        ...(requestId && { requestId }),
      },
    );
    if (kept === 'elsewhere' || !requestId) return kept;
    if (content.request?.op === 'open') await this.o.log.noteRequest(requestId, peer);
    if (kept === 'added') await this.o.requestChanged(requestId);
    return kept;
  }

  private async changed(index: MessageIndex): Promise<void> {
    if (index.requestId) await this.o.requestChanged(index.requestId);
  }

  /** The signer's chain when it signed, as the offline verifier will check it (within the clock skew allowed). */
  private chainAt(chain: DeviceChain, at: number): void {
    const anchors = { trustedRoots: this.o.trustedRoots, revocations: this.o.revocations ?? [] };
    try {
      verifiedDevice(chain, anchors, at);
    } catch (error) {
      if (isLiaisonError(error, 'NOT_YET_VALID')) verifiedDevice(chain, anchors, at + LIMITS.maxClockSkewMs);
      else if (isLiaisonError(error, 'EXPIRED')) verifiedDevice(chain, anchors, at - LIMITS.maxClockSkewMs);
      else throw error;
    }
  }

  private async checkReceipt(receipt: EvidenceReceipt, sender: DeviceChain): Promise<MessageIndex> {
    const refuse = (why: string) =>
      new LiaisonError(
        'INVALID_MESSAGE',
        `a receipt from "${sender.contactPoint.contactPointId}" for message ${receipt.messageId} ${why}`,
      );
    if (receipt.byDevice !== sender.device.deviceId || receipt.by !== sender.contactPoint.contactPointId)
      throw refuse('names another device than the one that sent it');
    if (!receiptSigned(receipt))
      throw new LiaisonError(
        'BAD_SIGNATURE',
        `a receipt for message ${receipt.messageId} is not signed by the device it names`,
      );
    const index = await this.o.log.message(receipt.messageId);
    if (!index) throw refuse('is about a message this device does not hold');
    if (!index.hashes.includes(receipt.contentHash)) throw refuse('is for other content than was sent');
    if (index.from !== receipt.sender) throw refuse('names another sender');
    if (!index.readers.includes(receipt.by)) throw refuse('comes from a contact point the message was not for');
    if (receipt.at > this.o.now() + LIMITS.maxClockSkewMs) throw refuse('is dated in the future');
    try {
      this.chainAt(sender, receipt.at);
    } catch (error) {
      throw refuse(`was signed when its device's chain did not hold: ${(error as Error).message}`);
    }
    return index;
  }

  private async keepRelayReceipt(receipt: RelayReceipt, messageId: string): Promise<void> {
    const refuse = (why: string) =>
      new LiaisonError('BAD_SIGNATURE', `the relay's receipt for message ${messageId} ${why}`);
    if (
      receipt.messageId !== messageId ||
      receipt.senderContactPoint !== this.o.self.contactPointId ||
      receipt.senderDevice !== this.o.self.deviceId ||
      receipt.networkId !== this.o.self.networkId
    )
      return this.o.report(refuse('is about another message, sender or network'));
    if (!relayReceiptSigned(receipt)) return this.o.report(refuse('is not signed by the key it names'));
    const names = (m: NetworkManifest | undefined) => m?.relays.some((r) => r.signingKey === receipt.relayKey);
    let manifest = await this.relayManifest();
    if (manifest && !names(manifest)) {
      // The network may have rotated its relay key since the manifest was read: read it again, once.
      this.manifest = undefined;
      manifest = await this.relayManifest();
    }
    if (!manifest || !names(manifest))
      return this.o.report(refuse("is signed by a key that no current manifest of the network's root certifies"));
    await this.o.log.keepManifest(manifest);
    const index = await this.o.log.message(messageId);
    if ((await this.o.log.addReceipt({ type: 'relay-receipt', receipt })) && index) await this.changed(index);
  }

  /**
   * The relay's manifest, once it verifies under a root of this device's network and is not older
   * than a version seen before (a relay still serving a retired key's manifest is not believed).
   * Only a verified manifest is remembered; otherwise it is asked for again at the next receipt.
   */
  private relayManifest(): Promise<NetworkManifest | undefined> {
    this.manifest ??= this.o.fetchManifest().then(async (manifest) => {
      const roots = this.o.trustedRoots.filter((r) => r.networkId === this.o.self.networkId);
      const verified =
        manifest?.networkId === this.o.self.networkId &&
        roots.some((r) => manifestSignedBy(manifest, r.publicKey, verifySignature)) &&
        manifest.version >= (await this.o.log.newestManifestVersion(manifest.networkId));
      return verified ? manifest : undefined;
    });
    const asked = this.manifest;
    void asked.then(
      (manifest) => {
        if (!manifest) this.manifest = undefined;
      },
      () => {
        this.manifest = undefined;
      },
    );
    return asked;
  }

  private async queue(to: string, receipt: EvidenceReceipt): Promise<void> {
    await this.changeQueue((queued) => [...queued, { to, receipt }]);
    void this.flush().catch(() => undefined);
  }

  /** One change of the stored queue at a time. */
  private changeQueue(change: (queued: QueuedReceipt[]) => QueuedReceipt[]): Promise<void> {
    const run = this.queueing.catch(() => undefined).then(async () => this.setQueued(change(await this.queued())));
    this.queueing = run;
    return run;
  }

  private async queued(): Promise<QueuedReceipt[]> {
    const raw = await this.o.store.getState(OUTBOX);
    return raw ? (JSON.parse(raw) as QueuedReceipt[]) : [];
  }

  private setQueued(queued: QueuedReceipt[]): Promise<void> {
    return this.o.store.setState(OUTBOX, queued.length > 0 ? JSON.stringify(queued) : undefined);
  }
}

function isKeyStoreFailure(error: unknown): boolean {
  return isLiaisonError(error) && error.code.startsWith('KEY_STORE_');
}

function notEvidence(messageId: string, error: unknown): LiaisonError {
  return new LiaisonError(
    'UNTRUSTED_IDENTITY',
    `message ${messageId} is shown but not kept as evidence: its sender's chain did not hold when it says it signed (${(error as Error).message})`,
  );
}
