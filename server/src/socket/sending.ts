import type { Envelope, SendRequest, SendResult, UrgentState } from '@liaison/protocol';
import type { DeviceIdentity } from '../auth/authenticator.js';
import { Batcher } from '../batcher.js';
import { RelayError } from '../errors.js';
import { CrashSwitch } from '../fault-injection.js';
import type { RelayDeps } from '../relay-deps.js';
import { currentDevicesOf, deviceChain } from '../storage/directory.js';
import type { ForeignEntry } from '../storage/foreign.js';
import {
  acknowledgeDeliveries,
  type MessageToStore,
  sendContext,
  storedMessages,
  storeMessages,
  waitingDevices,
} from '../storage/messages.js';
import { type PlannedLevel, startedState } from '../storage/urgent.js';
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
  /**
   * Urgent only: the recipient as a partner network's relay shows it, looked up before the send
   * joins a batch (undefined: not a partner network's; an Error: the look-up failed).
   */
  foreign?: ForeignEntry | Error;
}

/**
 * The write path of messages. A send is stored only if it covers exactly the devices that must
 * get it: every current device of the recipient and every other device of the sender at level 0,
 * and for an urgent message the current devices of each escalation member at its level. Then it
 * is stored durably, then acknowledged, then pushed. Sends of all devices are validated and
 * stored in batches (group commit), urgent ones in batches of their own; each sender is answered
 * after the commit of its batch.
 */
export class Sending {
  private readonly normal = new Batcher<Send, SendResult>((sends) => this.storeNormal(sends), MAX_BATCH);
  private readonly urgent = new Batcher<Send, SendResult>((sends) => this.storeUrgentApart(sends), MAX_BATCH);
  /** Each urgent send's take of its contact point's urgent limit: taken once, even if its batch is tried again. */
  private readonly urgentTokens = new WeakMap<Send, Promise<void>>();
  private readonly acks = new Batcher<{ device: DeviceIdentity; messageIds: readonly string[] }, number>(
    (requests) => this.acknowledge(requests),
    MAX_BATCH,
  );

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
          ? await this.urgent.submit({ sender, request, order, foreign: await this.foreignRecipient(request) })
          : await this.normal.submit({ sender, request, order });
      return this.withReceipt(sender, result);
    } catch (error) {
      // Refused, or failed with the commit's outcome unknown: whatever was stored was offered to nobody.
      order.unsure();
      throw error;
    }
  }

  /**
   * An urgent send's recipient in a partner network, looked up here, per send, before its batch:
   * the look-up may wait for the partner's relay (up to its timeout, relay after relay), and inside
   * the batch it held every other urgent send of this node behind it (review #25, finding 1). Only
   * ids a partner's manifest owns are asked for; the batch still prefers a contact point of ours.
   */
  private async foreignRecipient(request: SendRequest): Promise<ForeignEntry | Error | undefined> {
    const federation = this.deps.federation;
    const recipient = request.recipient;
    if (!federation || recipient === undefined || federation.partners.ownerOf(recipient) === undefined)
      return undefined;
    // A failed look-up fails this send alone.
    return federation.directory.entry(recipient).then(
      (found) => found,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
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
    const deleted = await this.acks.submit({ device, messageIds });
    this.deps.metrics.envelopesDelivered.inc(deleted);
    return deleted;
  }

  /**
   * One batch of acknowledgements, from any devices: one statement, then the receipts it made, one
   * `receipts` event per sender's contact point for the whole batch (a receipt each was a quarter
   * of the relay's frames, issue #25).
   */
  private async acknowledge(requests: { device: DeviceIdentity; messageIds: readonly string[] }[]): Promise<number[]> {
    const results = await acknowledgeDeliveries(this.deps.db, requests, this.deps.config.now());
    this.deps.hub.receipts(results.flatMap((r) => r.receipts));
    return results.map((r) => r.deleted);
  }

  private async storeNormal(sends: Send[]): Promise<(SendResult | Error)[]> {
    const { db, config } = this.deps;
    const now = config.now();
    const { entries, fresh, devices, foreign, full } = await this.setUp(sends, now, false);
    const candidates: Entry[] = [];
    for (const entry of fresh) {
      const { sender, request } = entry.send;
      try {
        checkCoverage(request, expectedCopies(sender, request, devices));
        candidates.push(entry);
      } catch (error) {
        if (!(error instanceof RelayError)) throw error;
        entry.result = error;
      }
    }
    // The same id twice in one batch: the first that passed every check is stored, the others are
    // answered as its retries (a refused first must not leave a valid second the retry of nothing).
    const later: Entry[] = [];
    const taken = new Set<string>();
    const storable = candidates.filter((entry) => {
      const refused = fullQueueRefusal(entry.send.request, full, config.maxQueuedEnvelopes);
      if (refused) {
        entry.result = refused;
        return false;
      }
      if (taken.has(idOf(entry))) {
        later.push(entry);
        return false;
      }
      taken.add(idOf(entry));
      return true;
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
        committed.push({ envelope: offered(sender, request, e, now), inOrder: order.follows(e.recipientDevice) });
      }
      order.stored(request.envelopes.map((e) => e.recipientDevice));
    }
    const retriedTo = await this.answerRetries(entries, later);
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

  /**
   * The set-up both paths share. One read for the whole batch (sendContext): what is stored
   * already, the current devices, the queues that are full, and for urgent sends the recipients'
   * escalation chains and their members' devices. Retries of messages stored before are answered
   * as the first time, whatever changed since, and so are urgent sends whose time to acknowledge is
   * out of this relay's bounds; the rest are `fresh`. `devices` holds the current devices of every
   * contact point a fresh send concerns (recipients, sender, urgent chain members), those of
   * partner networks as their relays last showed them (`foreign` says which); `local` says which
   * are ours.
   */
  private async setUp(sends: Send[], readAt: number, urgent: boolean) {
    const { db, config } = this.deps;
    const entries: Entry[] = sends.map((send) => ({ send }));
    const recipients = sends.flatMap((s) => recipientsOf(s.request));
    const context = await sendContext(db, {
      messageIds: entries.map(idOf),
      // A partner network's recipient escalates along the chain its authority signed, which may name ours.
      contactPointIds: [
        ...recipients,
        ...sends.map((s) => s.sender.contactPointId),
        ...(urgent ? sends.flatMap(foreignChain) : []),
      ],
      deviceIds: sends.flatMap((s) => s.request.envelopes.map((e) => e.recipientDevice)),
      ...(urgent && { chainsOf: recipients }),
      maxQueued: config.maxQueuedEnvelopes,
      now: readAt,
    });
    const fresh: Entry[] = [];
    for (const entry of entries) {
      const stored = context.stored.get(idOf(entry));
      const refused = stored || !urgent ? undefined : this.outOfBounds(entry.send.request);
      if (stored) entry.result = retried(entry.send, stored);
      else if (refused) entry.result = refused;
      else fresh.push(entry);
    }
    // Taken before partner networks' devices join the map.
    const local = new Set(context.devices.keys());
    const { chains } = context;
    const { devices, foreign } = await this.devicesOf(
      fresh.flatMap(({ send }) => [
        ...recipientsOf(send.request),
        send.sender.contactPointId,
        ...(urgent ? chainOf(send, local, chains) : []),
      ]),
      readAt,
      context.devices,
    );
    return { entries, fresh, devices, foreign, full: context.full, local, chains };
  }

  /** An urgent send's time to acknowledge each level, if it is out of this relay's bounds. */
  private outOfBounds(request: SendRequest): RelayError | undefined {
    const { min, max } = this.deps.config.urgentAcknowledgeWithinMs;
    const within = request.acknowledgeWithinMs ?? 0;
    if (within >= min && within <= max) return undefined;
    return new RelayError(
      'INVALID_INPUT',
      `this relay accepts ${min / 1000} s to ${max / 1000} s to acknowledge each level of an urgent message`,
      { path: 'acknowledgeWithinMs' },
    );
  }

  /**
   * Answers the sends found stored by someone else at insert time, or sent twice in the batch, as
   * retries. A retry answered `duplicate` may be all that is left of a send whose node died after
   * its commit, before any push or notice: the devices still waiting for it look again, as for a
   * new send, and the sender's next envelopes to them are read from storage behind it (held levels
   * are the escalation's to release). The devices are the stored ones, never those a retry names:
   * a client cannot make other queues read. Returns those devices.
   */
  private async answerRetries(entries: Entry[], later: Entry[]): Promise<Set<string>> {
    const { db } = this.deps;
    if (later.length > 0) {
      const stored = await storedMessages(db, later.map(idOf));
      for (const entry of later) entry.result = retried(entry.send, stored.get(idOf(entry)));
    }
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
    return retriedTo;
  }

  /** An urgent batch, or if it fails as a whole, each of its sends on its own (see the comment inside). */
  private async storeUrgentApart(sends: Send[]): Promise<(SendResult | Error)[]> {
    try {
      return await this.storeUrgent(sends);
    } catch (error) {
      if (sends.length === 1) throw error;
      // The batch failed as a whole (its transaction, or an error that is no refusal): its sends
      // are tried again one by one, each in its own transaction, so that one send's failure is its
      // own alone, as before batching (review #25, finding 3). Retried rather than taking the urgent
      // tokens after the commit: the limit must refuse a send before it is stored. A token is taken
      // once per send over both tries (urgentToken); a send the batch stored is answered as its retry.
      this.deps.log.warn(
        { event: 'urgent.batch-failed', sends: sends.length },
        'an urgent batch failed; its sends are tried one by one',
      );
      const results: (SendResult | Error)[] = [];
      for (const send of sends) {
        try {
          results.push(...(await this.storeUrgent([send])));
        } catch (alone) {
          results.push(alone instanceof Error ? alone : new Error(String(alone)));
        }
      }
      return results;
    }
  }

  /** Takes one of the sender's contact point's urgent tokens for this send, or the outcome of the first take. */
  private urgentToken(send: Send): Promise<void> {
    let taken = this.urgentTokens.get(send);
    if (!taken) {
      taken = this.deps.limits.take(`urgent:${send.sender.contactPointId}`, this.deps.config.urgentSendsPerHour, {
        windowMs: 3600_000,
        failOpen: true,
      });
      this.urgentTokens.set(send, taken);
    }
    return taken;
  }

  /**
   * Urgent sends, batched as normal ones are (a batcher of their own: they carry levels and
   * timers, and the normal path stays as lean as it is). Each send is checked as it would be alone
   * (the time to acknowledge within the relay's bounds, the recipient's escalation chain, coverage
   * of every level, full queues, the urgent rate limit of its contact point) and answered on its
   * own; those that pass are stored together, each message with its levels and timer, in one
   * transaction.
   */
  private async storeUrgent(sends: Send[]): Promise<(SendResult | Error)[]> {
    const { config, db } = this.deps;
    // Devices are read as valid at this time; the time stored (the answer's, the receipt's, level
    // 0's deadline) is taken after the reads, just before the insert.
    const readAt = config.now();
    const { entries, fresh, devices, foreign, full, local, chains } = await this.setUp(sends, readAt, true);
    // A partner network's contact point escalates on its own relay, against the chain its authority
    // signed; it was looked up before the batch (foreignRecipient). One of ours comes first.
    const checked: { entry: Entry; levels: PlannedLevel[]; foreignRecipient: boolean }[] = [];
    for (const entry of fresh) {
      const { sender, request } = entry.send;
      const recipient = recipientOf(entry.send);
      const lookedUp = foreignOf(entry.send, local);
      if (lookedUp instanceof Error) {
        entry.result = lookedUp;
        continue;
      }
      try {
        const chain = chainOf(entry.send, local, chains);
        const expected = expectedCopies(sender, request, devices);
        const levels: PlannedLevel[] = [{ contactPointId: recipient, devices: devices.get(recipient)?.length ?? 0 }];
        // A sender named in the chain holds the message already: escalating to them would reach nobody new.
        for (const [i, member] of chain.entries()) {
          const memberDevices = member === sender.contactPointId ? [] : (devices.get(member) ?? []);
          for (const d of memberDevices) expected.set(d, i + 1);
          levels.push({ contactPointId: member, devices: memberDevices.length });
        }
        checkCoverage(request, expected);
        checked.push({ entry, levels, foreignRecipient: lookedUp !== undefined });
      } catch (error) {
        if (!(error instanceof RelayError)) throw error;
        entry.result = error;
      }
    }
    const later: Entry[] = [];
    const acceptable = checked.filter(({ entry }) => {
      const refused = fullQueueRefusal(entry.send.request, full, config.maxQueuedEnvelopes);
      if (refused) entry.result = refused;
      return refused === undefined;
    });
    // A message id is stored once: of the sends that passed every check above, the first (in
    // arrival order) whose urgent token is taken is stored, the others with its id are answered as
    // its retries. Decided only now, so that a send refused above never turns another sender's
    // valid send with the same id into the retry of nothing (review #25, finding 2).
    const byId = new Map<string, typeof acceptable>();
    for (const item of acceptable) byId.set(idOf(item.entry), [...(byId.get(idOf(item.entry)) ?? []), item]);
    // Counted only once the send is otherwise acceptable, so that a client's retries after a device change are free.
    const storable = (
      await Promise.all(
        [...byId.values()].map(async (items) => {
          for (const [i, item] of items.entries()) {
            try {
              await this.urgentToken(item.entry.send);
              const message = await this.routed(item.entry.send, foreign);
              for (const other of items.slice(i + 1)) later.push(other.entry);
              return { ...item, message };
            } catch (error) {
              if (!(error instanceof RelayError)) throw error;
              item.entry.result = error;
            }
          }
          return undefined;
        }),
      )
    ).filter((item) => item !== undefined);
    const now = config.now();
    const inserted =
      storable.length > 0
        ? await storeMessages(
            db,
            storable.map(({ message, levels, foreignRecipient }) => ({
              ...message,
              ...(!foreignRecipient && { levels }),
            })),
            now,
            config.envelopeTtlMs,
          )
        : new Set<string>();
    const committed: OfferedEnvelope[] = [];
    const started: { state: UrgentState; recipient: string }[] = [];
    let forwarded = false;
    for (const { entry, message, levels } of storable) {
      const { sender, order } = entry.send;
      const { request } = message;
      if (!inserted.has(request.messageId)) {
        // Stored between our look and our insert: a retry through another node, or another sender's id.
        later.push(entry);
        continue;
      }
      entry.result = { messageId: request.messageId, serverTime: now, duplicate: false };
      // Level 0 is offered to its devices as a normal message is (the envelope as storage holds
      // it, with its deadline); later levels stay held for the escalation to release.
      const released = request.envelopes.filter((e) => e.escalationLevel === 0);
      const deadline = now + (request.acknowledgeWithinMs ?? 0);
      for (const e of released) {
        committed.push({
          envelope: offered(sender, request, e, now, deadline),
          inOrder: order.follows(e.recipientDevice),
        });
      }
      order.stored(released.map((e) => e.recipientDevice));
      // As before batching, a message with copies for partner relays is not announced here: a
      // recipient of a partner network escalates on its relay, which reports the state.
      if (message.forwards) forwarded = true;
      else {
        const { acknowledgeWithinMs = 0 } = request;
        const start = {
          messageId: request.messageId,
          senderContactPoint: sender.contactPointId,
          acknowledgeWithinMs,
          levels,
        };
        started.push({ state: startedState(start, now), recipient: recipientOf(entry.send) });
      }
    }
    const retriedTo = await this.answerRetries(entries, later);
    this.deps.metrics.envelopesStored.inc(
      storable.reduce(
        (n, { message }) => n + (inserted.has(message.request.messageId) ? message.request.envelopes.length : 0),
        0,
      ),
    );
    if (forwarded) this.deps.federation?.nudge();
    // Everyone it concerns learns its state before the sender's answer, as after every step
    // (urgent/publish.ts), but from what was just written rather than a read: level 0 is all it has reached.
    for (const { state, recipient } of started) this.deps.hub.urgent([state.senderContactPoint, recipient], state);
    // Pushed once the senders' acknowledgements (sent as this batch's promises resolve) are on their way.
    setImmediate(() => {
      if (retriedTo.size > 0) this.deps.hub.envelopesStored([...retriedTo]);
      this.deps.hub.envelopesCommitted(committed);
    });
    return entries.map((entry) => entry.result ?? new RelayError('INTERNAL', 'internal error'));
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
}

/** A send of a batch and, once decided, its answer. */
interface Entry {
  send: Send;
  result?: SendResult | Error;
}

const idOf = (entry: Entry) => entry.send.request.messageId;

/** An urgent send's one recipient (the schema holds urgent messages to one recipient). */
const recipientOf = (send: Send) => send.request.recipient as string;

/** An urgent send's recipient in a partner network, when it is not a contact point of ours. */
const foreignOf = (send: Send, local: ReadonlySet<string>) => (local.has(recipientOf(send)) ? undefined : send.foreign);

/** The escalation chain of an urgent send's recipient: ours as stored here, a partner's as its relay shows it. */
function chainOf(send: Send, local: ReadonlySet<string>, chains: Map<string, string[]>): readonly string[] {
  const foreignEntry = foreignOf(send, local);
  if (foreignEntry instanceof Error) return [];
  return foreignEntry ? foreignEntry.entry.contactPoint.escalationChain : (chains.get(recipientOf(send)) ?? []);
}

/** The chain a partner network's relay shows for an urgent send's recipient, if it was looked up. */
const foreignChain = (send: Send): readonly string[] =>
  send.foreign && !(send.foreign instanceof Error) ? send.foreign.entry.contactPoint.escalationChain : [];

/** The refusal of a send with an envelope for a device whose queue is full. */
function fullQueueRefusal(request: SendRequest, full: ReadonlySet<string>, max: number): RelayError | undefined {
  const fullHere = request.envelopes.filter((e) => full.has(e.recipientDevice)).length;
  if (fullHere === 0) return undefined;
  return new RelayError('QUOTA_EXCEEDED', `${fullHere} recipient device(s) hold ${max} undelivered envelopes already`);
}

/** An envelope of a stored message as it is offered to its device (urgent level 0: with its deadline). */
function offered(
  sender: DeviceIdentity,
  request: SendRequest,
  e: SendRequest['envelopes'][number],
  serverTime: number,
  deadline?: number,
): Envelope {
  const envelope: Envelope = {
    messageId: request.messageId,
    senderContactPoint: sender.contactPointId,
    senderDevice: sender.deviceId,
    recipientDevice: e.recipientDevice,
    kind: e.kind,
    priority: deadline === undefined ? 'normal' : 'urgent',
    ciphertext: e.ciphertext,
    createdAt: request.createdAt,
    serverTime,
    escalationLevel: 0,
  };
  // Set after, not spread in: a normal send's envelope stays a plain literal on the hot path.
  if (deadline !== undefined) envelope.deadline = deadline;
  return envelope;
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
