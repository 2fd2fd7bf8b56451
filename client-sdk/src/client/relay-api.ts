import {
  type AuthProof,
  type AuthPurpose,
  type AuthToken,
  type Availability,
  BLOB_CHUNK_BYTES,
  type CertificateChain,
  ChunkBytes,
  type CreateBlobRequest,
  type DirectoryQuery,
  ENDPOINTS,
  type Endpoint,
  type EndpointInput,
  type EndpointOutput,
  ErrorBody,
  endpointPath,
  type KemPrekey,
  type OneTimePrekey,
  type PrekeyUpload,
  type SignedPrekey,
} from '@liaison/protocol';
import type { z } from 'zod';
import { answerChallenge } from '../auth.js';
import { concat } from '../crypto/bytes.js';
import type { IdentityKeyPair } from '../crypto/keys.js';
import { LiaisonError } from '../errors.js';
import type { RelayClock } from './relay-clock.js';
import { originMismatch, unreachableRelay } from './relay-errors.js';

/** What one call of an endpoint carries: its path's parameters and its input, as the endpoint defines them. */
type Call<E extends Endpoint> = (keyof z.input<E['params']> extends never
  ? { params?: undefined }
  : { params: { [K in keyof z.input<E['params']>]: string | number } }) &
  (E['source'] extends 'none' ? { input?: undefined } : { input: EndpointInput<E> });

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
    /** The platform's fetch unless the application gives its own (LiaisonClientOptions.fetch). */
    private readonly send: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  /**
   * Signs a fresh challenge. Only one bound to this relay's origin: a relay that asks for a
   * signature meant for another origin may be passing on another relay's challenge.
   */
  async proof(purpose: AuthPurpose): Promise<AuthProof> {
    const sentAt = this.local();
    const challenge = await this.call(ENDPOINTS.authChallenge, { input: { deviceId: this.deviceId, purpose } });
    this.clock.sample(challenge.issuedAt, sentAt, this.local());
    if (challenge.origin !== this.relayOrigin) throw originMismatch(challenge.origin, this.relayOrigin);
    if (challenge.purpose !== purpose) {
      throw new LiaisonError(
        'BAD_CHALLENGE',
        `the relay asked to sign a challenge for ${challenge.purpose}, not ${purpose}`,
      );
    }
    return answerChallenge(this.identity, challenge);
  }

  register(
    chain: CertificateChain,
    signedPrekey: SignedPrekey,
    oneTimePrekeys: OneTimePrekey[],
    kemPrekeys: KemPrekey[],
  ) {
    return this.proof('register').then((proof) =>
      this.call(ENDPOINTS.registerDevice, { input: { chain, signedPrekey, oneTimePrekeys, kemPrekeys, proof } }),
    );
  }

  prekeyCount() {
    return this.authed(ENDPOINTS.prekeyCount, {});
  }
  uploadPrekeys(upload: PrekeyUpload) {
    return this.authed(ENDPOINTS.uploadPrekeys, { input: upload });
  }
  bundles(contactPointId: string) {
    return this.authed(ENDPOINTS.bundles, { params: { contactPointId } });
  }
  contactPoint(contactPointId: string) {
    return this.authed(ENDPOINTS.contactPoint, { params: { contactPointId } });
  }
  directory(query: DirectoryQuery) {
    return this.authed(ENDPOINTS.directory, { input: query });
  }
  receipts(after: number) {
    return this.authed(ENDPOINTS.receipts, { input: { after } });
  }
  urgent(messageId: string) {
    return this.authed(ENDPOINTS.urgent, { params: { messageId } });
  }
  setAvailability(availability: Availability) {
    return this.authed(ENDPOINTS.setAvailability, { input: availability });
  }
  createBlob(request: CreateBlobRequest) {
    return this.authed(ENDPOINTS.createBlob, { input: request });
  }
  blobStatus(blobId: string) {
    return this.authed(ENDPOINTS.blobStatus, { params: { blobId } });
  }
  setBlobReaders(blobId: string, readers: string[]) {
    return this.authed(ENDPOINTS.setBlobReaders, { params: { blobId }, input: { readers } });
  }
  putChunk(blobId: string, index: number, bytes: Uint8Array) {
    return this.authed(ENDPOINTS.putChunk, { params: { blobId, index }, input: bytes });
  }
  /** One chunk's ciphertext; never more than a chunk's bytes are read, whatever the relay sends. */
  getChunk(blobId: string, index: number) {
    return this.authed(ENDPOINTS.getChunk, { params: { blobId, index } });
  }
  blobDownloaded(blobId: string) {
    return this.authed(ENDPOINTS.blobDownloaded, { params: { blobId } });
  }
  /** The relay's network manifest, unchecked: the caller verifies it against its roots. */
  networkManifest() {
    return this.call(ENDPOINTS.networkManifest, {});
  }

  /** A call with a bearer token, minted from a fresh proof when there is none or it is about to expire. */
  private async authed<E extends Endpoint>(endpoint: E, call: Call<E>): Promise<EndpointOutput<E>> {
    // The token's expiry is the relay's time.
    if (!this.token || this.token.expiresAt - 30_000 < this.clock.now()) {
      this.token = await this.call(ENDPOINTS.authToken, { input: await this.proof('token') });
    }
    try {
      return await this.call(endpoint, call, this.token.token);
    } catch (error) {
      if (!(error instanceof LiaisonError) || error.code !== 'UNAUTHENTICATED') throw error;
      this.token = undefined;
      return this.authed(endpoint, call);
    }
  }

  private async call<E extends Endpoint>(endpoint: E, call: Call<E>, token?: string): Promise<EndpointOutput<E>> {
    const { path, body, type } = request(endpoint, call);
    const method = endpoint.method.toUpperCase();
    let response: Response;
    let chunk: Uint8Array | undefined;
    let json: Uint8Array | undefined;
    try {
      response = await this.send(`${this.serverUrl}${path}`, {
        method,
        headers: { ...(type && { 'content-type': type }), ...(token && { authorization: `Bearer ${token}` }) },
        ...(body !== undefined && { body }),
      });
      if (endpoint.output === ChunkBytes && response.ok)
        chunk = await readCapped(response, BLOB_CHUNK_BYTES, 'a chunk');
      else json = await readCapped(response, MAX_JSON_ANSWER_BYTES, 'an answer');
    } catch (error) {
      if (error instanceof LiaisonError) throw error;
      throw await unreachableRelay(this.serverUrl);
    }
    const answer: unknown = chunk ?? (json && parsedJson(json));
    if (!response.ok) {
      const error = ErrorBody.safeParse(answer);
      if (error.success) throw LiaisonError.fromWire(error.data);
      throw new LiaisonError(
        response.status >= 500 ? 'UNAVAILABLE' : 'INTERNAL',
        `the relay answered ${response.status}`,
      );
    }
    const parsed = safeParse<E['output']>(endpoint.output, answer);
    if (!parsed.success)
      throw new LiaisonError('INVALID_MESSAGE', `the relay's answer to ${method} ${endpoint.path} is malformed`);
    return parsed.data;
  }
}

/** The path (with the query), body and content type of one call, as its endpoint defines them. */
function request<E extends Endpoint>(
  endpoint: E,
  call: Call<E>,
): { path: string; body?: string | Uint8Array<ArrayBuffer>; type?: string } {
  const path = endpointPath(endpoint, call.params ?? {});
  const { input } = call;
  if (input === undefined || input === null || endpoint.source === 'none') return { path };
  if (endpoint.source === 'bytes' && input instanceof Uint8Array) {
    return { path, body: input as Uint8Array<ArrayBuffer>, type: 'application/octet-stream' };
  }
  if (endpoint.source === 'query') {
    const fields = Object.entries(input).filter(([, value]) => value !== undefined);
    const query = new URLSearchParams(fields.map(([key, value]): [string, string] => [key, String(value)]));
    return { path: fields.length > 0 ? `${path}?${query}` : path };
  }
  return { path, body: JSON.stringify(input), type: 'application/json' };
}

/** `endpoint.output.safeParse` typed as its schema: called on the property itself, TypeScript widens it to any schema. */
function safeParse<S extends z.ZodType>(schema: S, value: unknown) {
  return schema.safeParse(value);
}

/**
 * The most of a JSON answer that is read: about three times the largest the protocol allows (a
 * directory page of 100 entries, each with 8 devices and every field at its longest: about 1.3 MB),
 * so that a relay cannot make the SDK hold more, whitespace being valid JSON however much of it
 * there is.
 */
const MAX_JSON_ANSWER_BYTES = 4 * 1024 * 1024;

/** The answer's JSON, or undefined for a body that is none (empty, a proxy's HTML page). */
function parsedJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * The body, refused as soon as it passes `max` bytes: a hostile relay cannot make the SDK buffer more.
 * When the relay states the length (it does for every chunk), the bytes are copied as they arrive
 * into one buffer of that length, so a chunk is never held twice (its pieces and their concatenation).
 */
async function readCapped(response: Response, max: number, what: 'a chunk' | 'an answer'): Promise<Uint8Array> {
  // A stated length counts encoded bytes: with a content encoding (a proxy's gzip) it is not the body's.
  const stated = response.headers.has('content-encoding')
    ? Number.NaN
    : Number(response.headers.get('content-length') ?? Number.NaN);
  const into = Number.isSafeInteger(stated) && stated >= 0 && stated <= max ? new Uint8Array(stated) : undefined;
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const part of response.body ?? []) {
    if (length + part.length > (into?.length ?? max)) {
      await response.body?.cancel().catch(() => undefined);
      throw new LiaisonError('INVALID_MESSAGE', `the relay sent ${what} of more than ${into?.length ?? max} bytes`);
    }
    if (into) into.set(part, length);
    else parts.push(part);
    length += part.length;
  }
  return into ? into.subarray(0, length) : concat(...parts);
}
