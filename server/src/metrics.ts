import { type Kysely, sql } from 'kysely';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { outboxBacklog } from './storage/federation-outbox.js';
import type { Database } from './storage/schema.js';
import { pendingEscalations } from './storage/urgent.js';

/**
 * What the relay tells Prometheus. Counts and latencies only: no label ever carries a device,
 * contact point or message identifier, so the metrics reveal nothing about who talks to whom.
 */
/** Round-trip buckets, in seconds, for the dependency latency histograms. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.02, 0.1, 0.5, 2];

export class RelayMetrics {
  readonly registry = new Registry();
  readonly envelopesStored = this.counter('liaison_envelopes_stored_total', 'Envelopes durably stored');
  readonly envelopesDelivered = this.counter(
    'liaison_envelopes_delivered_total',
    'Envelopes acknowledged by their device and deleted',
  );
  readonly envelopesExpired = this.counter(
    'liaison_envelopes_expired_total',
    'Envelopes deleted undelivered after their time',
  );
  readonly escalationSteps = this.counter(
    'liaison_escalation_steps_total',
    'Escalation steps run (a level released, or an urgent message left unacknowledged)',
  );
  readonly escalationLateness = new Histogram({
    name: 'liaison_escalation_lateness_seconds',
    help: 'How long after its deadline an escalation step ran',
    registers: [this.registry],
    buckets: [0.1, 0.5, 1, 2, 5, 30],
  });
  readonly webhookAttempts = this.counter('liaison_webhook_attempts_total', 'Webhook alert attempts, by outcome', [
    'outcome',
  ]);
  readonly blobBytes = this.counter(
    'liaison_blob_bytes_total',
    'Attachment ciphertext bytes stored (upload) and served (download)',
    ['direction'],
  );
  readonly blobsDeleted = this.counter(
    'liaison_blobs_deleted_total',
    'Attachments deleted (all readers had them, or expired)',
  );
  readonly federationForwards = this.counter(
    'liaison_federation_forwards_total',
    'Items forwarded to partner relays (messages, receipts, urgent states), by outcome: stored, duplicate, refused by the partner; failed counts batches that did not get an answer',
    ['outcome'],
  );
  readonly federationReceived = this.counter(
    'liaison_federation_received_total',
    'Items received from partner relays, by kind (message, receipt, urgent) and outcome (stored, duplicate, refused)',
    ['kind', 'outcome'],
  );
  readonly federationRefused = this.counter(
    'liaison_federation_refused_total',
    'Requests or items from other relays refused, by reason: not-partner, bad-signature, replay, stale, wrong-target, foreign-claim',
    ['reason'],
  );
  readonly federationPeerFailures = this.counter(
    'liaison_federation_peer_failures_total',
    'Requests to partner relays without a usable answer, by reason: timeout, no-connection, server-error (5xx), too-large (an answer over what the relay reads), rate-limited (429), not-json',
    ['reason'],
  );
  readonly errors = this.counter('liaison_errors_total', 'Refused or failed requests and events, by error code', [
    'code',
  ]);

  private counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  constructor(
    db: Kysely<Database>,
    connections: () => number,
    redisPing: (() => Promise<unknown>) | undefined,
    now: () => number = Date.now,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'liaison_process_' });
    new Gauge({
      name: 'liaison_connections',
      help: 'Authenticated sockets on this node',
      registers: [this.registry],
      collect() {
        this.set(connections());
      },
    });
    const databaseLatency = new Histogram({
      name: 'liaison_database_latency_seconds',
      help: 'Round trip of a trivial query, measured at each scrape',
      registers: [this.registry],
      buckets: LATENCY_BUCKETS,
    });
    const redisLatency = new Histogram({
      name: 'liaison_redis_latency_seconds',
      help: 'Round trip of a Redis PING, measured at each scrape',
      registers: [this.registry],
      buckets: LATENCY_BUCKETS,
    });
    new Gauge({
      name: 'liaison_escalations_pending',
      help: 'Urgent messages with an escalation step still to come, all nodes',
      registers: [this.registry],
      async collect() {
        this.set(await pendingEscalations(db));
      },
    });
    new Gauge({
      name: 'liaison_federation_outbox_depth',
      help: 'Items waiting to be forwarded to partner relays, all partners',
      registers: [this.registry],
      async collect() {
        this.set((await outboxBacklog(db, now())).depth);
      },
    });
    new Gauge({
      name: 'liaison_federation_outbox_oldest_seconds',
      help: 'Age of the oldest item waiting to be forwarded to a partner relay (0: none waits)',
      registers: [this.registry],
      async collect() {
        this.set((await outboxBacklog(db, now())).oldestMs / 1000);
      },
    });
    new Gauge({
      name: 'liaison_queue_depth',
      help: 'Envelopes stored and not yet delivered, all devices',
      registers: [this.registry],
      async collect() {
        const started = performance.now();
        const { rows } = await sql<{ n: number }>`select count(*)::int as n from envelopes`.execute(db);
        databaseLatency.observe((performance.now() - started) / 1000);
        this.set(rows[0]?.n ?? 0);
        if (redisPing) {
          const pinged = performance.now();
          await redisPing().then(
            () => redisLatency.observe((performance.now() - pinged) / 1000),
            () => undefined,
          );
        }
      },
    });
  }
}
