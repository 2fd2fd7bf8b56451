import {
  AuthChallenge,
  type AuthProof,
  type AuthPurpose,
  AuthToken,
  type Availability,
  BLOB_CHUNK_BYTES,
  BlobStatus,
  BundlesResponse,
  type CertificateChain,
  type CreateBlobRequest,
  DirectoryEntry,
  DirectoryPage,
  type DirectoryQuery,
  ErrorBody,
  type OneTimePrekey,
  PrekeyCount,
  type PrekeyUpload,
  ReceiptsPage,
  RegisterDeviceResponse,
  type SignedPrekey,
  UrgentState,
} from '@liaison/protocol';
import { z } from 'zod';
import { answerChallenge } from '../auth.js';
import { concat } from '../crypto/bytes.js';
import type { IdentityKeyPair } from '../crypto/keys.js';
import { LiaisonError } from '../errors.js';
import type { RelayClock } from './relay-clock.js';

/**
 * The relay's HTTP API as the SDK uses it. Every response is checked against its schema before
 * it is used: the relay is not trusted to send well-formed data, let alone honest data.
 */
export class RelayApi {
  private token: AuthToken | undefined;

  constructor(
    private readonly serverUrl: string,
    private readonly identity: IdentityKeyPair,
    private readonly deviceId: string,
    private readonly relayOrigin: string,
    private readonly clock: RelayClock,
    private readonly local: () => number,
  ) {}

  /**
   * Signs a fresh challenge. Only one bound to this relay's origin: a relay that asks for a
   * signature meant for another origin may be passing on another relay's challenge.
   */
  async proof(purpose: AuthPurpose): Promise<AuthProof> {
    const sentAt = this.local();
    const challenge = await this.call('POST', '/v1/auth/challenge', AuthChallenge, {
      deviceId: this.deviceId,
      purpose,
    });
    this.clock.sample(challenge.issuedAt, sentAt, this.local());
    if (challenge.origin !== this.relayOrigin || challenge.purpose !== purpose) {
      throw new LiaisonError(
        'BAD_CHALLENGE',
        `the relay asked to sign a challenge for ${challenge.origin}, not ${this.relayOrigin}`,
      );
    }
    return answerChallenge(this.identity, challenge);
  }

  register(chain: CertificateChain, signedPrekey: SignedPrekey, oneTimePrekeys: OneTimePrekey[]) {
    return this.proof('register').then((proof) =>
      this.call('POST', '/v1/devices', RegisterDeviceResponse, { chain, signedPrekey, oneTimePrekeys, proof }),
    );
  }

  prekeyCount() {
    return this.authed('GET', '/v1/prekeys/count', PrekeyCount);
  }
  uploadPrekeys(upload: PrekeyUpload) {
    return this.authed('POST', '/v1/prekeys', PrekeyCount, upload);
  }
  bundles(contactPointId: string) {
    return this.authed('GET', `/v1/contact-points/${encodeURIComponent(contactPointId)}/bundles`, BundlesResponse);
  }
  contactPoint(contactPointId: string) {
    return this.authed('GET', `/v1/contact-points/${encodeURIComponent(contactPointId)}`, DirectoryEntry);
  }
  directory(query: DirectoryQuery) {
    const params = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
    return this.authed('GET', `/v1/directory?${params}`, DirectoryPage);
  }
  receipts(after: number) {
    return this.authed('GET', `/v1/receipts?after=${after}`, ReceiptsPage);
  }
  urgent(messageId: string) {
    return this.authed('GET', `/v1/urgent/${encodeURIComponent(messageId)}`, UrgentState);
  }
  setAvailability(availability: Availability) {
    return this.authed('PUT', '/v1/availability', DirectoryEntry.shape.availability, availability);
  }
  createBlob(request: CreateBlobRequest) {
    return this.authed('POST', '/v1/blobs', BlobStatus, request);
  }
  blobStatus(blobId: string) {
    return this.authed('GET', blobPath(blobId), BlobStatus);
  }
  setBlobReaders(blobId: string, readers: string[]) {
    return this.authed('PUT', `${blobPath(blobId)}/readers`, BlobStatus, { readers });
  }
  putChunk(blobId: string, index: number, bytes: Uint8Array) {
    return this.authed('PUT', `${blobPath(blobId)}/chunks/${index}`, BlobStatus, bytes);
  }
  /** One chunk's ciphertext; never more than a chunk's bytes are read, whatever the relay sends. */
  getChunk(blobId: string, index: number) {
    return this.authed('GET', `${blobPath(blobId)}/chunks/${index}`, CHUNK);
  }
  blobDownloaded(blobId: string) {
    return this.authed('POST', `${blobPath(blobId)}/downloaded`, BlobStatus);
  }

  /** A call with a bearer token, minted from a fresh proof when there is none or it is about to expire. */
  private async authed<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S | typeof CHUNK,
    body?: unknown,
  ): Promise<z.infer<S>> {
    // The token's expiry is the relay's time.
    if (!this.token || this.token.expiresAt - 30_000 < this.clock.now()) {
      this.token = await this.call('POST', '/v1/auth/token', AuthToken, await this.proof('token'));
    }
    try {
      return await this.call(method, path, schema, body, this.token.token);
    } catch (error) {
      if (!(error instanceof LiaisonError) || error.code !== 'UNAUTHENTICATED') throw error;
      this.token = undefined;
      return this.authed(method, path, schema, body);
    }
  }

  private async call<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S | typeof CHUNK,
    body?: unknown,
    token?: string,
  ): Promise<z.infer<S>> {
    const bytes = body instanceof Uint8Array;
    let response: Response;
    try {
      response = await fetch(`${this.serverUrl}${path}`, {
        method,
        headers: {
          ...(body !== undefined && { 'content-type': bytes ? 'application/octet-stream' : 'application/json' }),
          ...(token && { authorization: `Bearer ${token}` }),
        },
        ...(body !== undefined && { body: bytes ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body) }),
      });
      if (schema === CHUNK && response.ok) return (await readCapped(response, BLOB_CHUNK_BYTES)) as z.infer<S>;
    } catch (error) {
      if (error instanceof LiaisonError) throw error;
      throw new LiaisonError('UNAVAILABLE', `the relay at ${this.serverUrl} cannot be reached`);
    }
    const json: unknown = await response.json().catch(() => undefined);
    if (!response.ok) {
      const error = ErrorBody.safeParse(json);
      if (error.success) throw LiaisonError.fromWire(error.data);
      throw new LiaisonError(
        response.status >= 500 ? 'UNAVAILABLE' : 'INTERNAL',
        `the relay answered ${response.status}`,
      );
    }
    const parsed = (schema as S).safeParse(json);
    if (!parsed.success)
      throw new LiaisonError('INVALID_MESSAGE', `the relay's answer to ${method} ${path.split('?')[0]} is malformed`);
    return parsed.data;
  }
}

/** Marks a call whose answer is one attachment chunk, as bytes. */
const CHUNK = z.instanceof(Uint8Array);

function blobPath(blobId: string): string {
  return `/v1/blobs/${encodeURIComponent(blobId)}`;
}

/** The body, refused as soon as it passes `max` bytes: a hostile relay cannot make the SDK buffer more. */
async function readCapped(response: Response, max: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const part of response.body ?? []) {
    length += part.length;
    if (length > max) {
      await response.body?.cancel().catch(() => undefined);
      throw new LiaisonError('INVALID_MESSAGE', `the relay sent a chunk of more than ${max} bytes`);
    }
    parts.push(part);
  }
  return concat(...parts);
}
