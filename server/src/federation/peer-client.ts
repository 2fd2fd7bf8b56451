import { BLOB_CHUNK_BYTES, ErrorBody, FEDERATION_LIMITS } from '@liaison/protocol';
import type { z } from 'zod';
import { asBuffer } from '../bytes.js';
import { checked, RelayError } from '../errors.js';
import type { RelayMetrics } from '../metrics.js';
import { randomBytes } from '../sodium.js';
import { signRequest } from './http-signature.js';
import type { Partners } from './partners.js';

/** A partner relay that does not answer, or answers with a failure of its own: worth trying again later. */
export class PeerUnavailable extends RelayError {
  constructor(networkId: string, reason: string) {
    super('UNAVAILABLE', `the relay of partner network "${networkId}" cannot be reached now (${reason})`);
  }
}

/**
 * The most of a partner's answer the relay reads: a JSON answer as large as a batch may be, one
 * attachment chunk (with room for framing), and a refusal (an error body is a few hundred bytes).
 * Past it the answer is abandoned unread, as if the relay had not answered.
 */
const ANSWER_LIMITS = {
  json: FEDERATION_LIMITS.maxBatchBodyBytes,
  bytes: BLOB_CHUNK_BYTES + 64 * 1024,
  refusal: 64 * 1024,
} as const;

/** Why a partner relay gave no usable answer, as liaison_federation_peer_failures_total counts it. */
type FailureReason = 'timeout' | 'no-connection' | 'server-error' | 'too-large' | 'rate-limited' | 'not-json';

/**
 * Signed HTTP requests to partner relays: each of the partner's relays in the order its manifest
 * lists them, until one answers. A refusal (4xx) is the partner's answer and comes back as the
 * RelayError it names; only a relay that does not answer, fails (5xx) or answers more than the
 * relay reads sends us to the next. A partner that says we ask too much (429) is not asked
 * elsewhere: it is unavailable for now, like one that does not answer.
 */
export class PeerClient {
  constructor(
    private readonly partners: Partners,
    private readonly now: () => number,
    private readonly timeoutMs: number,
    private readonly metrics: Pick<RelayMetrics, 'federationPeerFailures'>,
  ) {}

  async json<S extends z.ZodType>(
    networkId: string,
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.output<S>> {
    const bytes = body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body));
    const response = await this.send(networkId, method, path, bytes, 'application/json', ANSWER_LIMITS.json);
    const answer = safeJson(response);
    if (answer === undefined) {
      this.failed('not-json');
      throw new PeerUnavailable(networkId, 'an answer that is not JSON');
    }
    return checked(schema, answer);
  }

  async bytes(networkId: string, path: string): Promise<Uint8Array> {
    return this.send(networkId, 'GET', path, new Uint8Array(0), 'application/octet-stream', ANSWER_LIMITS.bytes);
  }

  private failed(reason: FailureReason): void {
    this.metrics.federationPeerFailures.inc({ reason });
  }

  private async send(
    networkId: string,
    method: 'GET' | 'POST',
    path: string,
    body: Uint8Array,
    accept: string,
    limit: number,
  ): Promise<Uint8Array> {
    const partner = this.partners.get(networkId);
    if (!partner) throw new RelayError('FORBIDDEN', `"${networkId}" is not a partner network`);
    let reason = 'no relay listed';
    for (const relay of partner.relays) {
      const targetUri = `${relay.origin}${path}`;
      const headers = signRequest(
        this.partners.key,
        { method, targetUri, body },
        { created: Math.floor(this.now() / 1000), nonce: randomBytes(16) },
      );
      // The timeout covers the answer's body too: a partner trickling it is cut off like a silent one.
      const signal = AbortSignal.timeout(this.timeoutMs);
      let response: Response;
      let answer: Uint8Array | undefined;
      try {
        response = await fetch(targetUri, {
          method,
          headers: {
            ...headers,
            accept,
            // Nothing to inflate: a compressed answer would be read past its announced length.
            'accept-encoding': 'identity',
            ...(method === 'POST' && { 'content-type': 'application/json' }),
          },
          ...(method === 'POST' && { body }),
          redirect: 'error',
          signal,
        });
        if (response.status >= 500 || response.status === 429) {
          await response.body?.cancel().catch(() => undefined);
        } else {
          answer = await readCapped(response, response.ok ? limit : ANSWER_LIMITS.refusal);
        }
      } catch (error) {
        const timedOut = signal.aborted || (error instanceof Error && error.name === 'TimeoutError');
        this.failed(timedOut ? 'timeout' : 'no-connection');
        reason = timedOut ? 'timed out' : 'no connection';
        continue;
      }
      if (response.status === 429) {
        this.failed('rate-limited');
        throw new PeerUnavailable(networkId, 'it refuses more requests from us for now');
      }
      if (response.status >= 500) {
        this.failed('server-error');
        reason = `status ${response.status}`;
        continue;
      }
      if (answer === undefined) {
        this.failed('too-large');
        reason = `an answer over ${response.ok ? limit : ANSWER_LIMITS.refusal} bytes`;
        continue;
      }
      if (response.ok) return answer;
      const refusal = ErrorBody.safeParse(safeJson(answer));
      throw refusal.success
        ? new RelayError(refusal.data.error, `partner relay: ${refusal.data.message}`)
        : new RelayError('UNAVAILABLE', `the partner relay answered status ${response.status}`);
    }
    throw new PeerUnavailable(networkId, reason);
  }
}

/**
 * The answer's body, read as it arrives, or undefined (and the rest left unread, the connection
 * closed) once it is over `limit` bytes: at once when its Content-Length says so.
 */
async function readCapped(response: Response, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > limit) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(asBuffer(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}
