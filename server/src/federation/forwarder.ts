import {
  FEDERATION_LIMITS,
  ForwardAnswer,
  type ForwardedItem,
  type ForwardedMessage,
  type ForwardOutcome,
  Receipt,
} from '@liaison/protocol';
import { failureForLog, RelayError } from '../errors.js';
import type { RelayDeps } from '../relay-deps.js';
import {
  claimDuePeers,
  expireOutbox,
  forwarded,
  forwardFailed,
  type OutboxItem,
  outboxBatch,
} from '../storage/federation-outbox.js';
import { forgetExpiredNonces, forgetUnusedForeignEntries } from '../storage/foreign.js';
import { recordUndeliverable } from '../storage/messages.js';
import { urgentStates } from '../storage/urgent.js';
import type { Federation } from './federation.js';

/** A batch's body stays under what the partner accepts, with room for the JSON around the items. */
const MAX_BATCH_BYTES = FEDERATION_LIMITS.maxBatchBodyBytes - 512 * 1024;

/**
 * Forwards what waits in the outbox to each partner's relay. Every node runs this on a poll; each
 * partner's outbox is leased to one node at a time (claimDuePeers), which sends its items in order,
 * in batches, and deletes them only once the partner has answered for them. A partner that does not
 * answer is tried again with a backoff; what it refuses for good is reported to the senders as expired.
 */
export async function runForwarding(deps: RelayDeps, federation: Federation): Promise<void> {
  const { db, config } = deps;
  const peers = await claimDuePeers(db, config.now(), 3 * config.federationTimeoutMs);
  await Promise.all(peers.map((networkId) => forwardTo(deps, federation, networkId)));
}

async function forwardTo(deps: RelayDeps, federation: Federation, networkId: string): Promise<void> {
  const { db, config, metrics, log } = deps;
  for (;;) {
    const batch = await outboxBatch(db, networkId, FEDERATION_LIMITS.maxItemsPerBatch, MAX_BATCH_BYTES);
    if (batch.length === 0) {
      await forwarded(db, networkId, [], 0);
      return;
    }
    const items = await itemsOf(deps, batch);
    let answer: ForwardAnswer;
    try {
      answer =
        items.length === 0
          ? { outcomes: [] }
          : await federation.peers.json(networkId, 'POST', '/federation/v1/inbox', ForwardAnswer, {
              items: items.map((i) => i.item),
            });
      if (answer.outcomes.length !== items.length) {
        throw new RelayError('INTERNAL', `the partner answered for ${answer.outcomes.length} of ${items.length} items`);
      }
    } catch (error) {
      metrics.federationForwards.inc({ outcome: 'failed' });
      const retryAt = await forwardFailed(db, networkId, config.now(), config.federationRetryMaxMs);
      log.warn(
        {
          event: 'federation.forward-failed',
          networkId,
          items: items.length,
          retryInMs: retryAt - config.now(),
          err: failureForLog(error),
        },
        'forwarding to a partner relay failed; it will be tried again',
      );
      return;
    }
    for (const [i, outcome] of answer.outcomes.entries()) {
      metrics.federationForwards.inc({ outcome: outcome.outcome });
      const sent = items[i];
      if (outcome.outcome === 'refused' && sent?.item.kind === 'message')
        await refused(deps, networkId, sent.item, outcome);
    }
    // Held on for the next batch: another node sending this partner's later items now would reorder them.
    await forwarded(
      db,
      networkId,
      batch.map((b) => b.seq),
      config.now() + 3 * config.federationTimeoutMs,
    );
  }
}

/** The items to send for the outbox rows: urgent states read now (the newest), rows that no longer apply left out. */
async function itemsOf(deps: RelayDeps, batch: readonly OutboxItem[]): Promise<{ seq: number; item: ForwardedItem }[]> {
  const urgentIds = batch.filter((b) => b.kind === 'urgent' && b.messageId).map((b) => b.messageId as string);
  const states = new Map((await urgentStates(deps.db, [...new Set(urgentIds)])).map((s) => [s.messageId, s]));
  const items: { seq: number; item: ForwardedItem }[] = [];
  for (const row of batch) {
    if (row.kind === 'message') items.push({ seq: row.seq, item: row.payload as ForwardedMessage });
    if (row.kind === 'receipt') {
      const { id, ...receipt } = row.payload as { id: number } & Receipt;
      items.push({ seq: row.seq, item: { kind: 'receipt', id: Number(id), receipt: Receipt.parse(receipt) } });
    }
    const state = row.kind === 'urgent' && row.messageId ? states.get(row.messageId) : undefined;
    if (state) items.push({ seq: row.seq, item: { kind: 'urgent', state } });
  }
  return items;
}

/**
 * Messages that waited for a partner's relay longer than an envelope is kept are given up, as an
 * undelivered envelope is: their senders get `expired` receipts for the recipients there. Nonces of
 * partners' requests too old to pass the time check, and partners' contact points nobody used for
 * as long, are forgotten.
 */
export async function expireForwards(deps: RelayDeps): Promise<number> {
  const now = deps.config.now();
  await forgetExpiredNonces(deps.db, now);
  await forgetUnusedForeignEntries(deps.db, now - deps.config.envelopeTtlMs);
  const expired = await expireOutbox(deps.db, now - deps.config.envelopeTtlMs);
  for (const { messageId, recipients } of expired) {
    for (const { to, receipt } of await recordUndeliverable(deps.db, messageId, recipients, now)) {
      deps.hub.receipt(to, receipt);
    }
  }
  return expired.length;
}

async function refused(
  deps: RelayDeps,
  networkId: string,
  message: ForwardedMessage,
  outcome: Extract<ForwardOutcome, { outcome: 'refused' }>,
): Promise<void> {
  const { request } = message;
  deps.log.warn(
    { event: 'federation.message-refused', networkId, code: outcome.code },
    'a partner relay refused a forwarded message; its sender is told it expired',
  );
  const recipients = request.recipients ?? (request.recipient ? [request.recipient] : []);
  const receipts = await recordUndeliverable(deps.db, request.messageId, recipients, deps.config.now());
  for (const { to, receipt } of receipts) deps.hub.receipt(to, receipt);
}
