import { decodeBase64url, encodeBase64url } from '@liaison/protocol';
import { RelayError } from '../errors.js';
import { sha256, signDetached, verifySignature } from '../sodium.js';

/**
 * Requests between partner relays are signed in the manner of HTTP Message Signatures (RFC 9421):
 * the signature covers the method, the full target URI (so a request made for one relay is useless
 * at another) and the body's SHA-256 digest (RFC 9530 Content-Digest), with the creation time,
 * the signing key's id and a single-use nonce as signature parameters. Ed25519, as RFC 9421 §3.3.6.
 *
 * The relay signs and accepts exactly one form, below; anything else is refused rather than
 * interpreted.
 */

const LABEL = 'liaison';
const TAG = 'liaison-federation';
const COVERED = ['@method', '@target-uri', 'content-digest'] as const;

export interface SignatureParams {
  created: number;
  /** The signing key, base64url: the manifests map it to a relay of a network. */
  keyid: string;
  nonce: string;
}

/** RFC 9530: `sha-256=:<base64>:` of the body's bytes (empty for a request without one). */
export function contentDigest(body: Uint8Array): string {
  return `sha-256=:${Buffer.from(sha256(body)).toString('base64')}:`;
}

/** The `@signature-params` value (RFC 9421 §2.3): the covered components and the parameters. */
export function signatureParams(components: readonly string[], params: Record<string, string | number>): string {
  const list = components.map((c) => `"${c}"`).join(' ');
  const rest = Object.entries(params)
    .map(([name, value]) => `;${name}=${typeof value === 'number' ? value : `"${value}"`}`)
    .join('');
  return `(${list})${rest}`;
}

/** The signature base (RFC 9421 §2.5): one line per covered component, then the parameters. */
export function signatureBase(components: readonly (readonly [string, string])[], params: string): string {
  return [...components.map(([name, value]) => `"${name}": ${value}`), `"@signature-params": ${params}`].join('\n');
}

function ourBase(method: string, targetUri: string, digest: string, params: SignatureParams): string {
  const values = [method.toUpperCase(), targetUri, digest];
  return signatureBase(
    COVERED.map((name, i) => [name, values[i] as string] as const),
    signatureParams(COVERED, { created: params.created, keyid: params.keyid, nonce: params.nonce, tag: TAG }),
  );
}

/** The headers that sign one request. */
export function signRequest(
  key: { publicKey: Uint8Array; privateKey: Uint8Array },
  request: { method: string; targetUri: string; body: Uint8Array },
  params: { created: number; nonce: Uint8Array },
): Record<'content-digest' | 'signature-input' | 'signature', string> {
  const digest = contentDigest(request.body);
  const signed: SignatureParams = {
    created: params.created,
    keyid: encodeBase64url(key.publicKey),
    nonce: encodeBase64url(params.nonce),
  };
  const base = ourBase(request.method, request.targetUri, digest, signed);
  const signature = signDetached(key.privateKey, new TextEncoder().encode(base));
  const input = signatureParams(COVERED, {
    created: signed.created,
    keyid: signed.keyid,
    nonce: signed.nonce,
    tag: TAG,
  });
  return {
    'content-digest': digest,
    'signature-input': `${LABEL}=${input}`,
    signature: `${LABEL}=:${Buffer.from(signature).toString('base64')}:`,
  };
}

const INPUT =
  /^liaison=\("@method" "@target-uri" "content-digest"\);created=(\d{1,15});keyid="([A-Za-z0-9_-]{43})";nonce="([A-Za-z0-9_-]{22})";tag="liaison-federation"$/;
const SIGNATURE = /^liaison=:([A-Za-z0-9+/]{86}==):$/;
const DIGEST = /^sha-256=:([A-Za-z0-9+/]{43}=):$/;

/** What a request's headers establish once verified: its signature parameters, and the body digest it signed. */
export interface SignedHeaders extends SignatureParams {
  contentDigest: string;
}

/**
 * The part of the check that needs no body: the headers are in our one form, the key its keyid
 * names is a partner relay's (`keyFor` answers undefined for any other), and the signature over the
 * method, the target URI and the Content-Digest header verifies. Since the signature covers the
 * digest, a receiver knows who signed before it reads a byte of the body, and reads it only then
 * (verifyRequestBody). Headers missing or not in our one form: UNAUTHENTICATED; a key no partner
 * relay holds: FORBIDDEN; a signature that does not match: BAD_SIGNATURE.
 */
export function verifyRequestHeaders(
  request: {
    method: string;
    targetUri: string;
    headers: {
      contentDigest?: string | undefined;
      signatureInput?: string | undefined;
      signature?: string | undefined;
    };
  },
  keyFor: (keyid: string) => Uint8Array | undefined,
): SignedHeaders {
  const input = INPUT.exec(request.headers.signatureInput ?? '');
  const signature = SIGNATURE.exec(request.headers.signature ?? '');
  const digest = DIGEST.exec(request.headers.contentDigest ?? '');
  // A nonce spelt other than canonically is malformed like the rest, not a matter of whose key it is.
  if (!input || !signature || !digest || !decodeBase64url(input[3] as string)) {
    throw new RelayError(
      'UNAUTHENTICATED',
      'a partner relay signs its requests (Signature-Input, Signature, Content-Digest)',
    );
  }
  const params: SignatureParams = {
    created: Number(input[1]),
    keyid: input[2] as string,
    nonce: input[3] as string,
  };
  const key = keyFor(params.keyid);
  if (!key) {
    throw new RelayError('FORBIDDEN', 'the signing key is not one of a partner network relay');
  }
  const contentDigest = request.headers.contentDigest as string;
  const base = ourBase(request.method, request.targetUri, contentDigest, params);
  const bytes = Buffer.from(signature[1] as string, 'base64');
  if (!verifySignature(key, new TextEncoder().encode(base), bytes)) {
    throw new RelayError('BAD_SIGNATURE', 'the request signature does not verify');
  }
  return { ...params, contentDigest };
}

/** The rest of the check, once the body is read: it is the one whose digest was signed (else BAD_SIGNATURE). */
export function verifyRequestBody(signed: Pick<SignedHeaders, 'contentDigest'>, body: Uint8Array): void {
  if (contentDigest(body) !== signed.contentDigest) {
    throw new RelayError('BAD_SIGNATURE', 'the body is not the one signed');
  }
}

/**
 * Both checks at once, for a request whose body is at hand: its headers (verifyRequestHeaders),
 * then its body. Returns the signature parameters; the caller checks their time and nonce.
 */
export function verifyRequest(
  request: {
    method: string;
    targetUri: string;
    body: Uint8Array;
    headers: {
      contentDigest?: string | undefined;
      signatureInput?: string | undefined;
      signature?: string | undefined;
    };
  },
  keyFor: (keyid: string) => Uint8Array | undefined,
): SignatureParams {
  const { contentDigest: digest, ...params } = verifyRequestHeaders(request, keyFor);
  verifyRequestBody({ contentDigest: digest }, request.body);
  return params;
}
