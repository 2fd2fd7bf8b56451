/**
 * The transport's ceiling: a plain socket.io server that acknowledges each `send` and forwards its
 * envelopes to the recipient devices' sockets, and acknowledges `envelopes:ack`, with no storage,
 * no authentication and no crypto. Driven by the same load generator as the relay.
 *
 *   PORT=0 tsx test/bench/baseline-server.ts   (prints "listening <port>")
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

interface BaselineSend {
  messageId: string;
  envelopes: { recipientDevice: string; ciphertext: string }[];
}

const httpServer = createServer();
const io = new Server(httpServer, { serveClient: false, maxHttpBufferSize: 6 * 1024 * 1024 });
io.on('connection', (socket) => {
  const deviceId = String(socket.handshake.auth.deviceId ?? '');
  void socket.join(deviceId);
  socket.on('send', (request: BaselineSend, ack: (result: unknown) => void) => {
    ack({ ok: true, value: { messageId: request.messageId, serverTime: Date.now(), duplicate: false } });
    for (const envelope of request.envelopes) {
      io.to(envelope.recipientDevice).emit('envelope', { messageId: request.messageId, ...envelope });
    }
  });
  socket.on('envelopes:ack', (request: { messageIds: string[] }, ack: (result: unknown) => void) => {
    ack({ ok: true, value: { deleted: request.messageIds.length } });
  });
});
httpServer.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.error(`listening ${(httpServer.address() as AddressInfo).port}`);
});
process.on('SIGTERM', () => {
  void io.close();
  httpServer.close(() => process.exit(0));
});
