import { createServer, type RequestListener, type Server } from 'node:http';
import type { RelayConfig } from '../config.js';
import { RelayError } from '../errors.js';
import { SOCKET_PATH } from '../socket/socket-server.js';
import type { RelayIo } from '../socket/types.js';
import { answerAndClose } from './answer-and-close.js';
import { limitConnectionsPerAddress } from './connection-limit.js';

/**
 * The relay's HTTP server: socket.io's path belongs to engine.io alone, every other path to the
 * express app; a connection that stops sending or reading is destroyed, what Node's parser
 * refuses gets the standard error body, and each client address holds a bounded number of
 * connections.
 */
export function createHttpServer(
  app: RequestListener,
  io: RelayIo,
  config: RelayConfig,
  onRefused: () => void,
): Server {
  const server = createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // Node looks for expired requests every 30 s by default: a silent client would get that much longer.
      connectionsCheckingInterval: 1000,
    },
    app,
  );
  // Without a 'timeout' listener Node destroys the socket. WebSockets clear it (ws does).
  server.setTimeout(config.idleTimeoutMs);
  // engine.io wraps the request listeners the server has when it attaches (the app) and answers
  // its path without them. A listener added afterwards would answer socket.io's requests too: two
  // answers to one request, and the second one throws.
  io.attach(server);
  server.on('upgrade', (req, socket) => {
    if (!req.url?.startsWith(SOCKET_PATH)) {
      answerAndClose(socket, new RelayError('NOT_FOUND', 'no WebSocket here'));
    }
  });
  // Requests Node's HTTP parser refuses before express sees them: oversize headers, broken
  // framing, and requests not received within the header or request timeout.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      answerAndClose(socket, new RelayError('PAYLOAD_TOO_LARGE', 'request line or headers too large', undefined, 431));
    } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      answerAndClose(socket, new RelayError('INVALID_INPUT', 'request not received in time', undefined, 408));
    } else {
      answerAndClose(socket, new RelayError('INVALID_INPUT', 'malformed HTTP request'));
    }
  });
  // Last: behind load balancers it goes in front of every listener above.
  limitConnectionsPerAddress(server, {
    max: config.maxConnectionsPerAddress,
    trustProxyHops: config.trustProxyHops,
    refused: onRefused,
  });
  return server;
}
