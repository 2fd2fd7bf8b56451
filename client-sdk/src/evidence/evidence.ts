import {
  type EvidenceReceipt,
  encodeBase64url,
  type MessageContent,
  manifestSignedBy,
  type NetworkManifest,
  type ReceiptsContent,
  type RelayReceipt,
  type TrustedRoot,
} from '@liaison/protocol';
import { type IdentityKeyPair, verifySignature } from '../crypto/keys.js';
import { isLiaisonError, isRetryable, LiaisonError } from '../errors.js';
import type { KeyStore } from '../key-store/key-store.js';
import type { DeviceChain, EvidenceLog } from './evidence-log.js';
import { receiptSigned, relayReceiptSigned, signReceipt } from './receipts.js';
import { type SignedContent, signContent } from './signed-content.js';

const OUTBOX = 'evidence:outbox';

/** Receipts waiting to go back to the contact point whose message they attest. */
interface QueuedReceipt {
  to: string;
  receipt: EvidenceReceipt;
}

export interface EvidenceOptions {
  self: { contactPointId: string; deviceId: string; networkId: string; chain: DeviceChain };
  identity: IdentityKeyPair;
  store: KeyStore;
  log: EvidenceLog;
  trustedRoots: readonly TrustedRoot[];
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
 * network's manifest certifies signed it. All of it goes to the evidence log.
 */
export class Evidence {
  private flushing: Promise<void> | undefined;
  private again = false;
  private queueing: Promise<unknown> = Promise.resolve();
  private manifest: Promise<NetworkManifest | undefined> | undefined;

  constructor(private readonly o: EvidenceOptions) {}

  sign(bytes: Uint8Array): SignedContent {
    return signContent(this.o.identity, bytes);
  }

  /** A message this device sealed (one copy per escalation level), kept before it is sent. */
  async sealed(content: MessageContent, signed: SignedContent): Promise<void> {
    const to = content.to as string;
    await this.o.log.keepChain(this.o.self.chain);
    await this.keepMessage(to, content, signed, this.o.self.contactPointId, this.o.self.deviceId);
  }

  /** The relay's "stored at" for a message this device sent: kept when it verifies, refused and reported when not. */
  async stored(receipt: RelayReceipt | undefined, messageId: string): Promise<void> {
    if (!receipt) return;
    try {
      await this.checkRelayReceipt(receipt, messageId);
    } catch (error) {
      return this.o.report(error);
    }
    if (await this.o.log.addReceipt({ type: 'relay-receipt', receipt })) await this.changed(messageId);
  }

  /**
   * A message received (or a copy of one this contact point sent from another device): kept as
   * signed; when it is for this contact point, a signed `delivered` receipt goes back to its sender.
   */
  async received(content: MessageContent, signed: SignedContent, sender: DeviceChain): Promise<void> {
    const from = sender.contactPoint.contactPointId;
    const peer = from === this.o.self.contactPointId ? (content.to as string) : from;
    await this.o.log.keepChain(sender);
    const added = await this.keepMessage(peer, content, signed, from, sender.device.deviceId);
    if (!added || from === this.o.self.contactPointId) return;
    // This device's own receipt is evidence too: its record shows what it received, and when.
    const receipt = this.receipt('delivered', content.messageId, signed.hash, from);
    await this.o.log.addReceipt({ type: 'receipt', receipt });
    await this.queue(from, receipt);
  }

  /**
   * A person at this contact point acknowledged a message: signed, kept and sent to its sender.
   * Undefined when this device holds no signed copy of it (a room's message, or one received before
   * it kept evidence): the relay's acknowledgement alone then.
   */
  async acknowledged(messageId: string): Promise<void> {
    const index = await this.o.log.message(messageId);
    const hash = index?.hashes[0];
    if (!index || !hash || index.from === this.o.self.contactPointId) return;
    if (!index.readers.includes(this.o.self.contactPointId)) return;
    const receipt = this.receipt('acknowledged', messageId, hash, index.from);
    await this.o.log.addReceipt({ type: 'receipt', receipt });
    await this.queue(index.from, receipt);
    await this.changed(messageId);
  }

  /** Receipts a device sent back: each verified against the message it names, kept, or refused and reported. */
  async receipts(content: ReceiptsContent, sender: DeviceChain): Promise<void> {
    await this.o.log.keepChain(sender);
    for (const receipt of content.receipts) {
      try {
        await this.checkReceipt(receipt, sender);
      } catch (error) {
        await this.o.report(error);
        continue;
      }
      if (await this.o.log.addReceipt({ type: 'receipt', receipt })) {
        await this.o.receiptKept(receipt);
        await this.changed(receipt.messageId);
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
        if (isRetryable(error) || (isLiaisonError(error) && error.code.startsWith('KEY_STORE_'))) throw error;
        await this.o.report(error);
      }
      const sent = new Set(batch.map((q) => q.receipt.signature));
      await this.changeQueue((queued) => queued.filter((q) => !sent.has(q.receipt.signature)));
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
  ): Promise<boolean> {
    const requestId = content.request?.op === 'open' ? content.messageId : content.request?.requestId;
    const added = await this.o.log.addMessage(
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
    if (!added || !requestId) return added;
    if (content.request?.op === 'open') await this.o.log.noteRequest(requestId, peer);
    await this.o.requestChanged(requestId);
    return true;
  }

  private async changed(messageId: string): Promise<void> {
    const requestId = (await this.o.log.message(messageId))?.requestId;
    if (requestId) await this.o.requestChanged(requestId);
  }

  private async checkReceipt(receipt: EvidenceReceipt, sender: DeviceChain): Promise<void> {
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
  }

  private async checkRelayReceipt(receipt: RelayReceipt, messageId: string): Promise<void> {
    const refuse = (why: string) =>
      new LiaisonError('BAD_SIGNATURE', `the relay's receipt for message ${messageId} ${why}`);
    if (
      receipt.messageId !== messageId ||
      receipt.senderContactPoint !== this.o.self.contactPointId ||
      receipt.senderDevice !== this.o.self.deviceId ||
      receipt.networkId !== this.o.self.networkId
    )
      throw refuse('is about another message, sender or network');
    if (!relayReceiptSigned(receipt)) throw refuse('is not signed by the key it names');
    const manifest = await this.relayManifest();
    if (!manifest?.relays.some((r) => r.signingKey === receipt.relayKey))
      throw refuse("is signed by a key that no manifest of the network's root certifies");
    await this.o.log.keepManifest(manifest);
  }

  /** The relay's manifest, once it verifies under a root of this device's network; asked for once per run. */
  private relayManifest(): Promise<NetworkManifest | undefined> {
    this.manifest ??= this.o.fetchManifest().then((manifest) => {
      const roots = this.o.trustedRoots.filter((r) => r.networkId === this.o.self.networkId);
      const verified =
        manifest?.networkId === this.o.self.networkId &&
        roots.some((r) => manifestSignedBy(manifest, r.publicKey, verifySignature));
      return verified ? manifest : undefined;
    });
    this.manifest.catch(() => {
      this.manifest = undefined;
    });
    return this.manifest;
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
