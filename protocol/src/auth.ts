import { z } from 'zod';
import { DeviceId, Ed25519Signature, fixedBytes, PlainString, Timestamp } from './primitives.js';

/** What a proof of key possession is for; a proof for one purpose is refused for another. */
export const AuthPurpose = z.enum(['register', 'socket', 'token']);
export type AuthPurpose = z.infer<typeof AuthPurpose>;

export const AuthChallengeRequest = z.strictObject({
  deviceId: DeviceId,
  purpose: AuthPurpose,
});
export type AuthChallengeRequest = z.infer<typeof AuthChallengeRequest>;

/** Issued by the relay, single use, valid for LIMITS.challengeTtlMs. */
export const AuthChallenge = z.strictObject({
  nonce: fixedBytes(32),
  purpose: AuthPurpose,
  issuedAt: Timestamp,
  expiresAt: Timestamp,
  /** The relay's public origin, so a proof made for one relay is useless at another. */
  origin: PlainString.min(1).max(200),
});
export type AuthChallenge = z.infer<typeof AuthChallenge>;

/** The fields the device signs (encodeAuthChallenge). */
export type AuthChallengeStatement = Pick<AuthChallenge, 'purpose' | 'nonce' | 'issuedAt' | 'origin'> & {
  deviceId: string;
};

/** The device's answer: its id, the nonce it was given, and its signature over the statement. */
export const AuthProof = z.strictObject({
  deviceId: DeviceId,
  nonce: fixedBytes(32),
  signature: Ed25519Signature,
});
export type AuthProof = z.infer<typeof AuthProof>;

export const AuthToken = z.strictObject({
  token: PlainString.min(16).max(256),
  expiresAt: Timestamp,
});
export type AuthToken = z.infer<typeof AuthToken>;

/**
 * The revision of the socket events a client speaks, declared in the handshake's query
 * (`?events=2`, SOCKET_EVENTS_QUERY). 2: the relay pushes `envelopes` and `receipts`, several to a
 * frame (revision 1, never declared, had one `envelope` or `receipt` per event). The relay refuses
 * any other with UPGRADE_REQUIRED, so that a client that would listen for events it no longer sends
 * fails visibly instead of staying connected and deaf (review 25b, finding 3). In the query, not in
 * `auth`: a relay of revision 1 ignores the query but refuses an `auth` with a field it does not
 * know, so a new client can still reach a node not yet upgraded during a rolling upgrade (review
 * 25b, finding 8), where it takes the events of revision 1. Raised only when the events change
 * incompatibly.
 */
export const SOCKET_EVENTS_REVISION = 2;
/** The handshake query parameter that carries SOCKET_EVENTS_REVISION. */
export const SOCKET_EVENTS_QUERY = 'events';

/** The `auth` object a device passes in the socket.io handshake. */
export const HandshakeAuth = z.strictObject({ proof: AuthProof });
export type HandshakeAuth = z.infer<typeof HandshakeAuth>;
