import { hostname } from 'node:os';
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
import { randomBytes } from '../sodium.js';
import {
  claimDuePeers,
  expireOutbox,
  forwarded,
  forwardFailed,
  type Lease,
  type OutboxItem,
  outboxBatch,
  renewLease,
} from '../storage/federation-outbox.js';
import { forgetExpiredNonces, forgetUnusedForeignEntries } from '../storage/foreign.js';
import { type RoutedReceipt, recordUndeliverable } from '../storage/messages.js';
import type { Db } from '../storage/schema.js';
import { urgentStates } from '../storage/urgent.js';
import type { Federation } from './federation.js';

/** A batch's body stays under what the partner accepts, with room for the JSON around the items. */
const MAX_BATCH_BYTES = FEDERATION_LIMITS.maxBatchBodyBytes - 512 * 1024;

/**
 * Forwards what waits in the outbox to each partner's relay. Every node polls; each partner's
 * outbox is leased to one node at a time (claimDuePeers), which sends its items in order, in
 * batches, and deletes them only once the partner has answered for them. A partner that does not
 * answer is tried again with a backoff; what it refuses for good is reported to the senders as
 * expired.
 *
 * Each partner a node holds is forwarded by a task of its own, which the poll starts and does not
 * wait for: a partner that answers slowly, or has a long backlog, holds up only its own items, and
 * one that falls due meanwhile is claimed at the next poll. A partner this node forwards already is
 * not claimed again. The tasks are tracked (`track`), so that the relay's stop waits for them; once
 * stopping, each ends after its batch in flight, giving its lease up.
 */
export class Forwarder {
  /** This node, as the leases it takes name it (for operators: the leases' tokens are what fence them). */
  private readonly owner = `${hostname()}:${process.pid}:${Buffer.from(randomBytes(4)).toString('hex')}`;
  private readonly forwarding = new Set<string>();
  private stopping = false;

  constructor(
    private readonly deps: RelayDeps,
    private readonly federation: Federation,
    private readonly track: <T>(work: Promise<T>) => Promise<T>,
    /** Polls again soon: a task ended, and what was queued for its partner meanwhile should not wait for the next tick. */
    private readonly wake: () => void,
  ) {}

  /** Claims the partners due that this node does not forward yet, and starts a task for each. */
  async poll(): Promise<void> {
    if (this.stopping) return;
    const { deps, federation } = this;
    const longest = Math.max(0, ...federation.partners.list().map((p) => leaseMs(deps, federation, p.networkId)));
    const leases = await claimDuePeers(deps.db, deps.config.now(), longest, this.owner, [...this.forwarding]);
    for (const lease of leases) {
      this.forwarding.add(lease.networkId);
      const task = forwardTo(deps, federation, lease, () => this.stopping)
        .catch((error) =>
          deps.log.error(
            { event: 'federation.error', networkId: lease.networkId, err: failureForLog(error) },
            'forwarding to a partner relay failed; its lease runs out and it is tried again',
          ),
        )
        .finally(() => {
          this.forwarding.delete(lease.networkId);
          if (!this.stopping) this.wake();
        });
      void this.track(task);
    }
  }

  /** No new batch from now on: each task ends after the one it has in flight. */
  stop(): void {
    this.stopping = true;
  }
}

/**
 * How long a lease on a partner lasts from its last renewal: the longest one request to it can
 * take (each of its relays tried in turn, each for the request timeout), plus one timeout more for
 * reading the batch before it and recording the answer after. A lease that ran out mid-batch would
 * let another node send the next items while these are still in flight.
 */
function leaseMs(deps: RelayDeps, federation: Federation, networkId: string): number {
  const relays = federation.partners.get(networkId)?.relays.length ?? 1;
  return (relays + 1) * deps.config.federationTimeoutMs;
}

/**
 * Sends a partner's items, a batch at a time, while this node holds its lease: renewed before each
 * batch, and checked by every step that changes the outbox. Once another node holds it (this one
 * was too slow, or its clock behind), this one stops where it is: the other sends again what this
 * one had in flight, and the partner answers `duplicate` for what it stored.
 */
async function forwardTo(
  deps: RelayDeps,
  federation: Federation,
  lease: Lease,
  stopping: () => boolean,
): Promise<void> {
  const { db, config, metrics, log } = deps;
  const { networkId } = lease;
  for (;;) {
    if (stopping()) {
      // Given up for another node to take at once; the partner's backoff stays as it was.
      await renewLease(db, lease, 0);
      return;
    }
    if (!(await renewLease(db, lease, config.now() + leaseMs(deps, federation, networkId)))) return;
    const batch = await outboxBatch(db, networkId, FEDERATION_LIMITS.maxItemsPerBatch, MAX_BATCH_BYTES);
    if (batch.length === 0) {
      await forwarded(db, lease, [], 0);
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
      const retryAt = await forwardFailed(db, lease, config.now(), config.federationRetryMaxMs);
      log.warn(
        {
          event: 'federation.forward-failed',
          networkId,
          items: items.length,
          ...(retryAt !== undefined && { retryInMs: retryAt - config.now() }),
          err: failureForLog(error),
        },
        'forwarding to a partner relay failed; it will be tried again',
      );
      return;
    }
    // What the answer means for the senders is recorded with the deletion, by the lease's holder only.
    const receipts: RoutedReceipt[] = [];
    const held = await forwarded(
      db,
      lease,
      batch.map((b) => b.seq),
      // Held on for the next batch: another node sending this partner's later items now would reorder them.
      config.now() + leaseMs(deps, federation, networkId),
      async (tx) => {
        for (const [i, outcome] of answer.outcomes.entries()) {
          const sent = items[i];
          if (outcome.outcome === 'refused' && sent?.item.kind === 'message') {
            receipts.push(...(await refused(deps, tx, networkId, sent.item, outcome)));
          }
        }
      },
    );
    if (!held) return;
    for (const outcome of answer.outcomes) metrics.federationForwards.inc({ outcome: outcome.outcome });
    deps.hub.receipts(receipts);
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
    deps.hub.receipts(await recordUndeliverable(deps.db, messageId, recipients, now));
  }
  return expired.length;
}

/** A message the partner refused for good: its sender is told it expired for those recipients (receipts to push once stored). */
async function refused(
  deps: RelayDeps,
  tx: Db,
  networkId: string,
  message: ForwardedMessage,
  outcome: Extract<ForwardOutcome, { outcome: 'refused' }>,
): Promise<RoutedReceipt[]> {
  const { request } = message;
  deps.log.warn(
    { event: 'federation.message-refused', networkId, code: outcome.code },
    'a partner relay refused a forwarded message; its sender is told it expired',
  );
  const recipients = request.recipients ?? (request.recipient ? [request.recipient] : []);
  return recordUndeliverable(tx, request.messageId, recipients, deps.config.now());
}
