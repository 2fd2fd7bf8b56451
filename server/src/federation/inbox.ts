import {
  type ForwardedItem,
  type ForwardedMessage,
  type ForwardedReceipt,
  type ForwardedUrgentState,
  type ForwardOutcome,
  LIMITS,
  type SendRequest,
} from '@liaison/protocol';
import { RelayError, toRelayError } from '../errors.js';
import type { RelayDeps } from '../relay-deps.js';
import { currentDevicesOf } from '../storage/directory.js';
import { firstSightOfReceipt, forwardOf, saveForeignUrgentState } from '../storage/foreign.js';
import { fullQueues, recordForwardedReceipt, storedMessages, storeMessages } from '../storage/messages.js';
import { escalationChainOf, type PlannedLevel } from '../storage/urgent.js';
import { publishUrgent } from '../urgent/publish.js';
import type { Federation } from './federation.js';

/**
 * What a partner's relay forwards to us, applied in its order, one item at a time (the order of a
 * sender's messages to a device is the order they are stored in). Each item is stored before the
 * batch is answered; an item had before is answered `duplicate`; one that can never be applied is
 * answered `refused` with its code, so that the partner stops sending it.
 */
export async function receiveBatch(
  deps: RelayDeps,
  federation: Federation,
  networkId: string,
  items: readonly ForwardedItem[],
): Promise<ForwardOutcome[]> {
  const outcomes: ForwardOutcome[] = [];
  for (const item of items) {
    let outcome: ForwardOutcome;
    try {
      outcome =
        item.kind === 'message'
          ? await receiveMessage(deps, federation, networkId, item)
          : item.kind === 'receipt'
            ? await receiveReceipt(deps, networkId, item)
            : await receiveUrgentState(deps, networkId, item);
    } catch (error) {
      const failure = toRelayError(error);
      // Ours to fix, not the partner's to give up on: the batch fails and comes again.
      if (failure.code === 'INTERNAL' || failure.code === 'UNAVAILABLE' || failure.code === 'STORAGE_FULL') throw error;
      outcome = { outcome: 'refused', code: failure.code, message: failure.message };
    }
    deps.metrics.federationReceived.inc({ kind: item.kind, outcome: outcome.outcome });
    outcomes.push(outcome);
  }
  return outcomes;
}

/** Level 0 and, for an urgent message escalating here, the level of each member's devices. */
function recipientsOf(request: SendRequest): string[] {
  return request.recipients ?? (request.recipient === undefined ? [] : [request.recipient]);
}

/**
 * A message from a contact point of the partner's network to ours. Its sender's chain must be of
 * that network and valid; its recipients must be contact points of ours. Envelopes go to the
 * recipients' current devices (and, urgent, to the current devices of the escalation chain the
 * recipient's authority signed, at their levels): a copy for a device that is gone is dropped; a
 * device the partner did not know yet gets none, as the sender's relay could not know it.
 */
async function receiveMessage(
  deps: RelayDeps,
  federation: Federation,
  networkId: string,
  { sender: chain, request }: ForwardedMessage,
): Promise<ForwardOutcome> {
  const { db, config } = deps;
  const now = config.now();
  federation.directory.verifiedSender(networkId, chain);
  const sender = { deviceId: chain.device.deviceId, contactPointId: chain.contactPoint.contactPointId };
  const previous = (await storedMessages(db, [request.messageId])).get(request.messageId);
  if (previous) {
    if (previous.senderDevice !== sender.deviceId) {
      throw new RelayError('CONFLICT', 'this message id is already used by another sender');
    }
    return { outcome: 'duplicate' };
  }
  const recipients = recipientsOf(request);
  const urgentChain =
    request.priority === 'urgent' && request.recipient ? await escalationChainOf(db, request.recipient) : [];
  const devices = await currentDevicesOf(db, [...recipients, ...urgentChain, sender.contactPointId], now);
  if (devices.has(sender.contactPointId)) {
    throw new RelayError('CONFLICT', `"${sender.contactPointId}" is a contact point of this relay's network`);
  }
  const levelOf = new Map<string, number>();
  for (const recipient of recipients) {
    const own = devices.get(recipient);
    if (!own) throw new RelayError('NOT_FOUND', `no contact point "${recipient}" here`);
    for (const d of own) levelOf.set(d, 0);
  }
  const levels: PlannedLevel[] = [];
  if (request.priority === 'urgent' && request.recipient) {
    levels.push({ contactPointId: request.recipient, devices: devices.get(request.recipient)?.length ?? 0 });
    for (const [i, member] of urgentChain.entries()) {
      const memberDevices = devices.get(member) ?? [];
      for (const d of memberDevices) if (!levelOf.has(d)) levelOf.set(d, i + 1);
      levels.push({ contactPointId: member, devices: memberDevices.length });
    }
  }
  const envelopes = request.envelopes.filter((e) => levelOf.get(e.recipientDevice) === e.escalationLevel);
  if (request.priority === 'urgent') {
    // Escalations run here, with our timers and alerts: a partner's senders count as ours do.
    await deps.limits.take(`urgent:${sender.contactPointId}`, config.urgentSendsPerHour, {
      windowMs: 3600_000,
      failOpen: true,
    });
  }
  if (envelopes.length === 0) {
    throw new RelayError('DEVICE_MISMATCH', 'none of the envelopes is for a current device of its recipients here');
  }
  const full = await fullQueues(
    db,
    envelopes.map((e) => e.recipientDevice),
    config.maxQueuedEnvelopes,
  );
  if (full.length > 0) {
    throw new RelayError('QUOTA_EXCEEDED', `${full.length} recipient device(s) hold too many undelivered envelopes`);
  }
  // Each level gets this relay's own bounds of the time to acknowledge: its timers are the ones that run.
  const { min, max } = config.urgentAcknowledgeWithinMs;
  const within =
    request.acknowledgeWithinMs === undefined ? undefined : Math.min(max, Math.max(min, request.acknowledgeWithinMs));
  const stored = await storeMessages(
    db,
    [
      {
        sender,
        request: { ...request, envelopes, ...(within !== undefined && { acknowledgeWithinMs: within }) },
        ...(request.priority === 'urgent' && { levels }),
        originNetwork: networkId,
      },
    ],
    now,
    config.envelopeTtlMs,
  );
  if (!stored.has(request.messageId)) return { outcome: 'duplicate' };
  // The sender as its relay showed it: our own devices look it up when they decrypt, and its relay may be away then.
  // The sender as its relay shows it, looked up behind the answer (of that relay only: its manifest
  // owns the sender's authority), so that our devices find it when they decrypt, even if it is away then.
  void federation.directory.entry(sender.contactPointId).catch(() => undefined);
  deps.metrics.envelopesStored.inc(envelopes.length);
  deps.hub.envelopesStored(envelopes.filter((e) => e.escalationLevel === 0).map((e) => e.recipientDevice));
  if (request.priority === 'urgent') await publishUrgent(deps, [request.messageId]);
  return { outcome: 'stored' };
}

/**
 * A receipt for a message one of our contact points sent: only for a message we forwarded to that
 * network, about one of its recipients there (or, urgent, a member of the recipient's authority,
 * which its escalation chain is made of), dated between our sending it and now, and recorded once.
 */
async function receiveReceipt(deps: RelayDeps, networkId: string, item: ForwardedReceipt): Promise<ForwardOutcome> {
  const { db, config } = deps;
  const { receipt } = item;
  const forward = await forwardOf(db, receipt.messageId, networkId);
  if (!forward || !reportable(forward, receipt.contactPointId)) {
    deps.metrics.federationRefused.inc({ reason: 'foreign-claim' });
    throw new RelayError('NOT_FOUND', `no message with this id went to "${receipt.contactPointId}" in "${networkId}"`);
  }
  const now = config.now();
  if (receipt.at < forward.serverTime - LIMITS.maxClockSkewMs || receipt.at > now + LIMITS.maxClockSkewMs) {
    throw new RelayError('INVALID_INPUT', 'the receipt is dated before the message was sent, or in the future', {
      path: 'receipt.at',
    });
  }
  const routed = await db.transaction().execute(async (tx) => {
    if (!(await firstSightOfReceipt(tx, networkId, item.id, now))) return 'duplicate' as const;
    return (await recordForwardedReceipt(tx, receipt)) ?? ('duplicate' as const);
  });
  if (routed === 'duplicate') return { outcome: 'duplicate' };
  deps.hub.receipts([routed]);
  return { outcome: 'stored' };
}

/**
 * The state of an urgent message of ours escalating on the partner's relay: only for an urgent
 * message we forwarded to that network, its levels the recipient and then members of the
 * recipient's authority, not dated in the future. Kept (the newest), and shown to its sender.
 */
async function receiveUrgentState(
  deps: RelayDeps,
  networkId: string,
  { state }: ForwardedUrgentState,
): Promise<ForwardOutcome> {
  const { db, config } = deps;
  const forward = await forwardOf(db, state.messageId, networkId);
  const [first] = state.levels;
  const fits =
    forward !== undefined &&
    forward.priority === 'urgent' &&
    forward.sender === state.senderContactPoint &&
    first?.contactPointId === forward.recipients[0] &&
    state.levels.every((l) => reportable(forward, l.contactPointId)) &&
    (state.acknowledged === undefined || reportable(forward, state.acknowledged.contactPointId));
  if (!fits) {
    deps.metrics.federationRefused.inc({ reason: 'foreign-claim' });
    throw new RelayError('NOT_FOUND', `no urgent message with this id and these levels went to "${networkId}"`);
  }
  if (state.updatedAt > config.now() + LIMITS.maxClockSkewMs) {
    throw new RelayError('INVALID_INPUT', 'the urgent state is dated in the future', { path: 'state.updatedAt' });
  }
  await saveForeignUrgentState(db, state);
  deps.hub.urgent([state.senderContactPoint], state);
  return { outcome: 'stored' };
}

/**
 * Whether the partner's relay may report on this contact point for a message we forwarded it: one
 * of the message's recipients there, or for an urgent message a contact point of the recipient's
 * authority (an escalation chain is made of those: docs/trust.md).
 */
function reportable(forward: { recipients: string[]; priority: string }, contactPointId: string): boolean {
  if (forward.recipients.includes(contactPointId)) return true;
  const authority = (id: string) => id.slice(0, id.indexOf('.') + 1);
  const [recipient] = forward.recipients;
  return (
    forward.priority === 'urgent' &&
    recipient !== undefined &&
    authority(recipient) !== '' &&
    authority(contactPointId) === authority(recipient)
  );
}
