import type { Envelope, PrekeyCount, Receipt, UrgentState } from '@liaison/protocol';
import type { DeliveryQueue } from './delivery-queue.js';
import type { RelayIo, RelaySocket } from './types.js';

export const deviceRoom = (deviceId: string) => `device:${deviceId}`;
export const contactPointRoom = (contactPointId: string) => `cp:${contactPointId}`;

/** An envelope this node just committed. */
export interface OfferedEnvelope {
  envelope: Envelope;
  /** Every earlier envelope of its sender to its device was offered to that device's queue (send-order.ts). */
  inOrder: boolean;
}

interface Session {
  socket: RelaySocket;
  queue: DeliveryQueue;
}

/**
 * How events reach devices, on this node and (through the cluster adapter) on the others. Each
 * node pushes envelopes to the sockets it holds, from storage; other nodes are only told that
 * something was stored. One connection per device, cluster-wide: a newer one replaces the older,
 * which is told why. Receipts go to every device of the sender's contact point through its room.
 */
export class DeliveryHub {
  private readonly sessions = new Map<string, Session>();
  private io: RelayIo | undefined;
  private clustered = false;

  attach(io: RelayIo, clustered: boolean): void {
    this.io = io;
    this.clustered = clustered;
    io.on('envelopes:stored', (deviceIds) => this.nudgeLocal(deviceIds));
  }

  register(deviceId: string, socket: RelaySocket, queue: DeliveryQueue): void {
    this.sessions.get(deviceId)?.queue.close();
    this.sessions.set(deviceId, { socket, queue });
    this.closeSockets(deviceRoom(deviceId), 'this device connected again; the newer connection is kept', socket.id);
  }

  unregister(deviceId: string, socket: RelaySocket): void {
    const current = this.sessions.get(deviceId);
    if (current?.socket === socket) {
      current.queue.close();
      this.sessions.delete(deviceId);
    }
  }

  /** Envelopes were stored for these devices: push them, wherever their sockets are. */
  envelopesStored(deviceIds: string[]): void {
    this.nudgeLocal(deviceIds);
    if (this.clustered) this.io?.serverSideEmit('envelopes:stored', deviceIds);
  }

  /**
   * Envelopes this node just committed, with their content: offered to local queues as they are
   * (no read of storage when a queue is caught up and nothing of the sender can be missing); other
   * nodes are told to look, as for any store.
   */
  envelopesCommitted(offered: readonly OfferedEnvelope[]): void {
    for (const { envelope, inOrder } of offered) {
      const session = this.sessions.get(envelope.recipientDevice);
      session?.queue.offer(envelope, inOrder);
    }
    if (this.clustered && offered.length > 0) {
      this.io?.serverSideEmit(
        'envelopes:stored',
        offered.map((o) => o.envelope.recipientDevice),
      );
    }
  }

  /** Every local queue looks for envelopes again: the catch-up that makes delivery independent of Redis. */
  nudgeAll(): void {
    for (const { queue } of this.sessions.values()) queue.nudge();
  }

  prekeysLow(deviceId: string, count: PrekeyCount): void {
    this.io?.to(deviceRoom(deviceId)).emit('prekeys:low', count);
  }

  receipt(to: string, receipt: Receipt): void {
    this.io?.to(contactPointRoom(to)).emit('receipt', receipt);
  }

  /** The new state of an urgent message, to every device of these contact points (each socket once). */
  urgent(contactPointIds: readonly string[], state: UrgentState): void {
    if (contactPointIds.length > 0) this.io?.to(contactPointIds.map(contactPointRoom)).emit('urgent', state);
  }

  /** Closes the connections of devices that may no longer connect (revoked), on every node. */
  disconnect(deviceIds: readonly string[], reason: string): void {
    for (const id of deviceIds) this.closeSockets(deviceRoom(id), reason);
  }

  get connectedCount(): number {
    return this.sessions.size;
  }

  private nudgeLocal(deviceIds: readonly string[]): void {
    for (const id of deviceIds) this.sessions.get(id)?.queue.nudge();
  }

  private closeSockets(room: string, reason: string, except?: string): void {
    const io = this.io;
    if (!io) return;
    const targets = except ? io.to(room).except(except) : io.to(room);
    targets.emit('session:replaced', { reason });
    (except ? io.in(room).except(except) : io.in(room)).disconnectSockets(true);
  }
}
