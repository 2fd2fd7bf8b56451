import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { IdentityKeyPair } from '@liaison/client';
import { signRequest } from '@liaison/server';

/**
 * Requests to a relay's federation API (/federation/v1) made the way a partner relay makes them,
 * signed with whatever key a test holds: a partner relay's own, a relay's outside the federation,
 * or a mix, as an attacker would try.
 */
export interface PeerRequest {
  method: 'GET' | 'POST';
  /** What the signature covers: the origin of the relay it is meant for, and the path. */
  targetUri: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface SignOptions {
  method?: 'GET' | 'POST';
  /** The signature's creation time, in milliseconds (default now). */
  createdAt?: number;
}

/** A request to `targetUri`, its JSON `body` signed with `key`, as PeerClient signs. */
export function signPeerRequest(
  key: Pick<IdentityKeyPair, 'publicKey' | 'privateKey'>,
  targetUri: string,
  body?: unknown,
  { method = 'POST', createdAt = Date.now() }: SignOptions = {},
): PeerRequest {
  const bytes = new TextEncoder().encode(body === undefined ? '' : JSON.stringify(body));
  const headers = signRequest(
    key,
    { method, targetUri, body: bytes },
    { created: Math.floor(createdAt / 1000), nonce: randomBytes(16) },
  );
  return { method, targetUri, headers, body: bytes };
}

/**
 * Sends a signed request to the relay listening at `relayUrl`: with the Host of the origin it was
 * signed for (as fetch would send it there), unless `host` says otherwise, and with its body
 * unless `body` replaces it. Plain node:http, since fetch does not let a caller choose Host.
 */
export function sendPeerRequest(
  relayUrl: string,
  peer: PeerRequest,
  override: { host?: string; body?: Uint8Array } = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read the answer's fields freely and assert each one
): Promise<{ status: number; body: any }> {
  const target = new URL(peer.targetUri);
  const relay = new URL(relayUrl);
  const body = override.body ?? peer.body;
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: relay.hostname,
        port: relay.port,
        method: peer.method,
        path: `${target.pathname}${target.search}`,
        headers: {
          ...peer.headers,
          host: override.host ?? target.host,
          accept: 'application/json',
          'content-length': String(body.length),
          ...(peer.method === 'POST' && { 'content-type': 'application/json' }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // Not JSON: the test sees the text.
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
