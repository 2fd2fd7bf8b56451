import { z } from 'zod';
import { AuthChallenge, AuthChallengeRequest, AuthProof, AuthToken } from './auth.js';
import { BLOB_CHUNK_BYTES, BlobId, BlobReaders, BlobStatus, CreateBlobRequest } from './blobs.js';
import { RevocationSubmission } from './certificates.js';
import { NetworkManifest } from './federation.js';
import {
  Availability,
  BundlesResponse,
  DirectoryEntry,
  DirectoryPage,
  DirectoryQuery,
  ReceiptsPage,
  ReceiptsQuery,
  RegisterDeviceRequest,
  RegisterDeviceResponse,
} from './http.js';
import { PrekeyCount, PrekeyUpload } from './prekeys.js';
import { ContactPointId, MessageId, PlainString } from './primitives.js';
import { UrgentState, WebhookRegistration } from './urgent.js';

/**
 * Every HTTP endpoint of the relay, defined once: method, path, who may call it, where its input
 * comes from and the schemas of input and answer. The relay mounts its handlers from these
 * definitions (server/src/http/routes.ts) and the SDK makes its calls from them
 * (client-sdk/src/client/relay-api.ts), as atproto's lexicons drive both its server and client.
 * Errors are `ErrorBody` everywhere. The relay also answers `GET /healthz` and `GET /readyz`
 * (`Health`) and `GET /metrics`, outside the versioned API.
 */

/** An attachment chunk's index in a path. */
export const ChunkIndex = PlainString.regex(/^(0|[1-9][0-9]{0,8})$/, 'a chunk index in digits').transform(Number);

/** One attachment chunk's ciphertext, as an `application/octet-stream` body or answer. */
export const ChunkBytes = z
  .custom<Uint8Array>((value) => value instanceof Uint8Array, 'bytes')
  .refine((b) => b.length <= BLOB_CHUNK_BYTES, {
    message: `at most ${BLOB_CHUNK_BYTES} bytes per chunk`,
  });

/**
 * The schema of each `:name` a path may hold: the same name means the same thing in every path.
 * A value that does not match is refused with INVALID_INPUT before the handler runs.
 */
export const PATH_PARAMS = {
  contactPointId: ContactPointId,
  messageId: MessageId,
  blobId: BlobId,
  index: ChunkIndex,
};
export type PathParamName = keyof typeof PATH_PARAMS;

/** The names of the `:params` in a path. */
export type PathParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

export const RevocationApplied = z.strictObject({ applied: z.literal(true) });
export const WebhookSaved = z.strictObject({ saved: z.literal(true) });

/** What is defined for an endpoint. */
interface Definition {
  method: 'get' | 'post' | 'put';
  /** Under `/v1`; each `:name` is one of PATH_PARAMS. */
  path: `/v1/${string}`;
  /** Who may call it: a registered, current device with a bearer token (true), or anyone (false). */
  authenticated: boolean;
  /**
   * Where the input comes from: a JSON body, the query string (values as strings of digits or
   * text), an `application/octet-stream` body of at most one attachment chunk, or nowhere.
   */
  source: 'body' | 'query' | 'bytes' | 'none';
  /** What the input must match; none for `source: 'none'`. */
  input?: z.ZodType;
  /** What a successful answer is, checked by the SDK; `ChunkBytes` for a chunk of ciphertext. */
  output: z.ZodType;
}

/** The input of an endpoint whose source is `none`: nothing is read. */
const NoInput = z.undefined();

type ParamsOf<P extends string> = { [K in PathParamNames<P> & PathParamName]: z.output<(typeof PATH_PARAMS)[K]> };

/** A definition made whole: its input schema (NoInput if none) and the schema of its path's parameters. */
type Defined<D extends Definition> = Omit<D, 'input'> & {
  input: D extends { input: infer I extends z.ZodType } ? I : typeof NoInput;
  params: z.ZodType<ParamsOf<D['path']>, { [K in keyof ParamsOf<D['path']>]: string }>;
};

export type Endpoint = Omit<Definition, 'input'> & {
  input: z.ZodType;
  params: z.ZodType<Record<string, unknown>, Record<string, string>>;
};
export type EndpointInput<E extends Endpoint> = z.output<E['input']>;
export type EndpointParams<E extends Endpoint> = z.output<E['params']>;
export type EndpointOutput<E extends Endpoint> = z.output<E['output']>;

/**
 * An endpoint from its definition, with the schema of its path's parameters taken from
 * PATH_PARAMS; refused at compile time when the path names a parameter PATH_PARAMS lacks.
 */
function endpoint<const D extends Definition>(
  definition: D &
    (Exclude<PathParamNames<D['path']>, PathParamName> extends never
      ? unknown
      : { 'unknown path parameter': Exclude<PathParamNames<D['path']>, PathParamName> }),
): Defined<D> {
  const names = [...definition.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] as PathParamName);
  const params = z.strictObject(Object.fromEntries(names.map((name) => [name, PATH_PARAMS[name]])));
  // The object built from the names in the path is the type computed from them (ParamsOf).
  return { ...definition, input: definition.input ?? NoInput, params } as unknown as Defined<D>;
}

/** In the order the relay mounts them (the fuzz suite seeds each by its place). */
export const ENDPOINTS = {
  authChallenge: endpoint({
    method: 'post',
    path: '/v1/auth/challenge',
    authenticated: false,
    source: 'body',
    input: AuthChallengeRequest,
    output: AuthChallenge,
  }),
  authToken: endpoint({
    method: 'post',
    path: '/v1/auth/token',
    authenticated: false,
    source: 'body',
    input: AuthProof,
    output: AuthToken,
  }),
  registerDevice: endpoint({
    method: 'post',
    path: '/v1/devices',
    authenticated: false,
    source: 'body',
    input: RegisterDeviceRequest,
    output: RegisterDeviceResponse,
  }),
  uploadPrekeys: endpoint({
    method: 'post',
    path: '/v1/prekeys',
    authenticated: true,
    source: 'body',
    input: PrekeyUpload,
    output: PrekeyCount,
  }),
  prekeyCount: endpoint({
    method: 'get',
    path: '/v1/prekeys/count',
    authenticated: true,
    source: 'none',
    output: PrekeyCount,
  }),
  bundles: endpoint({
    method: 'get',
    path: '/v1/contact-points/:contactPointId/bundles',
    authenticated: true,
    source: 'none',
    output: BundlesResponse,
  }),
  contactPoint: endpoint({
    method: 'get',
    path: '/v1/contact-points/:contactPointId',
    authenticated: true,
    source: 'none',
    output: DirectoryEntry,
  }),
  directory: endpoint({
    method: 'get',
    path: '/v1/directory',
    authenticated: true,
    source: 'query',
    input: DirectoryQuery,
    output: DirectoryPage,
  }),
  setAvailability: endpoint({
    method: 'put',
    path: '/v1/availability',
    authenticated: true,
    source: 'body',
    input: Availability,
    output: Availability,
  }),
  receipts: endpoint({
    method: 'get',
    path: '/v1/receipts',
    authenticated: true,
    source: 'query',
    input: ReceiptsQuery,
    output: ReceiptsPage,
  }),
  /** Its sender's contact point and those it reached; NOT_FOUND for anyone else. */
  urgent: endpoint({
    method: 'get',
    path: '/v1/urgent/:messageId',
    authenticated: true,
    source: 'none',
    output: UrgentState,
  }),
  /** Signed by the authority's key. */
  registerWebhook: endpoint({
    method: 'post',
    path: '/v1/webhooks',
    authenticated: false,
    source: 'body',
    input: WebhookRegistration,
    output: WebhookSaved,
  }),
  /** Blobs: each answers NOT_FOUND to a device that is neither the uploader nor a reader. */
  createBlob: endpoint({
    method: 'post',
    path: '/v1/blobs',
    authenticated: true,
    source: 'body',
    input: CreateBlobRequest,
    output: BlobStatus,
  }),
  blobStatus: endpoint({
    method: 'get',
    path: '/v1/blobs/:blobId',
    authenticated: true,
    source: 'none',
    output: BlobStatus,
  }),
  /** The uploader only. */
  setBlobReaders: endpoint({
    method: 'put',
    path: '/v1/blobs/:blobId/readers',
    authenticated: true,
    source: 'body',
    input: BlobReaders,
    output: BlobStatus,
  }),
  /** The uploader only, in order; a stored chunk again changes nothing. */
  putChunk: endpoint({
    method: 'put',
    path: '/v1/blobs/:blobId/chunks/:index',
    authenticated: true,
    source: 'bytes',
    input: ChunkBytes,
    output: BlobStatus,
  }),
  /** Readers only, once the upload is complete. */
  getChunk: endpoint({
    method: 'get',
    path: '/v1/blobs/:blobId/chunks/:index',
    authenticated: true,
    source: 'none',
    output: ChunkBytes,
  }),
  /** Readers only. */
  blobDownloaded: endpoint({
    method: 'post',
    path: '/v1/blobs/:blobId/downloaded',
    authenticated: true,
    source: 'none',
    output: BlobStatus,
  }),
  /** Anyone may deliver a revocation; only one signed by the issuer above its subject is applied. */
  revoke: endpoint({
    method: 'post',
    path: '/v1/revocations',
    authenticated: false,
    source: 'body',
    input: RevocationSubmission,
    output: RevocationApplied,
  }),
  /**
   * The newest manifest of the relay's own network: it certifies the key the relay signs its
   * "stored at" receipts with. NOT_FOUND when the relay has none (it signs no receipts then).
   */
  networkManifest: endpoint({
    method: 'get',
    path: '/v1/network/manifest',
    authenticated: false,
    source: 'none',
    output: NetworkManifest,
  }),
};
export type Endpoints = typeof ENDPOINTS;
export type EndpointName = keyof Endpoints;

/** The path of one call: each `:name` replaced by its value, percent-encoded. */
export function endpointPath(endpoint: Endpoint, params: Readonly<Record<string, string | number>>): string {
  return endpoint.path.replace(/:([A-Za-z]+)/g, (_, name: string) => encodeURIComponent(String(params[name])));
}
