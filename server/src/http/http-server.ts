import { createServer, type RequestListener, type Server } from 'node:http';
import { SOCKET_PATH } from '../socket/socket-server.js';
import type { RelayIo } from '../socket/types.js';
import { answerAndClose } from './answer-and-close.js';

/**
 * The relay's HTTP server: socket.io's path belongs to engine.io alone, every other path to the
 * express app, and what Node's parser refuses gets the standard error body.
 */
export function createHttpServer(app: RequestListener, io: RelayIo): Server {
  const server = createServer(app);
  // engine.io wraps the request listeners the server has when it attaches (the app) and answers
  // its path without them. A listener added afterwards would answer socket.io's requests too: two
  // answers to one request, and the second one throws.
  io.attach(server);
  server.on('upgrade', (req, socket) => {
    if (!req.url?.startsWith(SOCKET_PATH)) {
      answerAndClose(socket, 404, { error: 'NOT_FOUND', message: 'no WebSocket here' });
    }
  });
  // Requests Node's HTTP parser refuses before express sees them (oversize headers, broken framing).
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code === 'HPE_HEADER_OVERFLOW') {
      answerAndClose(socket, 431, { error: 'PAYLOAD_TOO_LARGE', message: 'request line or headers too large' });
    } else {
      answerAndClose(socket, 400, { error: 'INVALID_INPUT', message: 'malformed HTTP request' });
    }
  });
  return server;
}
