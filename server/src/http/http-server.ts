import { createServer, type RequestListener, type Server } from 'node:http';
import type { RelayConfig } from '../config.js';
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
      answerAndClose(socket, 404, { error: 'NOT_FOUND', message: 'no WebSocket here' });
    }
  });
  // Requests Node's HTTP parser refuses before express sees them: oversize headers, broken
  // framing, and requests not received within the header or request timeout.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      answerAndClose(socket, 431, { error: 'PAYLOAD_TOO_LARGE', message: 'request line or headers too large' });
    } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      answerAndClose(socket, 408, { error: 'INVALID_INPUT', message: 'request not received in time' });
    } else {
      answerAndClose(socket, 400, { error: 'INVALID_INPUT', message: 'malformed HTTP request' });
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
