import {
  type BundlesResponse,
  BundlesResponse as BundlesSchema,
  type CertificateChain,
  type DirectoryEntry,
  DirectoryEntry as DirectoryEntrySchema,
  type DirectoryPage,
  DirectoryPage as DirectoryPageSchema,
  type DirectoryQuery,
  LIMITS,
  type TrustContext,
  verifyContactPoint,
  verifyDevice,
} from '@liaison/protocol';
import type { Kysely } from 'kysely';
import { RelayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RelayMetrics } from '../metrics.js';
import { verifySignature } from '../sodium.js';
import { hasLastResortKemPrekey } from '../storage/directory.js';
import { type ForeignEntry, foreignEntries, forgetForeignEntry, saveForeignEntry } from '../storage/foreign.js';
import type { Database } from '../storage/schema.js';
import type { Partners } from './partners.js';
import { type PeerClient, PeerUnavailable } from './peer-client.js';

/** A cached entry younger than this is used as it is; older, it is asked for again when its relay answers. */
const FRESH_MS = 30_000;
/** An id no partner knew is not asked for again for this long (a client cannot make us ask the partners in a loop). */
const UNKNOWN_MS = 60_000;
const MAX_UNKNOWN = 10_000;

/**
 * Contact points of partner networks, as their relays show them: looked up through the partner's
 * relay, checked against that network's root (a relay speaks only for its own network's contact
 * points), and cached, so that sends keep working while the partner's relay is away. The SDK checks
 * every chain again itself: this cache only decides where envelopes go.
 */
export class ForeignDirectory {
  private readonly unknown = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly partners: Partners,
    private readonly peers: PeerClient,
    private readonly metrics: RelayMetrics,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /**
   * Checks what a partner's relay says of one of its contact points: a chain to that network's root,
   * under an authority its manifest names as its own, for an id that begins with that authority's
   * (an entry of another network, or of an authority it does not own, is refused and counted); and
   * each listed device certified by it. Returns the entry with the devices that verify.
   */
  verified(networkId: string, entry: DirectoryEntry): DirectoryEntry {
    this.spokenFor(networkId, entry, 'spoke for');
    const ctx = this.trust(networkId);
    const verdict = verifyContactPoint(entry, ctx);
    if (!verdict.ok) throw new RelayError(verdict.code, verdict.message);
    const devices = entry.devices.filter((device) => verifyDevice({ ...entry, device }, ctx).ok);
    return { ...entry, devices };
  }

  /** Checks a foreign sender's chain the same way: of the network whose relay forwarded it, and valid now. */
  verifiedSender(networkId: string, chain: CertificateChain): void {
    this.spokenFor(networkId, chain, 'forwarded a message from');
    const verdict = verifyDevice(chain, this.trust(networkId));
    if (!verdict.ok) throw new RelayError(verdict.code, verdict.message);
  }

  private spokenFor(networkId: string, chain: Pick<DirectoryEntry, 'authority' | 'contactPoint'>, what: string): void {
    const { authority, contactPoint } = chain;
    if (
      authority.networkId !== networkId ||
      contactPoint.networkId !== networkId ||
      !this.partners.owns(networkId, chain)
    ) {
      this.metrics.federationRefused.inc({ reason: 'foreign-claim' });
      throw new RelayError(
        'CHAIN_MISMATCH',
        `the relay of "${networkId}" ${what} "${contactPoint.contactPointId}" of authority "${authority.authorityId}" of "${contactPoint.networkId}", which its manifest does not give it`,
      );
    }
  }

  /**
   * The entry of a contact point of a partner network: asked of the one network whose manifest owns
   * its id's authority, and of no other (nobody else can answer for it, nor learns that we asked).
   * Fresh from that relay when the cached one is old (or `refresh`); the cached one when the relay
   * does not answer. Undefined when the id is ours, no manifest owns it, or its network does not
   * have it; UNAVAILABLE when its relay does not answer and nothing is cached.
   */
  async entry(contactPointId: string, options: { refresh?: boolean } = {}): Promise<ForeignEntry | undefined> {
    const owner = this.partners.ownerOf(contactPointId);
    if (owner === undefined || !this.partners.get(owner)) return undefined;
    const stored = (await foreignEntries(this.db, [contactPointId])).get(contactPointId);
    // Cached under a network that no longer owns it (the manifests changed): as good as unknown.
    const cached = stored?.networkId === owner ? stored : undefined;
    if (cached && !options.refresh && this.now() - cached.fetchedAt < FRESH_MS) return cached;
    if (!cached && (this.unknown.get(contactPointId) ?? 0) > this.now()) return undefined;
    const path = `/federation/v1/contact-points/${encodeURIComponent(contactPointId)}`;
    let entry: DirectoryEntry;
    try {
      entry = await this.peers.json(owner, 'GET', path, DirectoryEntrySchema);
    } catch (error) {
      if (error instanceof PeerUnavailable) {
        // Its relay is away: what we knew still routes messages (its relay checks them again).
        if (cached) return cached;
        throw error;
      }
      if (!(error instanceof RelayError) || error.code !== 'NOT_FOUND') throw error;
      await forgetForeignEntry(this.db, contactPointId);
      if (this.unknown.size >= MAX_UNKNOWN) this.unknown.clear();
      this.unknown.set(contactPointId, this.now() + UNKNOWN_MS);
      return undefined;
    }
    if (entry.contactPoint.contactPointId !== contactPointId) {
      throw new RelayError('CHAIN_MISMATCH', 'the partner relay answered for another contact point');
    }
    const now = this.now();
    const saved = await saveForeignEntry(this.db, owner, this.verified(owner, entry), now);
    return { networkId: owner, entry: saved, fetchedAt: now };
  }

  /**
   * Current devices of each of these contact points that a partner network has, as
   * `currentDevicesOf` gives ours, from what its relay last showed: a send never waits for a partner
   * relay (the SDK looked the recipient up before it encrypted, through us). An entry that is old,
   * or missing, is looked up behind the send: a device added there in the meantime shows up in the
   * sends after that.
   */
  async devicesOf(contactPointIds: readonly string[]): Promise<Map<string, { networkId: string; devices: string[] }>> {
    const ids = [...new Set(contactPointIds)].filter((id) => this.partners.ownerOf(id) !== undefined);
    const cached = await foreignEntries(this.db, ids);
    const found = new Map<string, { networkId: string; devices: string[] }>();
    for (const id of ids) {
      const foreign = cached.get(id);
      if (!foreign || this.now() - foreign.fetchedAt >= FRESH_MS) {
        void this.entry(id, { refresh: true }).catch((error) =>
          this.log.warn(
            { event: 'federation.lookup-failed', code: error instanceof RelayError ? error.code : 'INTERNAL' },
            'a foreign contact point could not be looked up',
          ),
        );
      }
      if (foreign && foreign.networkId === this.partners.ownerOf(id)) {
        found.set(id, { networkId: foreign.networkId, devices: foreign.entry.devices.map((d) => d.deviceId).sort() });
      }
    }
    return found;
  }

  /**
   * A foreign contact point's prekey bundles, from its relay (which hands out its one-time prekeys,
   * once each, as for its own devices); the devices they name refresh the cached entry.
   */
  async bundles(contactPointId: string, requester: string): Promise<BundlesResponse | undefined> {
    const foreign = await this.entry(contactPointId);
    if (!foreign) return undefined;
    // Whether the requester speaks hybrid sessions, as its KEM prekeys here show: its partner cannot tell.
    const hybrid = await hasLastResortKemPrekey(this.db, requester);
    const query = new URLSearchParams({ requester, hybrid: String(hybrid) });
    const path = `/federation/v1/contact-points/${encodeURIComponent(contactPointId)}/bundles?${query}`;
    const response = await this.peers.json(foreign.networkId, 'GET', path, BundlesSchema);
    const entry = this.verified(foreign.networkId, {
      authority: response.authority,
      contactPoint: response.contactPoint,
      devices: response.bundles.map((b) => b.device),
      availability: foreign.entry.availability,
    });
    if (entry.contactPoint.contactPointId !== contactPointId) {
      throw new RelayError('CHAIN_MISMATCH', 'the partner relay answered for another contact point');
    }
    await saveForeignEntry(this.db, foreign.networkId, entry, this.now());
    return response;
  }

  /**
   * A directory search across our network and our partners': each relay searches its own, the
   * pages merge in contact point order (the cursor is the last id, valid for every relay). A
   * partner that does not answer is left out of this page, and logged.
   */
  async search(query: DirectoryQuery, local: DirectoryPage): Promise<DirectoryPage> {
    const limit = query.limit ?? 20;
    const networks = this.partners
      .list()
      .map((p) => p.networkId)
      .filter((n) => query.network === undefined || query.network === n);
    if (networks.length === 0) return local;
    const params = new URLSearchParams(
      Object.entries(query).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])),
    );
    const pages = await Promise.all(
      networks.map(async (networkId) => {
        try {
          const page = await this.peers.json(
            networkId,
            'GET',
            `/federation/v1/directory?${params}`,
            DirectoryPageSchema,
          );
          const entries = page.entries.flatMap((entry) => {
            try {
              return [{ networkId, entry: this.verified(networkId, entry) }];
            } catch {
              return [];
            }
          });
          return { entries, more: page.nextCursor !== undefined };
        } catch (error) {
          this.log.warn(
            {
              event: 'federation.search-failed',
              networkId,
              code: error instanceof RelayError ? error.code : 'INTERNAL',
            },
            'a partner relay did not answer a directory search',
          );
          return { entries: [], more: false };
        }
      }),
    );
    const localEntries = local.entries.map((entry) => ({ networkId: undefined, entry }));
    const merged = [...localEntries, ...pages.flatMap((p) => p.entries)]
      .sort((a, b) => compare(a.entry.contactPoint.contactPointId, b.entry.contactPoint.contactPointId))
      .filter(
        (x, i, all) => i === 0 || all[i - 1]?.entry.contactPoint.contactPointId !== x.entry.contactPoint.contactPointId,
      );
    const page = merged.slice(0, Math.min(limit, LIMITS.maxDirectoryPage));
    const more = merged.length > page.length || local.nextCursor !== undefined || pages.some((p) => p.more);
    const last = page.at(-1)?.entry.contactPoint.contactPointId;
    return { entries: page.map((x) => x.entry), ...(more && last && { nextCursor: last }) };
  }

  private trust(networkId: string): TrustContext {
    const root = this.partners.root(networkId);
    if (!root) throw new RelayError('FORBIDDEN', `"${networkId}" is not a partner network`);
    return { trustedRoots: [root], revocations: [], now: this.now(), verifySignature };
  }
}

/** Code point order, as PostgreSQL's "C" collation and every relay's cursor compare ids. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
