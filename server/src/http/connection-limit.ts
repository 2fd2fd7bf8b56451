import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { RelayError } from '../errors.js';
import { answerAndClose } from './answer-and-close.js';
import { clientAddress } from './client-address.js';

const REFUSAL = new RelayError('RATE_LIMITED', 'too many connections from this address');

/**
 * At most `max` connections per client address at once, so that one client cannot take the
 * relay's file descriptors from everyone else; one over the cap is answered 429 and closed.
 *
 * Without load balancers (trustProxyHops 0), a connection counts from the moment it opens, by its
 * peer address, so a silent one counts too. Behind balancers the peer is a balancer, which must
 * never be capped, and the client is known only once a request names it: a connection counts,
 * from its first request or WebSocket handshake on, for the client address the balancers report
 * (for a later request's client instead, when a balancer reuses the connection). Connections
 * that have not sent a whole request yet are bounded by the balancer's timeouts and the relay's.
 *
 * Must be called once every other request and upgrade listener is on the server: behind
 * balancers it goes in front of them, so that nothing runs for a client over its cap.
 */
export function limitConnectionsPerAddress(
  server: Server,
  options: { max: number; trustProxyHops: number; refused: () => void },
): void {
  const counts = new Map<string, number>();
  const counted = new WeakMap<Duplex, string>();
  const uncount = (address: string | undefined) => {
    if (address === undefined) return;
    const left = (counts.get(address) ?? 1) - 1;
    if (left > 0) counts.set(address, left);
    else counts.delete(address);
  };
  /** Counts `socket` for `address` (no longer for whom it counted before) until it closes; false over the cap. */
  const countFor = (socket: Duplex, address: string): boolean => {
    const before = counted.get(socket);
    if (before === address) return true;
    const count = counts.get(address) ?? 0;
    if (count >= options.max) {
      options.refused();
      return false;
    }
    counts.set(address, count + 1);
    counted.set(socket, address);
    if (before === undefined) socket.once('close', () => uncount(counted.get(socket)));
    else uncount(before);
    return true;
  };

  if (options.trustProxyHops === 0) {
    server.on('connection', (socket: Socket) => {
      if (!countFor(socket, socket.remoteAddress ?? 'unknown')) answerAndClose(socket, REFUSAL);
    });
    return;
  }
  const address = (req: IncomingMessage) => clientAddress(req, options.trustProxyHops);
  const requestListeners = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req, res) => {
    if (!countFor(req.socket, address(req))) {
      res
        .writeHead(REFUSAL.status, { 'content-type': 'application/json', connection: 'close' })
        .end(JSON.stringify(REFUSAL.body()));
      return;
    }
    for (const listener of requestListeners) listener.call(server, req, res);
  });
  const upgradeListeners = server.listeners('upgrade') as ((
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ) => void)[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req, socket, head) => {
    if (!countFor(socket, address(req))) return answerAndClose(socket, REFUSAL);
    for (const listener of upgradeListeners) listener.call(server, req, socket, head);
  });
}
