import {
  type AuthChallenge,
  type AuthProof,
  type AuthPurpose,
  type AuthToken,
  type CertificateChain,
  encodeAuthChallenge,
  encodeBase64url,
  LIMITS,
  type TrustedRoot,
  verifyDevice,
} from '@liaison/protocol';
import type { Kysely } from 'kysely';
import { RelayError } from '../errors.js';
import { keyedHash, randomBytes, signedBy, verifySignature } from '../sodium.js';
import { deviceChain, deviceStillValid, revocations } from '../storage/directory.js';
import type { Database } from '../storage/schema.js';
import type { EphemeralStore } from './ephemeral-store.js';

/** Who an authenticated socket or request is. */
export interface DeviceIdentity {
  deviceId: string;
  contactPointId: string;
}

interface StoredChallenge {
  deviceId: string;
  purpose: AuthPurpose;
  issuedAt: number;
  /** The origin the challenge names (absent in challenges stored before several origins were allowed). */
  origin?: string;
}

/**
 * Authentication by possession of the device key. The relay issues a random, single-use,
 * 60-second challenge bound to the device, a purpose and the relay's origin; the device signs the
 * canonical encoding of it. No password exists anywhere. A proof also re-checks the device's
 * certificate chain, so an expired or revoked device cannot authenticate.
 */
export class Authenticator {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly store: EphemeralStore,
    private readonly options: {
      /**
       * Read at each challenge: a relay on port 0 knows its origin only once it listens. Given the
       * origin the request addressed (its Host), to pick it among several public origins.
       */
      origin: (addressed?: string) => string;
      trustedRoots: readonly TrustedRoot[];
      tokenTtlMs: number;
      /**
       * The key under which tokens are hashed before they are stored: whoever reads the ephemeral
       * store (Redis, in a cluster) finds no token, and cannot test a guess without this key.
       */
      tokenKey: Uint8Array;
      now: () => number;
    },
  ) {}

  /** `addressed`: the origin the request addressed (requestOrigin), to name it when it is a listed public origin. */
  async issueChallenge(deviceId: string, purpose: AuthPurpose, addressed?: string): Promise<AuthChallenge> {
    const issuedAt = this.options.now();
    const nonce = encodeBase64url(randomBytes(32));
    const origin = this.options.origin(addressed);
    const stored: StoredChallenge = { deviceId, purpose, issuedAt, origin };
    await this.store.put(`challenge:${nonce}`, JSON.stringify(stored), LIMITS.challengeTtlMs);
    return { nonce, purpose, issuedAt, expiresAt: issuedAt + LIMITS.challengeTtlMs, origin };
  }

  /** Checks a proof and uses up its challenge, whatever the outcome: a proof is tried once. */
  async verifyProof(proof: AuthProof, purpose: AuthPurpose): Promise<void> {
    const raw = await this.store.take(`challenge:${proof.nonce}`);
    if (!raw) throw new RelayError('BAD_CHALLENGE', 'unknown, expired or already used challenge; ask for a new one');
    const challenge = JSON.parse(raw) as StoredChallenge;
    if (challenge.deviceId !== proof.deviceId)
      throw new RelayError('BAD_CHALLENGE', 'this challenge was issued to another device');
    if (challenge.purpose !== purpose)
      throw new RelayError('BAD_CHALLENGE', `this challenge is for "${challenge.purpose}", not "${purpose}"`);
    if (this.options.now() > challenge.issuedAt + LIMITS.challengeTtlMs)
      throw new RelayError('BAD_CHALLENGE', 'the challenge expired');
    const statement = encodeAuthChallenge({
      purpose,
      nonce: proof.nonce,
      issuedAt: challenge.issuedAt,
      origin: challenge.origin ?? this.options.origin(),
      deviceId: proof.deviceId,
    });
    if (!signedBy(proof.deviceId, statement, proof.signature)) {
      throw new RelayError('UNAUTHENTICATED', 'the proof is not signed by the device key');
    }
  }

  /** A proof from a registered device whose chain still verifies now. */
  async authenticate(proof: AuthProof, purpose: AuthPurpose): Promise<DeviceIdentity> {
    await this.verifyProof(proof, purpose);
    return this.registeredDevice(proof.deviceId);
  }

  async registeredDevice(deviceId: string): Promise<DeviceIdentity> {
    const chain = await deviceChain(this.db, deviceId);
    if (!chain) throw new RelayError('UNAUTHENTICATED', 'this device is not registered');
    await this.verifyChain(chain);
    return { deviceId, contactPointId: chain.contactPoint.contactPointId };
  }

  /** A device's chain, against the configured roots and the revocations received, now. */
  async verifyChain(chain: CertificateChain): Promise<void> {
    const verdict = verifyDevice(chain, {
      trustedRoots: this.options.trustedRoots,
      revocations: await revocations(this.db),
      now: this.options.now(),
      verifySignature,
    });
    if (!verdict.ok) throw new RelayError(verdict.code, verdict.message);
  }

  async mintToken(identity: DeviceIdentity): Promise<AuthToken> {
    const token = encodeBase64url(randomBytes(32));
    await this.store.put(this.tokenEntry(token), JSON.stringify(identity), this.options.tokenTtlMs);
    return { token, expiresAt: this.options.now() + this.options.tokenTtlMs };
  }

  /**
   * The device a token was minted for, if it may still act: a token outlives neither a revocation
   * (which removes the device) nor the expiry of any certificate in its chain.
   */
  async resolveToken(token: string): Promise<DeviceIdentity> {
    const identity = await this.tokenIdentity(token);
    await this.stillValid(identity);
    return identity;
  }

  /** Refuses a device revoked, or whose chain expired, since its token was minted. */
  async stillValid(identity: DeviceIdentity): Promise<void> {
    if (!(await deviceStillValid(this.db, identity.deviceId, this.options.now()))) throw deviceNoLongerValid();
  }

  /**
   * The device a token was minted for, WITHOUT checking that it may still act: only for a route
   * whose handler checks that itself, in the statement it runs anyway (`checksDevice` in route.ts).
   */
  async tokenIdentity(token: string): Promise<DeviceIdentity> {
    const raw = token.length <= 64 ? await this.store.get(this.tokenEntry(token)) : undefined;
    if (!raw) throw new RelayError('UNAUTHENTICATED', 'missing, unknown or expired token');
    return JSON.parse(raw) as DeviceIdentity;
  }

  /** Where a token's identity is kept: under a keyed hash of the token, never the token itself. */
  private tokenEntry(token: string): string {
    return `token:${keyedHash(this.options.tokenKey, token)}`;
  }
}

/** What a token of a device revoked since, or whose chain expired since, gets: from resolveToken or a route that checks itself. */
export function deviceNoLongerValid(): RelayError {
  return new RelayError('UNAUTHENTICATED', 'this device was revoked, or a certificate of its chain expired');
}
