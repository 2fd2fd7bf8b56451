import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TrustedRoot } from '@liaison/protocol';
import { z } from 'zod';
import { DEFAULTS, type RelayConfig } from './config.js';
import { crashPlanFromEnv } from './fault-injection.js';

/**
 * The environment the relay reads, and nothing else does:
 *
 *   PORT, HOST                 where to listen (default 127.0.0.1:8080)
 *   PUBLIC_ORIGIN              the relay's public URL (default http://HOST:PORT)
 *   DATABASE_URL               PostgreSQL; without it, embedded PGlite in DATA_DIR
 *   DATA_DIR                   PGlite data folder (default ./data/relay), created on first start
 *   STORAGE_RESERVE_MB         PGlite: writes are refused while DATA_DIR's disk has less free (default 64)
 *   BLOB_STORE                 folder | database: where attachment ciphertext is kept (default: database
 *                              with DATABASE_URL, so that every node of a cluster serves every blob; else folder)
 *   BLOB_DIR                   the folder (default: "blobs" beside DATA_DIR)
 *   MAX_BLOB_MB, BLOB_QUOTA_MB, BLOB_CREATIONS_PER_MINUTE, BLOB_RETENTION_DAYS   attachment limits (docs/attachments.md)
 *   REDIS_URL                  Redis, to run as one node of a cluster; without it, a single node
 *   LIAISON_TRUSTED_ROOTS      comma-separated paths of network root files (.root.json)
 *   CORS_ORIGINS               comma-separated origins allowed to call the API from a browser
 *   LOG_LEVEL                  fatal | error | warn | info | debug | silent (default info)
 *   ENVELOPE_TTL_DAYS          days an undelivered envelope is kept (default 30)
 *   RECEIPT_RETENTION_DAYS     days delivery metadata (receipts) is kept (default 365)
 *   CATCH_UP_INTERVAL_MS       how often connected devices' queues are re-read (default 15000)
 *   REDELIVER_AFTER_MS         an envelope pushed and not acknowledged this long is pushed again (default 60000)
 *   METRICS_TOKEN              when set, GET /metrics requires it as a bearer token
 *   AUTH_ATTEMPTS_PER_MINUTE, SENDS_PER_MINUTE, BUNDLE_FETCHES_PER_MINUTE,
 *   DIRECTORY_SEARCHES_PER_MINUTE, MAX_QUEUED_ENVELOPES   rate limits and the queue cap (docs/relay.md)
 *   URGENT_ACK_MIN_SECONDS     shortest time to acknowledge a sender may give a level (default 300)
 *   URGENT_ACK_MAX_SECONDS     longest time to acknowledge a sender may give a level (default 86400)
 *   URGENT_SENDS_PER_HOUR      urgent messages one contact point may send per hour (default 30)
 *   ESCALATION_POLL_MS         how often each node looks for due escalation steps (default 500)
 *   TRUST_PROXY_HOPS           load balancers in front whose X-Forwarded-For counts (default 0)
 *   HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS, HTTP_IDLE_TIMEOUT_MS   time to send a request's
 *                              headers, a whole request, and a connection's longest silence (default 10000, 120000, 30000)
 *   MAX_CONNECTIONS_PER_ADDRESS   connections one client address may hold at once (default 100)
 *   WEBHOOK_ALLOW_HTTP         1: accept plain-http webhook URLs (development and tests only)
 *   LIAISON_FAULT_CRASH        fault tests only: commit:N or notice:N, the node kills itself there
 *                              (fault-injection.ts); refused with NODE_ENV=production
 */
export function configFromEnv(env: NodeJS.ProcessEnv): RelayConfig {
  const port = z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .parse(env.PORT ?? DEFAULTS.port);
  const host = env.HOST ?? DEFAULTS.host;
  const list = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  const trustedRoots = list(env.LIAISON_TRUSTED_ROOTS).map((path) => {
    const parsed = TrustedRoot.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new Error(`${path} is not a network root file (.root.json)`);
    return parsed.data;
  });
  const days = (value: string | undefined, fallbackMs: number) =>
    z.coerce
      .number()
      .positive()
      .parse(value ?? fallbackMs / 86_400_000) * 86_400_000;
  const int = (value: string | undefined, fallback: number, min: number) =>
    z.coerce
      .number()
      .int()
      .min(min)
      .parse(value ?? fallback);
  const dataDir = env.DATA_DIR ?? 'data/relay';
  const blobStore = z.enum(['folder', 'database']).parse(env.BLOB_STORE || (env.DATABASE_URL ? 'database' : 'folder'));
  const megabytes = (value: string | undefined, fallback: number) => int(value, fallback / 1024 ** 2, 1) * 1024 ** 2;
  return {
    ...DEFAULTS,
    host,
    port,
    publicOrigin: env.PUBLIC_ORIGIN || undefined,
    database: env.DATABASE_URL ? { kind: 'postgres', url: env.DATABASE_URL } : { kind: 'pglite', dataDir },
    blobStore:
      blobStore === 'database'
        ? { kind: 'database' }
        : { kind: 'folder', dir: env.BLOB_DIR || join(dirname(dataDir), 'blobs') },
    maxBlobBytes: megabytes(env.MAX_BLOB_MB, DEFAULTS.maxBlobBytes),
    blobQuotaBytes: megabytes(env.BLOB_QUOTA_MB, DEFAULTS.blobQuotaBytes),
    blobCreationsPerMinute: int(env.BLOB_CREATIONS_PER_MINUTE, DEFAULTS.blobCreationsPerMinute, 1),
    blobRetentionMs: days(env.BLOB_RETENTION_DAYS, DEFAULTS.blobRetentionMs),
    storageReserveBytes: int(env.STORAGE_RESERVE_MB, DEFAULTS.storageReserveBytes / 1024 ** 2, 0) * 1024 ** 2,
    redisUrl: env.REDIS_URL || undefined,
    metricsToken: env.METRICS_TOKEN || undefined,
    trustedRoots,
    corsOrigins: list(env.CORS_ORIGINS),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'silent']).parse(env.LOG_LEVEL ?? 'info'),
    envelopeTtlMs: days(env.ENVELOPE_TTL_DAYS, DEFAULTS.envelopeTtlMs),
    receiptRetentionMs: days(env.RECEIPT_RETENTION_DAYS, DEFAULTS.receiptRetentionMs),
    catchUpIntervalMs: int(env.CATCH_UP_INTERVAL_MS, DEFAULTS.catchUpIntervalMs, 100),
    redeliverAfterMs: int(env.REDELIVER_AFTER_MS, DEFAULTS.redeliverAfterMs, 100),
    urgentAcknowledgeWithinMs: {
      min: int(env.URGENT_ACK_MIN_SECONDS, DEFAULTS.urgentAcknowledgeWithinMs.min / 1000, 1) * 1000,
      max: int(env.URGENT_ACK_MAX_SECONDS, DEFAULTS.urgentAcknowledgeWithinMs.max / 1000, 1) * 1000,
    },
    authAttemptsPerMinute: int(env.AUTH_ATTEMPTS_PER_MINUTE, DEFAULTS.authAttemptsPerMinute, 1),
    sendsPerMinute: int(env.SENDS_PER_MINUTE, DEFAULTS.sendsPerMinute, 1),
    bundleFetchesPerMinute: int(env.BUNDLE_FETCHES_PER_MINUTE, DEFAULTS.bundleFetchesPerMinute, 1),
    directorySearchesPerMinute: int(env.DIRECTORY_SEARCHES_PER_MINUTE, DEFAULTS.directorySearchesPerMinute, 1),
    maxQueuedEnvelopes: int(env.MAX_QUEUED_ENVELOPES, DEFAULTS.maxQueuedEnvelopes, 1),
    urgentSendsPerHour: int(env.URGENT_SENDS_PER_HOUR, DEFAULTS.urgentSendsPerHour, 1),
    escalationPollMs: int(env.ESCALATION_POLL_MS, DEFAULTS.escalationPollMs, 50),
    allowHttpWebhooks: env.WEBHOOK_ALLOW_HTTP === '1',
    trustProxyHops: int(env.TRUST_PROXY_HOPS, DEFAULTS.trustProxyHops, 0),
    headersTimeoutMs: int(env.HTTP_HEADERS_TIMEOUT_MS, DEFAULTS.headersTimeoutMs, 100),
    requestTimeoutMs: int(env.HTTP_REQUEST_TIMEOUT_MS, DEFAULTS.requestTimeoutMs, 100),
    idleTimeoutMs: int(env.HTTP_IDLE_TIMEOUT_MS, DEFAULTS.idleTimeoutMs, 100),
    maxConnectionsPerAddress: int(env.MAX_CONNECTIONS_PER_ADDRESS, DEFAULTS.maxConnectionsPerAddress, 1),
    now: Date.now,
    crashPlan: crashPlanFromEnv(env),
  };
}
