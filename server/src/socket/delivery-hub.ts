import type { PrekeyCount, Receipt } from '@liaison/protocol';
import type { DeliveryQueue } from './delivery-queue.js';
import type { RelayIo, RelaySocket } from './types.js';

export const deviceRoom = (deviceId: string) => `device:${deviceId}`;
export const contactPointRoom = (contactPointId: string) => `cp:${contactPointId}`;

interface Session {
  socket: RelaySocket;
  queue: DeliveryQueue;
}

/**
 * The connected devices of this node, and how events reach devices. One connection per device:
 * a newer one replaces the older, which is told why. Receipts go to every device of the sender's
 * contact point through its room.
 */
export class DeliveryHub {
  private readonly sessions = new Map<string, Session>();
  private io: RelayIo | undefined;

  attach(io: RelayIo): void {
    this.io = io;
  }

  register(deviceId: string, socket: RelaySocket, queue: DeliveryQueue): void {
    const previous = this.sessions.get(deviceId);
    this.sessions.set(deviceId, { socket, queue });
    if (previous) {
      previous.queue.close();
      previous.socket.emit('session:replaced', { reason: 'this device connected again; the newer connection is kept' });
      previous.socket.disconnect(true);
    }
  }

  unregister(deviceId: string, socket: RelaySocket): void {
    const current = this.sessions.get(deviceId);
    if (current?.socket === socket) {
      current.queue.close();
      this.sessions.delete(deviceId);
    }
  }

  /** Envelopes were stored for these devices: push them to the ones connected here. */
  envelopesStored(deviceIds: readonly string[]): void {
    for (const id of deviceIds) this.sessions.get(id)?.queue.nudge();
  }

  prekeysLow(deviceId: string, count: PrekeyCount): void {
    this.io?.to(deviceRoom(deviceId)).emit('prekeys:low', count);
  }

  receipt(to: string, receipt: Receipt): void {
    this.io?.to(contactPointRoom(to)).emit('receipt', receipt);
  }

  /** Closes the connections of devices that may no longer connect (revoked). */
  disconnect(deviceIds: readonly string[], reason: string): void {
    for (const id of deviceIds) {
      const session = this.sessions.get(id);
      if (!session) continue;
      session.socket.emit('session:replaced', { reason });
      session.socket.disconnect(true);
    }
  }

  get connectedCount(): number {
    return this.sessions.size;
  }
}
