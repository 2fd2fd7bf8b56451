import type { Kysely } from 'kysely';
import type { Authenticator } from './auth/authenticator.js';
import type { RateLimiter } from './auth/rate-limiter.js';
import type { BlobStore } from './blobs/blob-store.js';
import type { RelayConfig } from './config.js';
import type { Federation } from './federation/federation.js';
import type { Logger } from './log.js';
import type { RelayMetrics } from './metrics.js';
import type { DeliveryHub } from './socket/delivery-hub.js';
import type { Database } from './storage/schema.js';
import type { StorageSpace } from './storage/storage-space.js';

/** What handlers share, wired once in relay.ts. */
export interface RelayDeps {
  config: RelayConfig;
  db: Kysely<Database>;
  auth: Authenticator;
  limits: RateLimiter;
  hub: DeliveryHub;
  /** Attachment ciphertext chunks (a folder, or the database). */
  blobs: BlobStore;
  /** Whether the database's storage takes writes (for /readyz). */
  storage: StorageSpace;
  log: Logger;
  metrics: RelayMetrics;
  /** Partner networks and their relays; undefined when this relay does not federate. */
  federation: Federation | undefined;
  /** Why this node's part of the cluster does not work now (Redis unreachable), for /readyz; undefined alone. */
  clusterProblem(): string | undefined;
}
