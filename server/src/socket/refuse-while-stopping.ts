import { randomUUID } from 'node:crypto';
import type { AckResult } from '@liaison/protocol';
import type { RelayIo } from './types.js';

/**
 * Once `stopping()` says so, every event a socket sends is answered `UNAVAILABLE` without being
 * handled: the relay finishes what it had received and then closes, instead of chasing a stream
 * of new work. The SDK retries such a send with the same message id, at another node or once this
 * one is back, and the relay stores it once.
 */
export function refuseWhileStopping(io: RelayIo, stopping: () => boolean): void {
  io.on('connection', (socket) => {
    socket.use((packet, next) => {
      if (!stopping()) return next();
      const ack = packet.at(-1);
      if (typeof ack === 'function') {
        const refusal: AckResult<never> = {
          ok: false,
          error: 'UNAVAILABLE',
          message: 'the relay is stopping; retry shortly',
          requestId: randomUUID(),
        };
        ack(refusal);
      }
    });
  });
}
