import {
  checkPartnership,
  decodeBase64url,
  encodeBase64url,
  manifestSignedBy,
  type NetworkManifest,
  type Partnership,
  type TrustedRoot,
} from '@liaison/protocol';
import { SettingError } from '../setting-error.js';
import { signingKeyPair, verifySignature } from '../sodium.js';

/** What the relay is told about federation: its signing key, and the manifests of its network and its partners. */
export interface FederationConfig {
  /** The 32-byte seed of this relay's Ed25519 signing key (`liaison relay key`). */
  signingSeed: Uint8Array;
  /** Our network's manifest and each partner's (`liaison network manifest`). */
  manifests: NetworkManifest[];
}

/**
 * Who this relay federates with, as the manifests establish it: our network (the manifest naming
 * our signing key, signed by a root we trust), and each partner whose manifest and ours name each
 * other. Built once at start; a manifest that does not hold stops the start with the reason. Our
 * manifest alone is enough: such a relay federates with nobody, and still signs its receipts.
 */
export class Partners {
  readonly network: string;
  /** Our relays' origins, as our manifest names them: the target of every request signed for us. */
  readonly origins: readonly string[];
  readonly key: { publicKey: Uint8Array; privateKey: Uint8Array };
  /**
   * The newest manifest of our network, the one naming our signing key: it certifies that key to
   * anyone who checks our "stored at" receipts (GET /v1/network/manifest serves it).
   */
  readonly manifest: NetworkManifest;
  /** What the operator should know about the manifests given (an older version left beside a newer one). */
  readonly warnings: readonly string[];
  private readonly partners = new Map<string, Partnership>();
  private readonly keys = new Map<string, { networkId: string; key: Uint8Array }>();
  /** Which network owns each authority id, ours included: the manifests say so, and may not overlap. */
  private readonly authorities = new Map<string, string>();

  constructor(config: FederationConfig, trustedRoots: readonly TrustedRoot[], variable = 'LIAISON_NETWORK_MANIFESTS') {
    this.key = signingKeyPair(config.signingSeed);
    const publicKey = encodeBase64url(this.key.publicKey);
    const { manifests, warnings } = newestVersions(config.manifests, variable);
    this.warnings = warnings;
    const ours = manifests.filter((m) => m.relays.some((r) => r.signingKey === publicKey));
    const own = ours[0];
    if (!own || ours.length > 1) {
      throw new SettingError(
        variable,
        manifests.map((m) => `${m.networkId} version ${m.version}`).join(', '),
        `exactly one manifest naming this relay's signing key ${publicKey} (of each network, only the newest version counts)`,
      );
    }
    const root = trustedRoots.find((r) => r.networkId === own.networkId);
    if (!root || !manifestSignedBy(own, root.publicKey, verifySignature)) {
      throw new SettingError(variable, own.networkId, `our manifest signed by the trusted root of "${own.networkId}"`);
    }
    this.network = own.networkId;
    this.manifest = own;
    this.origins = own.relays.filter((r) => r.signingKey === publicKey).map((r) => r.origin);
    this.own(own, variable);
    refuseSharedRelays(manifests, variable);
    for (const theirs of manifests) {
      if (theirs === own) continue;
      const check = checkPartnership(own, root.publicKey, theirs, verifySignature);
      // The check's message says what is wrong, so it goes with what was found, not as what is expected.
      if (!check.ok) {
        throw new SettingError(
          variable,
          `the manifest of "${theirs.networkId}" (${check.message})`,
          `only manifests of partner networks, each named by ours, signed by the root key ours names for it, and naming "${own.networkId}" back with our root key`,
        );
      }
      this.partners.set(theirs.networkId, check.partnership);
      this.own(theirs, variable);
      for (const relay of theirs.relays) {
        const key = decodeBase64url(relay.signingKey);
        if (key) this.keys.set(relay.signingKey, { networkId: theirs.networkId, key });
      }
    }
  }

  /** Records the authorities a manifest names as its network's; one named by two networks stops the start. */
  private own(manifest: NetworkManifest, variable: string): void {
    for (const authority of manifest.authorities) {
      const owner = this.authorities.get(authority);
      if (owner !== undefined && owner !== manifest.networkId) {
        throw new SettingError(
          variable,
          `authority "${authority}" named by the manifests of both "${owner}" and "${manifest.networkId}"`,
          'each authority id owned by one network of the federation (the secretariats agree on them)',
        );
      }
      this.authorities.set(authority, manifest.networkId);
    }
  }

  /**
   * The network whose relay speaks for a contact point id, ours included, from the authority id it
   * begins with (`am-pgo.lilit`: the network owning `am-pgo`); undefined when no manifest names it.
   */
  ownerOf(contactPointId: string): string | undefined {
    const dot = contactPointId.indexOf('.');
    return dot > 0 ? this.authorities.get(contactPointId.slice(0, dot)) : undefined;
  }

  /** Whether this chain's authority is one the network's manifest names, and the contact point's id begins with it. */
  owns(
    networkId: string,
    chain: { authority: { authorityId: string }; contactPoint: { contactPointId: string } },
  ): boolean {
    return (
      this.authorities.get(chain.authority.authorityId) === networkId &&
      chain.contactPoint.contactPointId.startsWith(`${chain.authority.authorityId}.`)
    );
  }

  list(): Partnership[] {
    return [...this.partners.values()];
  }

  get(networkId: string): Partnership | undefined {
    return this.partners.get(networkId);
  }

  /** The partner network whose relay holds this signing key (base64url), and the key's bytes. */
  byKey(keyid: string): { networkId: string; key: Uint8Array } | undefined {
    return this.keys.get(keyid);
  }

  /** The partner's root, in the form chain checks take. */
  root(networkId: string): TrustedRoot | undefined {
    const partner = this.partners.get(networkId);
    return partner && { networkId, name: networkId, publicKey: partner.rootKey };
  }
}

/**
 * Of each network, only the newest manifest counts: a relay key rotated, or a relay moved, by
 * version N+1 is no longer accepted once N+1 is given, even if the file of version N is still
 * listed (that is worth a warning, not a refusal: adding the new file first is how a rotation
 * goes). Two different manifests of one network with the same version cannot be ordered: refused.
 */
function newestVersions(
  given: readonly NetworkManifest[],
  variable: string,
): { manifests: NetworkManifest[]; warnings: string[] } {
  const newest = new Map<string, NetworkManifest>();
  const warnings: string[] = [];
  for (const manifest of given) {
    const kept = newest.get(manifest.networkId);
    if (kept && kept.version === manifest.version && kept.signature !== manifest.signature) {
      throw new SettingError(
        variable,
        `two different manifests of "${manifest.networkId}", both version ${manifest.version}`,
        'one manifest per network version: its secretariat signs a change as a new version',
      );
    }
    if (kept && kept.version !== manifest.version) {
      const [older, newer] = kept.version < manifest.version ? [kept, manifest] : [manifest, kept];
      warnings.push(
        `the manifest of "${older.networkId}" version ${older.version} is replaced by version ${newer.version}, also given: only the newer counts (remove the older file)`,
      );
      if (newer === kept) continue;
    }
    newest.set(manifest.networkId, manifest);
  }
  return { manifests: [...newest.values()], warnings };
}

/**
 * A relay signing key or origin belongs to one network. Named by two (a partner naming another
 * partner's relay, or ours), requests signed with that key would be taken as the wrong network's,
 * or ours sent to the wrong relay: refused at start rather than resolved by the order of the files.
 */
function refuseSharedRelays(manifests: readonly NetworkManifest[], variable: string): void {
  for (const [what, of] of [
    ['relay signing key', (r: { signingKey: string }) => r.signingKey],
    // Origins are canonical already (the manifest schema takes only `new URL(o).origin` spellings).
    ['relay origin', (r: { origin: string }) => r.origin],
  ] as const) {
    const owners = new Map<string, string>();
    for (const manifest of manifests) {
      for (const relay of manifest.relays) {
        const value = of(relay);
        const owner = owners.get(value);
        if (owner !== undefined && owner !== manifest.networkId) {
          throw new SettingError(
            variable,
            `the ${what} ${value} named by the manifests of both "${owner}" and "${manifest.networkId}"`,
            `each ${what} named by one network's manifest only`,
          );
        }
        owners.set(value, manifest.networkId);
      }
    }
  }
}
