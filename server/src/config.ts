import type { TrustedRoot } from '@liaison/protocol';
import type { CrashPlan } from './fault-injection.js';
import type { FederationConfig } from './federation/partners.js';

/** Everything the relay is told; built from the environment by the entry point, or directly by tests. */
export interface RelayConfig {
  host: string;
  port: number;
  /**
   * The relay's public origins, one bound into each authentication challenge: the one the client
   * addressed when it is listed, else the first. Empty: the address it listens on.
   */
  publicOrigins: string[];
  database: { kind: 'pglite'; dataDir: string | undefined } | { kind: 'postgres'; url: string };
  /**
   * PGlite in a folder: writes are refused (STORAGE_FULL) while its file system has less free
   * than this, because PGlite cannot survive a full disk (docs/relay.md).
   */
  storageReserveBytes: number;
  /**
   * Where attachment ciphertext lives: a local folder (one node), or the database (a cluster: every
   * node serves every blob without another service).
   */
  blobStore: { kind: 'folder'; dir: string } | { kind: 'database' };
  /** With Redis, this node is one of a cluster; without, it runs alone with in-process equivalents. */
  redisUrl: string | undefined;
  trustedRoots: TrustedRoot[];
  corsOrigins: string[];
  /**
   * The folder of the built web app (web/dist), served at `/` with the relay's own `/config.json`;
   * undefined: not served. A folder without index.html (not built yet) gets a page that says so.
   */
  webDir: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
  /** Undelivered envelopes are deleted after this, and their senders told. */
  envelopeTtlMs: number;
  /** How long receipts (delivery metadata) are kept. */
  receiptRetentionMs: number;
  /** Lifetime of an HTTP bearer token minted from a proof of key possession. */
  tokenTtlMs: number;
  /** Prekey bundle fetches one device may make per minute. */
  bundleFetchesPerMinute: number;
  /**
   * Unauthenticated calls (challenges, tokens, registrations, webhook registrations, revocations)
   * one client address may make per minute.
   */
  authAttemptsPerMinute: number;
  /** Sends one device may make per minute. */
  sendsPerMinute: number;
  /** Directory searches one device may make per minute. */
  directorySearchesPerMinute: number;
  /** Urgent messages one contact point may send per hour. */
  urgentSendsPerHour: number;
  /** Bounds of the time to acknowledge a sender may give each level of an urgent message. */
  urgentAcknowledgeWithinMs: { min: number; max: number };
  /** How often this node looks for escalation steps that are due (every node does; each step runs once). */
  escalationPollMs: number;
  /** How often this node looks for webhook alerts to send. */
  webhookPollMs: number;
  /** Attempts at one webhook alert before it is logged as failed (backoff doubles from 1 s, up to an hour). */
  webhookMaxAttempts: number;
  /** Webhook URLs must be https; plain http is allowed only with this set (development and tests). */
  allowHttpWebhooks: boolean;
  /** Undelivered envelopes one device may hold; sends to a device with a full queue are refused. */
  maxQueuedEnvelopes: number;
  /** Largest attachment (ciphertext bytes) the relay accepts. */
  maxBlobBytes: number;
  /** Ciphertext bytes of attachments one device may have stored at once. */
  blobQuotaBytes: number;
  /** Attachment uploads one device may start per minute. */
  blobCreationsPerMinute: number;
  /** A blob is deleted this long after it was created, whether or not every reader downloaded it. */
  blobRetentionMs: number;
  /** An upload not completed is deleted after this long without a new chunk. */
  blobUploadIdleMs: number;
  /** How often expired envelopes and old receipts are swept. */
  sweepIntervalMs: number;
  /** How often connected devices' queues are read again, in case a push between nodes was lost. */
  catchUpIntervalMs: number;
  /** An envelope pushed and not acknowledged this long is pushed again on the next pass (an acknowledgement may have been lost). */
  redeliverAfterMs: number;
  /**
   * Proxies in front of the relay whose X-Forwarded-For is believed (0: none, the peer address is
   * the client's). Set it to the number of load balancers, or clients could pick their own address.
   */
  trustProxyHops: number;
  /** Time a client has to send a request's headers, from its first byte (or from connecting). */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, body included (an attachment chunk is 4 MiB). */
  requestTimeoutMs: number;
  /**
   * A connection that moves no byte either way for this long is destroyed (a client that stopped
   * reading its response, for one). Not WebSockets: engine.io's pings keep those alive.
   */
  idleTimeoutMs: number;
  /**
   * Connections one client address may hold at once (behind load balancers, requests and
   * WebSockets by the address they report): http/connection-limit.ts.
   */
  maxConnectionsPerAddress: number;
  /** When set, GET /metrics requires `Authorization: Bearer <metricsToken>`. */
  metricsToken: string | undefined;
  /** This relay's signing key and the manifests of its network and partners; undefined: it does not federate. */
  federation: FederationConfig | undefined;
  /** How often this node looks for items to forward to partner relays (a send also starts forwarding at once). */
  federationPollMs: number;
  /** Time a partner relay has to answer one request. */
  federationTimeoutMs: number;
  /** Longest wait between attempts at a partner relay that does not answer (the wait doubles from one second). */
  federationRetryMaxMs: number;
  /** Batches (POST /federation/v1/inbox) the relays of one partner network may deliver per minute. */
  federationBatchesPerMinute: number;
  /**
   * Lookups (contact points, bundles, directory, attachments) the relays of one partner network
   * may make per minute: a budget of its own, so that lookups never starve deliveries.
   */
  federationLookupsPerMinute: number;
  /** Requests one device may make per minute about attachments not stored here (each asks partner relays). */
  remoteBlobRequestsPerMinute: number;
  /** The clock; tests move it. */
  now: () => number;
  /** Fault injection for the fault tests only (fault-injection.ts); never set otherwise. */
  crashPlan?: CrashPlan | undefined;
}

const DAY = 24 * 3600 * 1000;

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  envelopeTtlMs: 30 * DAY,
  receiptRetentionMs: 365 * DAY,
  tokenTtlMs: 15 * 60 * 1000,
  bundleFetchesPerMinute: 60,
  authAttemptsPerMinute: 120,
  sendsPerMinute: 600,
  directorySearchesPerMinute: 120,
  urgentSendsPerHour: 30,
  urgentAcknowledgeWithinMs: { min: 5 * 60 * 1000, max: DAY },
  escalationPollMs: 500,
  webhookPollMs: 1000,
  webhookMaxAttempts: 10,
  allowHttpWebhooks: false,
  maxQueuedEnvelopes: 10_000,
  sweepIntervalMs: 60 * 1000,
  catchUpIntervalMs: 15 * 1000,
  redeliverAfterMs: 60 * 1000,
  trustProxyHops: 0,
  headersTimeoutMs: 10_000,
  // A 4 MiB chunk at about 300 kbit/s: slow links still upload, a trickling client holds little.
  requestTimeoutMs: 120_000,
  idleTimeoutMs: 30_000,
  // A few dozen devices behind one NAT (an agency), each with its WebSocket and a few HTTP requests.
  maxConnectionsPerAddress: 100,
  maxBlobBytes: 4 * 1024 ** 3,
  blobQuotaBytes: 20 * 1024 ** 3,
  blobCreationsPerMinute: 60,
  blobRetentionMs: 30 * DAY,
  blobUploadIdleMs: DAY,
  storageReserveBytes: 64 * 1024 ** 2,
  federationPollMs: 1000,
  federationTimeoutMs: 10_000,
  federationRetryMaxMs: 60_000,
  federationBatchesPerMinute: 6000,
  federationLookupsPerMinute: 6000,
  // One request per 4 MiB chunk: about 16 MiB/s of an attachment read through a partner relay.
  remoteBlobRequestsPerMinute: 240,
} as const;

/** A configuration for tests and embedding: in-memory PGlite (blobs in it too) on a free loopback port. */
export function relayConfig(overrides: Partial<RelayConfig> = {}): RelayConfig {
  return {
    ...DEFAULTS,
    port: 0,
    publicOrigins: [],
    database: { kind: 'pglite', dataDir: undefined },
    blobStore: { kind: 'database' },
    redisUrl: undefined,
    metricsToken: undefined,
    federation: undefined,
    trustedRoots: [],
    corsOrigins: [],
    webDir: undefined,
    logLevel: 'silent',
    now: Date.now,
    ...overrides,
  };
}
