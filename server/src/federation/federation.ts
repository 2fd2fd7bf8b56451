import type { Kysely } from 'kysely';
import type { RelayConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { RelayMetrics } from '../metrics.js';
import type { Database } from '../storage/schema.js';
import { ForeignDirectory } from './foreign-directory.js';
import type { Partners } from './partners.js';
import { PeerClient } from './peer-client.js';
import { RelayReceipts } from './relay-receipts.js';
import { RemoteBlobs } from './remote-blobs.js';

/**
 * What a federated relay has besides its own parts: its partners, the client to their relays, what
 * it learns of their members, and the signer of its "stored at" receipts. A relay given its key and
 * its own network's manifest alone has all of these, with no partner.
 */
export interface Federation {
  partners: Partners;
  /** Signs each send result's "stored at" with the relay key our manifest certifies. */
  receipts: RelayReceipts;
  peers: PeerClient;
  directory: ForeignDirectory;
  blobs: RemoteBlobs;
  /** Forward what waits now, rather than at the next poll (a send just queued something). */
  nudge(): void;
}

export function createFederation(
  partners: Partners,
  deps: { db: Kysely<Database>; config: RelayConfig; metrics: RelayMetrics; log: Logger },
): Omit<Federation, 'nudge'> {
  const peers = new PeerClient(partners, deps.config.now, deps.config.federationTimeoutMs, deps.metrics);
  return {
    partners,
    receipts: new RelayReceipts(partners),
    peers,
    directory: new ForeignDirectory(deps.db, partners, peers, deps.metrics, deps.log, deps.config.now),
    blobs: new RemoteBlobs(partners, peers),
  };
}
