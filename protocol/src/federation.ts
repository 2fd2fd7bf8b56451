import { z } from 'zod';
import { decodeBase64url } from './base64url.js';
import { encodeNetworkManifest } from './canonical.js';
import { CertificateChain, type Unsigned } from './certificates.js';
import { Receipt, SendRequest } from './envelope.js';
import {
  AuthorityId,
  Ed25519PublicKey,
  Ed25519Signature,
  fixedBytes,
  NetworkId,
  PlainString,
  Timestamp,
  uniqueList,
} from './primitives.js';
import { UrgentState } from './urgent.js';
import type { SignatureCheck } from './verify.js';

/**
 * Federation: each network runs its own relay, and relays of partner networks deliver to each
 * other. A network's root signs a manifest naming its relays (origin and signing key) and the
 * networks it federates with (their ids and root keys); a partnership counts only when both
 * networks' manifests name each other (docs/federation.md).
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A relay's origin: https, or plain http on a loopback address only (tests and development),
 * without a path, query or credentials.
 */
export const RelayOrigin = PlainString.max(200).refine((text) => {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  return secure && url.origin === text;
}, 'an origin such as https://relay.example.org (plain http only on a loopback address)');

export const ManifestRelay = z.strictObject({
  origin: RelayOrigin,
  /** The Ed25519 key the relay signs its requests to partner relays with. */
  signingKey: Ed25519PublicKey,
});
export type ManifestRelay = z.infer<typeof ManifestRelay>;

export const ManifestPartner = z.strictObject({
  networkId: NetworkId,
  rootKey: Ed25519PublicKey,
});
export type ManifestPartner = z.infer<typeof ManifestPartner>;

/**
 * A relay's signing key on disk, as `liaison relay key` writes it (mode 0600) and the relay reads it
 * from LIAISON_RELAY_KEY: the 32-byte Ed25519 seed, from which the key pair is made again. The
 * public key is not stored beside it, so the file cannot hold two halves that disagree.
 */
export const RelayKeyFile = z.strictObject({ seed: fixedBytes(32) });
export type RelayKeyFile = z.infer<typeof RelayKeyFile>;

/** Authorities one network's manifest may name. */
export const MAX_MANIFEST_AUTHORITIES = 256;

/**
 * Signed by the network's root key; a newer version replaces an older one. `authorities` are the
 * authority ids the network owns in the federation: a contact point id begins with its authority's
 * id and a dot (`am-pgo.lilit`), so the manifests say which network's relay speaks for each id,
 * and no partner can answer for an id of another network's authority.
 */
export const NetworkManifest = z
  .strictObject({
    networkId: NetworkId,
    version: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
    issuedAt: Timestamp,
    relays: z.array(ManifestRelay).min(1).max(8),
    authorities: uniqueList(AuthorityId, MAX_MANIFEST_AUTHORITIES).min(1),
    partners: z.array(ManifestPartner).max(64),
    signature: Ed25519Signature,
  })
  .refine((m) => new Set(m.relays.map((r) => r.origin)).size === m.relays.length, {
    message: 'each relay origin once',
    path: ['relays'],
  })
  .refine((m) => new Set(m.partners.map((p) => p.networkId)).size === m.partners.length, {
    message: 'each partner network once',
    path: ['partners'],
  })
  .refine((m) => !m.partners.some((p) => p.networkId === m.networkId), {
    message: 'a network is not its own partner',
    path: ['partners'],
  });
export type NetworkManifest = z.infer<typeof NetworkManifest>;
export type UnsignedNetworkManifest = Unsigned<NetworkManifest>;

/**
 * What one relay forwards to a partner's relay, in the order it must be applied: messages (the
 * sender's send request, cut down to the envelopes and recipients of the partner's network, with
 * the sender's certificate chain so that the partner checks it belongs to the sending network),
 * and receipts and urgent states flowing back to the sender's relay.
 */
export const ForwardedMessage = z.strictObject({
  kind: z.literal('message'),
  sender: CertificateChain,
  request: SendRequest,
});
export type ForwardedMessage = z.infer<typeof ForwardedMessage>;

export const ForwardedReceipt = z.strictObject({
  kind: z.literal('receipt'),
  /** The receipt's id on the relay that made it: the same receipt forwarded twice is recorded once. */
  id: z.int().min(1).max(Number.MAX_SAFE_INTEGER),
  receipt: Receipt,
});
export type ForwardedReceipt = z.infer<typeof ForwardedReceipt>;

export const ForwardedUrgentState = z.strictObject({
  kind: z.literal('urgent'),
  state: UrgentState,
});
export type ForwardedUrgentState = z.infer<typeof ForwardedUrgentState>;

export const ForwardedItem = z.discriminatedUnion('kind', [ForwardedMessage, ForwardedReceipt, ForwardedUrgentState]);
export type ForwardedItem = z.infer<typeof ForwardedItem>;

export const FEDERATION_LIMITS = {
  /** Items in one forwarding request. */
  maxItemsPerBatch: 64,
  /**
   * One forwarding request's body: a batch holds at least one message of the largest size
   * (4 MiB of ciphertext, as base64url in JSON, with its certificates).
   */
  maxBatchBodyBytes: 12 * 1024 * 1024,
  /** How far a signed request's creation time may be from the receiver's clock. */
  maxRequestAgeMs: 5 * 60 * 1000,
} as const;

export const ForwardBatch = z.strictObject({
  items: z.array(ForwardedItem).min(1).max(FEDERATION_LIMITS.maxItemsPerBatch),
});
export type ForwardBatch = z.infer<typeof ForwardBatch>;

/**
 * What became of each item, in the batch's order: stored (or recorded), already had, or refused
 * for good with a stable code (the sender's relay does not send it again).
 */
export const ForwardOutcome = z.union([
  z.strictObject({ outcome: z.enum(['stored', 'duplicate']) }),
  z.strictObject({ outcome: z.literal('refused'), code: PlainString.max(64), message: PlainString.max(500) }),
]);
export type ForwardOutcome = z.infer<typeof ForwardOutcome>;

export const ForwardAnswer = z.strictObject({
  outcomes: z.array(ForwardOutcome).max(FEDERATION_LIMITS.maxItemsPerBatch),
});
export type ForwardAnswer = z.infer<typeof ForwardAnswer>;

/** Whether `manifest` is signed by `rootKey` (base64url), over its canonical encoding. */
export function manifestSignedBy(manifest: NetworkManifest, rootKey: string, verifySignature: SignatureCheck): boolean {
  const { signature, ...body } = manifest;
  const key = decodeBase64url(rootKey);
  const sig = decodeBase64url(signature);
  if (!key || !sig) return false;
  try {
    return verifySignature(key, encodeNetworkManifest(body), sig);
  } catch {
    return false;
  }
}

/** A partner network as both manifests establish it. */
export interface Partnership {
  networkId: string;
  rootKey: string;
  relays: readonly ManifestRelay[];
  manifest: NetworkManifest;
}

export type PartnershipCheck =
  | { ok: true; partnership: Partnership }
  | { ok: false; reason: 'not-named' | 'bad-signature' | 'not-mutual'; message: string };

/**
 * Whether `theirs` makes its network a partner of `ours`: our manifest names their network and
 * root key, their manifest is signed by that root key, and it names our network with our root key.
 * `ours` is assumed checked against our own root already.
 */
export function checkPartnership(
  ours: NetworkManifest,
  ourRootKey: string,
  theirs: NetworkManifest,
  verifySignature: SignatureCheck,
): PartnershipCheck {
  const named = ours.partners.find((p) => p.networkId === theirs.networkId);
  if (!named) {
    return { ok: false, reason: 'not-named', message: `our manifest does not name "${theirs.networkId}" as a partner` };
  }
  if (!manifestSignedBy(theirs, named.rootKey, verifySignature)) {
    return {
      ok: false,
      reason: 'bad-signature',
      message: `the manifest of "${theirs.networkId}" is not signed by the root key our manifest names for it`,
    };
  }
  const back = theirs.partners.find((p) => p.networkId === ours.networkId);
  if (!back || back.rootKey !== ourRootKey) {
    return {
      ok: false,
      reason: 'not-mutual',
      message: `the manifest of "${theirs.networkId}" does not name "${ours.networkId}" with our root key as a partner`,
    };
  }
  return {
    ok: true,
    partnership: { networkId: theirs.networkId, rootKey: named.rootKey, relays: theirs.relays, manifest: theirs },
  };
}
