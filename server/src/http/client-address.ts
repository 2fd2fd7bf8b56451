import type { IncomingMessage } from 'node:http';

/**
 * The client's address: the peer's, or behind `trustProxyHops` load balancers the one the
 * outermost of them saw, which is the hops-th entry from the right of X-Forwarded-For (each
 * balancer appends the address it saw). Entries further left were written by the client and are
 * never believed. This is express's `req.ip` with `trust proxy` set to the hop count; rate limits
 * and connection caps both count this one.
 */
export function clientAddress(req: IncomingMessage, trustProxyHops: number): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustProxyHops === 0) return peer;
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  // Fewer entries than balancers: the leftmost is the furthest address known, as in express.
  return forwarded.at(-trustProxyHops) ?? forwarded[0] ?? peer;
}
