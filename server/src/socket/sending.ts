import type { Envelope, SendRequest, SendResult } from '@liaison/protocol';
import type { DeviceIdentity } from '../auth/authenticator.js';
import { Batcher } from '../batcher.js';
import { RelayError } from '../errors.js';
import { CrashSwitch } from '../fault-injection.js';
import type { RelayDeps } from '../relay-deps.js';
import { currentDevicesOf, deviceChain } from '../storage/directory.js';
import {
  acknowledgeDeliveries,
  fullQueues,
  type MessageToStore,
  type RoutedReceipt,
  sendContext,
  storedMessages,
  storeMessages,
  waitingDevices,
} from '../storage/messages.js';
import { escalationChainOf, type PlannedLevel } from '../storage/urgent.js';
import { publishUrgent } from '../urgent/publish.js';
import type { OfferedEnvelope } from './delivery-hub.js';
import type { SendOrder } from './send-order.js';

/** Contact points of partner networks, with their network and current devices as their relays last showed them. */
type ForeignDevices = Map<string, { networkId: string; devices: string[] }>;

/** Sends, and deliveries acknowledged, taken together in one database round trip each. */
const MAX_BATCH = 256;

interface Send {
  sender: DeviceIdentity;
  request: SendRequest;
  /** What the sender's connection knows of its envelopes at each device (send-order.ts). */
  order: SendOrder;
}

/**
 * The write path of messages. A send is stored only if it covers exactly the devices that must
 * get it: every current device of the recipient and every other device of the sender at level 0,
 * and for an urgent message the current devices of each escalation member at its level. Then it
 * is stored durably, then acknowledged, then pushed. Normal sends of all devices are validated and
 * stored in batches (group commit); each sender is answered after the commit of its batch.
 */
export class Sending {
  private readonly normal = new Batcher<Send, SendResult>((sends) => this.storeNormal(sends), MAX_BATCH);
  private readonly acks = new Batcher<
    { device: DeviceIdentity; messageIds: readonly string[] },
    { deleted: number; receipts: RoutedReceipt[] }
  >((requests) => acknowledgeDeliveries(this.deps.db, requests, this.deps.config.now()), MAX_BATCH);

  private readonly crash: CrashSwitch;

  constructor(private readonly deps: RelayDeps) {
    this.crash = new CrashSwitch(deps.config.crashPlan);
    if (deps.config.crashPlan) {
      deps.log.warn({ event: 'fault.armed', ...deps.config.crashPlan }, 'fault injection: this node will kill itself');
    }
  }

  async send(sender: DeviceIdentity, request: SendRequest, order: SendOrder): Promise<SendResult> {
    try {
      await this.deps.limits.take(`send:${sender.deviceId}`, this.deps.config.sendsPerMinute, { failOpen: true });
      const result =
        request.priority === 'urgent'
          ? await this.sendUrgent({ sender, request, order })
          : await this.normal.submit({ sender, request, order });
      return this.withReceipt(sender, result);
    } catch (error) {
      // Refused, or failed with the commit's outcome unknown: whatever was stored was offered to nobody.
      order.unsure();
      throw error;
    }
  }

  /**
   * The result with the relay's signed "stored at", when its network's manifest certifies its key.
   * Signed here, once per result of every path (a batch, an urgent send, a retry), outside the
   * batch's commit: a retry's `serverTime` is the first commit's, so its receipt says the same.
   */
  private withReceipt(sender: DeviceIdentity, result: SendResult): SendResult {
    const receipts = this.deps.federation?.receipts;
    if (!receipts) return result;
    const stored = receipts.sign({
      messageId: result.messageId,
      senderContactPoint: sender.contactPointId,
      senderDevice: sender.deviceId,
      storedAt: result.serverTime,
    });
    return { ...result, stored };
  }

  /** A device stored these envelopes: delete them, tell their senders. Returns how many were deleted. */
  async delivered(device: DeviceIdentity, messageIds: readonly string[]): Promise<number> {
    const { deleted, receipts } = await this.acks.submit({ device, messageIds });
    this.deps.metrics.envelopesDelivered.inc(deleted);
    for (const { to, receipt } of receipts) this.deps.hub.receipt(to, receipt);
    return deleted;
  }

  private async storeNormal(sends: Send[]): Promise<(SendResult | Error)[]> {
    const { db, config } = this.deps;
    const now = config.now();
    // One record per send, answered as the batch goes.
    const entries: { send: Send; result?: SendResult | Error }[] = sends.map((send) => ({ send }));
    const idOf = (entry: { send: Send }) => entry.send.request.messageId;
    const contactPointIds = sends.flatMap((s) => [...recipientsOf(s.request), s.sender.contactPointId]);
    // One read for the whole batch: what is stored already, the devices, and the queues that are full.
    const context = await sendContext(db, {
      messageIds: entries.map(idOf),
      contactPointIds,
      deviceIds: sends.flatMap((s) => s.request.envelopes.map((e) => e.recipientDevice)),
      maxQueued: config.maxQueuedEnvelopes,
      now,
    });
    // Retries of messages stored before are answered as the first time, whatever changed since.
    const before = context.stored;
    const { devices, foreign } = await this.devicesOf(contactPointIds, now, context.devices);
    const candidates: typeof entries = [];
    const later: typeof entries = [];
    const taken = new Set<string>();
    for (const entry of entries) {
      const { sender, request } = entry.send;
      const stored = before.get(request.messageId);
      if (stored) {
        entry.result = retried(entry.send, stored);
      } else if (taken.has(request.messageId)) {
        // The same id twice in one batch: the first is stored, this one is answered as its retry.
        later.push(entry);
      } else {
        try {
          checkCoverage(request, expectedCopies(sender, request, devices));
          taken.add(request.messageId);
          candidates.push(entry);
        } catch (error) {
          if (!(error instanceof RelayError)) throw error;
          entry.result = error;
        }
      }
    }
    const full = context.full;
    const storable = candidates.filter((entry) => {
      const fullHere = entry.send.request.envelopes.filter((e) => full.has(e.recipientDevice)).length;
      if (fullHere > 0) {
        entry.result = new RelayError(
          'QUOTA_EXCEEDED',
          `${fullHere} recipient device(s) hold ${config.maxQueuedEnvelopes} undelivered envelopes already`,
        );
      }
      return fullHere === 0;
    });
    const routed = await Promise.all(storable.map((entry) => this.routed(entry.send, foreign)));
    const inserted = routed.length > 0 ? await storeMessages(db, routed, now, config.envelopeTtlMs) : new Set<string>();
    const batch = storable.length > 0 ? this.crash.committed() : 0;
    const committed: OfferedEnvelope[] = [];
    for (const [i, entry] of storable.entries()) {
      const { sender, order } = entry.send;
      // The envelopes stored here; those for partner networks went to the outbox.
      const request = routed[i]?.request ?? entry.send.request;
      if (!inserted.has(request.messageId)) {
        // Stored by another node between our look and our insert.
        later.push(entry);
        continue;
      }
      entry.result = { messageId: request.messageId, serverTime: now, duplicate: false };
      for (const e of request.envelopes) {
        const envelope: Envelope = {
          messageId: request.messageId,
          senderContactPoint: sender.contactPointId,
          senderDevice: sender.deviceId,
          recipientDevice: e.recipientDevice,
          kind: e.kind,
          priority: 'normal',
          ciphertext: e.ciphertext,
          createdAt: request.createdAt,
          serverTime: now,
          escalationLevel: 0,
        };
        committed.push({ envelope, inOrder: order.follows(e.recipientDevice) });
      }
      order.stored(request.envelopes.map((e) => e.recipientDevice));
    }
    if (later.length > 0) {
      const stored = await storedMessages(db, later.map(idOf));
      for (const entry of later) entry.result = retried(entry.send, stored.get(idOf(entry)));
    }
    // A retry answered `duplicate` may be all that is left of a send whose node died after its
    // commit, before any push or notice: the devices still waiting for it look again, as for a new
    // send, and the sender's next envelopes to them are read from storage behind it. The devices
    // are the stored ones, never those a retry names: a client cannot make other queues read.
    const retries = entries.filter((entry) => isDuplicate(entry.result)).map((entry) => entry.send);
    const waiting = await waitingDevices(
      db,
      retries.map((s) => s.request.messageId),
    );
    const retriedTo = new Set<string>();
    for (const { request, order } of retries) {
      const devices = waiting.get(request.messageId) ?? [];
      order.unsure(devices);
      for (const d of devices) retriedTo.add(d);
    }
    this.deps.metrics.envelopesStored.inc(committed.length);
    if (routed.some((m) => m.forwards && inserted.has(m.request.messageId))) this.deps.federation?.nudge();
    // Pushed once the senders' acknowledgements (sent as this batch's promises resolve) are on their way.
    setImmediate(() => {
      this.crash.noticing(batch);
      if (retriedTo.size > 0) this.deps.hub.envelopesStored([...retriedTo]);
      this.deps.hub.envelopesCommitted(committed);
    });
    return entries.map((entry) => entry.result ?? new RelayError('INTERNAL', 'internal error'));
  }

  /** Urgent sends are rare and carry levels: validated and stored one at a time, with their timers. */
  private async sendUrgent(send: Send): Promise<SendResult> {
    const { sender, request } = send;
    const { config, db } = this.deps;
    const now = config.now();
    const previous = (await storedMessages(db, [request.messageId])).get(request.messageId);
    if (previous) return await this.answerRetry(send, previous);
    const { min, max } = config.urgentAcknowledgeWithinMs;
    const within = request.acknowledgeWithinMs ?? 0;
    if (within < min || within > max) {
      throw new RelayError(
        'INVALID_INPUT',
        `this relay accepts ${min / 1000} s to ${max / 1000} s to acknowledge each level of an urgent message`,
        { path: 'acknowledgeWithinMs' },
      );
    }
    // The schema holds urgent messages to one recipient.
    const recipient = request.recipient as string;
    const foreignEntry = (await currentDevicesOf(db, [recipient], now)).has(recipient)
      ? undefined
      : await this.deps.federation?.directory.entry(recipient);
    // A partner network's contact point escalates on its own relay, against the chain its authority signed.
    const chain = foreignEntry
      ? foreignEntry.entry.contactPoint.escalationChain
      : await escalationChainOf(db, recipient);
    // A sender named in the chain holds the message already: escalating to them would reach nobody new.
    const members = chain.filter((m) => m !== sender.contactPointId);
    const { devices, foreign } = await this.devicesOf([recipient, sender.contactPointId, ...members], now);
    const expected = expectedCopies(sender, request, devices);
    const levels: PlannedLevel[] = [{ contactPointId: recipient, devices: devices.get(recipient)?.length ?? 0 }];
    for (const [i, member] of chain.entries()) {
      const memberDevices = member === sender.contactPointId ? [] : (devices.get(member) ?? []);
      for (const d of memberDevices) expected.set(d, i + 1);
      levels.push({ contactPointId: member, devices: memberDevices.length });
    }
    checkCoverage(request, expected);
    const given = request.envelopes.map((e) => e.recipientDevice);
    const full = await fullQueues(db, given, config.maxQueuedEnvelopes);
    if (full.length > 0) {
      throw new RelayError(
        'QUOTA_EXCEEDED',
        `${full.length} recipient device(s) hold ${config.maxQueuedEnvelopes} undelivered envelopes already`,
      );
    }
    // Counted only once the send is otherwise acceptable, so that a client's retries after a device change are free.
    await this.deps.limits.take(`urgent:${sender.contactPointId}`, config.urgentSendsPerHour, {
      windowMs: 3600_000,
      failOpen: true,
    });
    const message = await this.routed(send, foreign);
    const stored = await storeMessages(
      db,
      [{ ...message, ...(!foreignEntry && { levels }) }],
      now,
      config.envelopeTtlMs,
    );
    if (!stored.has(request.messageId)) {
      // Stored between our look and our insert: a retry through another node, or another sender's id.
      return await this.answerRetry(send, (await storedMessages(db, [request.messageId])).get(request.messageId));
    }
    this.deps.metrics.envelopesStored.inc(message.request.envelopes.length);
    this.deps.hub.envelopesStored(
      message.request.envelopes.filter((e) => e.escalationLevel === 0).map((e) => e.recipientDevice),
    );
    if (message.forwards) this.deps.federation?.nudge();
    else await publishUrgent(this.deps, [request.messageId]);
    return { messageId: request.messageId, serverTime: now, duplicate: false };
  }

  /**
   * Current devices of these contact points: ours from the database, and those of partner networks
   * as their relays last showed them (`foreign` says which, and of which network).
   */
  private async devicesOf(
    contactPointIds: readonly string[],
    now: number,
    /** Ours, when the caller read them already. */
    local?: Map<string, string[]>,
  ): Promise<{ devices: Map<string, string[]>; foreign: ForeignDevices }> {
    const devices = local ?? (await currentDevicesOf(this.deps.db, contactPointIds, now));
    const unknown = contactPointIds.filter((id) => !devices.has(id));
    const foreign: ForeignDevices =
      unknown.length > 0 && this.deps.federation ? await this.deps.federation.directory.devicesOf(unknown) : new Map();
    for (const [id, { devices: theirs }] of foreign) devices.set(id, theirs);
    return { devices, foreign };
  }

  /**
   * The message as stored here: the envelopes for our devices, and for each partner network the
   * message cut down to that network's envelopes and recipients, with the sender's certificate
   * chain, for its relay.
   */
  private async routed(send: Send, foreign: ForeignDevices): Promise<MessageToStore> {
    const { sender, request } = send;
    const networkOf = new Map<string, string>();
    for (const { networkId, devices } of foreign.values()) for (const d of devices) networkOf.set(d, networkId);
    const byNetwork = new Map<string, SendRequest['envelopes']>();
    for (const e of request.envelopes) {
      const networkId = networkOf.get(e.recipientDevice);
      if (networkId) byNetwork.set(networkId, [...(byNetwork.get(networkId) ?? []), e]);
    }
    if (byNetwork.size === 0) return { sender, request };
    const chain = await deviceChain(this.deps.db, sender.deviceId);
    if (!chain) throw new RelayError('UNAUTHENTICATED', 'this device is no longer registered');
    const forwards = [...byNetwork].map(([networkId, envelopes]) => {
      const theirs = (id: string) => foreign.get(id)?.networkId === networkId;
      const addressed = request.recipients
        ? { recipients: request.recipients.filter(theirs) }
        : { recipient: request.recipient as string };
      const { recipient: _recipient, recipients: _recipients, ...rest } = request;
      return {
        networkId,
        message: { kind: 'message' as const, sender: chain, request: { ...rest, ...addressed, envelopes } },
      };
    });
    const local = request.envelopes.filter((e) => !networkOf.has(e.recipientDevice));
    return { sender, request: { ...request, envelopes: local }, forwards };
  }

  /**
   * An urgent send stored before: answered as the first time, and the devices still waiting for
   * it look again, as above (held levels are the escalation's to release).
   */
  private async answerRetry(
    send: Send,
    stored: { senderDevice: string; serverTime: number } | undefined,
  ): Promise<SendResult> {
    const result = retried(send, stored);
    if (result instanceof Error) throw result;
    const devices = (await waitingDevices(this.deps.db, [send.request.messageId])).get(send.request.messageId) ?? [];
    send.order.unsure(devices);
    if (devices.length > 0) this.deps.hub.envelopesStored(devices);
    return result;
  }
}

const isDuplicate = (result: SendResult | Error | undefined) =>
  result !== undefined && !(result instanceof Error) && result.duplicate;

/** The contact points a message is addressed to: its one recipient, or each of its recipients. */
function recipientsOf(request: SendRequest): string[] {
  return request.recipients ?? (request.recipient === undefined ? [] : [request.recipient]);
}

/** Level 0: every current device of each recipient, and the sender's other devices. */
function expectedCopies(
  sender: DeviceIdentity,
  request: SendRequest,
  devices: Map<string, string[]>,
): Map<string, number> {
  const expected = new Map<string, number>();
  for (const recipient of recipientsOf(request)) {
    const recipientDevices = devices.get(recipient);
    if (!recipientDevices) throw new RelayError('NOT_FOUND', `no contact point "${recipient}"`);
    if (recipientDevices.length === 0) throw new RelayError('NOT_FOUND', `"${recipient}" has no registered device`);
    // The sender's own device is never a recipient, even of a message to its own contact point.
    for (const d of recipientDevices) if (d !== sender.deviceId) expected.set(d, 0);
  }
  for (const d of devices.get(sender.contactPointId) ?? []) if (d !== sender.deviceId) expected.set(d, 0);
  return expected;
}

/** The envelopes must be exactly the expected devices, each at its level. */
function checkCoverage(request: SendRequest, expected: Map<string, number>): void {
  const given = new Map(request.envelopes.map((e) => [e.recipientDevice, e.escalationLevel]));
  const missingDevices = [...expected].filter(([d, level]) => given.get(d) !== level).map(([d]) => d);
  const extraDevices = [...given].filter(([d, level]) => expected.get(d) !== level).map(([d]) => d);
  if (missingDevices.length > 0 || extraDevices.length > 0) {
    throw new RelayError('DEVICE_MISMATCH', 'the envelopes do not match the current devices and their levels', {
      missingDevices,
      extraDevices,
    });
  }
}

/** The answer to a message id that is stored already: the first result for its sender, a conflict for anyone else. */
function retried(send: Send, stored: { senderDevice: string; serverTime: number } | undefined): SendResult | Error {
  if (!stored) return new RelayError('INTERNAL', 'internal error');
  if (stored.senderDevice !== send.sender.deviceId) {
    return new RelayError('CONFLICT', 'this message id is already used by another sender');
  }
  return { messageId: send.request.messageId, serverTime: stored.serverTime, duplicate: true };
}
