import {
  AuthorityCertificate,
  ContactPointCertificate,
  DeviceCertificate,
  encodeAuthorityCertificate,
  encodeBase64url,
  encodeContactPointCertificate,
  encodeDeviceCertificate,
  encodeNetworkManifest,
  encodeRevocation,
  encodeWebhookRegistration,
  NetworkManifest,
  parseInput,
  Revocation,
  TrustedRoot,
  type Unsigned,
  type UnsignedNetworkManifest,
  WebhookRegistration,
} from '@liaison/protocol';
import type { z } from 'zod';
import { generateIdentityKeyPair, type IdentityKeyPair, sign } from '../crypto/keys.js';
import { LiaisonError } from '../errors.js';

/**
 * Issuing the four signed statements of the trust model. Each statement is checked against its
 * schema before it is signed, so nothing is issued that a relay or client would refuse.
 */

function checked<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = parseInput(schema, value);
  if (!parsed.ok) throw LiaisonError.fromWire(parsed.error);
  return parsed.value;
}

function signed<S extends z.ZodType>(
  schema: S,
  body: Record<string, unknown>,
  encode: (body: never) => Uint8Array,
  issuer: IdentityKeyPair,
): z.infer<S> {
  // Validate the body with a placeholder signature first: a bad field fails before anything is signed.
  checked(schema, { ...body, signature: encodeBase64url(new Uint8Array(64)) });
  const signature = encodeBase64url(sign(issuer, encode(body as never)));
  return checked(schema, { ...body, signature });
}

/** A new network: its root key pair (keep the private key offline) and the public root to distribute. */
export function createNetworkRoot(networkId: string, name: string): { root: TrustedRoot; keyPair: IdentityKeyPair } {
  const keyPair = generateIdentityKeyPair();
  const root = checked(TrustedRoot, { networkId, name, publicKey: encodeBase64url(keyPair.publicKey) });
  return { root, keyPair };
}

/** The network root certifies an authority's key. */
export function issueAuthorityCertificate(
  rootKeyPair: IdentityKeyPair,
  body: Unsigned<AuthorityCertificate>,
): AuthorityCertificate {
  return signed(AuthorityCertificate, body, encodeAuthorityCertificate, rootKeyPair);
}

/** An authority designates a contact point. */
export function designateContactPoint(
  authorityKeyPair: IdentityKeyPair,
  body: Unsigned<ContactPointCertificate>,
): ContactPointCertificate {
  return signed(ContactPointCertificate, body, encodeContactPointCertificate, authorityKeyPair);
}

/** A contact point's account key certifies one of its devices. */
export function certifyDevice(accountKeyPair: IdentityKeyPair, body: Unsigned<DeviceCertificate>): DeviceCertificate {
  return signed(DeviceCertificate, body, encodeDeviceCertificate, accountKeyPair);
}

/** The issuer above a subject revokes it (root: authority; authority: contact point; account: device). */
export function revoke(issuerKeyPair: IdentityKeyPair, body: Omit<Unsigned<Revocation>, 'issuerKey'>): Revocation {
  const full = { ...body, issuerKey: encodeBase64url(issuerKeyPair.publicKey) };
  return signed(Revocation, full, encodeRevocation, issuerKeyPair);
}

/** The network root names its relays and partner networks (docs/federation.md). */
export function issueNetworkManifest(rootKeyPair: IdentityKeyPair, body: UnsignedNetworkManifest): NetworkManifest {
  return signed(NetworkManifest, body, encodeNetworkManifest, rootKeyPair);
}

/**
 * An authority registers (or, without `url`, removes) the webhook that gets metadata-only alerts
 * about urgent messages to its contact points. `secret` (32 random bytes, base64url) keys the
 * HMAC of every alert; keep it where the webhook's receiver can check signatures.
 */
export function registerWebhook(
  authorityKeyPair: IdentityKeyPair,
  body: Unsigned<WebhookRegistration>,
): WebhookRegistration {
  return signed(WebhookRegistration, body, encodeWebhookRegistration, authorityKeyPair);
}
