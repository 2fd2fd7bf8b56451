import { ErrorBody } from '@liaison/protocol';
import type { z } from 'zod';
import { checked, RelayError } from '../errors.js';
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
 * Signed HTTP requests to partner relays: each of the partner's relays in the order its manifest
 * lists them, until one answers. A refusal (4xx) is the partner's answer and comes back as the
 * RelayError it names; only a relay that does not answer, or fails (5xx), sends us to the next.
 */
export class PeerClient {
  constructor(
    private readonly partners: Partners,
    private readonly now: () => number,
    private readonly timeoutMs: number,
  ) {}

  async json<S extends z.ZodType>(
    networkId: string,
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.output<S>> {
    const bytes = body === undefined ? new Uint8Array(0) : new TextEncoder().encode(JSON.stringify(body));
    const response = await this.send(networkId, method, path, bytes, 'application/json');
    const answer = safeJson(response);
    if (answer === undefined) throw new PeerUnavailable(networkId, 'an answer that is not JSON');
    return checked(schema, answer);
  }

  async bytes(networkId: string, path: string): Promise<Uint8Array> {
    return this.send(networkId, 'GET', path, new Uint8Array(0), 'application/octet-stream');
  }

  private async send(
    networkId: string,
    method: 'GET' | 'POST',
    path: string,
    body: Uint8Array,
    accept: string,
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
      let response: Response;
      try {
        response = await fetch(targetUri, {
          method,
          headers: { ...headers, accept, ...(method === 'POST' && { 'content-type': 'application/json' }) },
          ...(method === 'POST' && { body }),
          redirect: 'error',
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'no connection';
        continue;
      }
      const answer = new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
      if (response.ok) return answer;
      if (response.status >= 500) {
        reason = `status ${response.status}`;
        continue;
      }
      const refusal = ErrorBody.safeParse(safeJson(answer));
      throw refusal.success
        ? new RelayError(refusal.data.error, `partner relay: ${refusal.data.message}`)
        : new RelayError('UNAVAILABLE', `the partner relay answered status ${response.status}`);
    }
    throw new PeerUnavailable(networkId, reason);
  }
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
}
