import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RelayError } from '../errors.js';

/**
 * Answers on a bare connection, outside express (a request Node's parser refused, an upgrade, a
 * connection over its address's cap), and destroys it. Ending it would not do: the relay's sockets
 * stay half-open until the client closes its side, which a silent client never does.
 */
export function answerAndClose(socket: Duplex, error: RelayError): void {
  if (socket.writable) {
    const { status } = error;
    const json = JSON.stringify(error.body());
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\nconnection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy();
}
