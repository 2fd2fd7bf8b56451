import { type Envelope, LIMITS, type PrekeyCount, type UrgentState } from '@liaison/protocol';
import type { RoutedReceipt } from '../storage/messages.js';
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
 * which is told why. Receipts go to every device of the sender's contact point through its room,
 * those of one batch together.
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
    // A device's envelopes of one commit go to its queue together, in commit order: one frame.
    const byQueue = new Map<DeliveryQueue, OfferedEnvelope[]>();
    for (const o of offered) {
      const queue = this.sessions.get(o.envelope.recipientDevice)?.queue;
      if (!queue) continue;
      const list = byQueue.get(queue);
      if (list) list.push(o);
      else byQueue.set(queue, [o]);
    }
    for (const [queue, list] of byQueue) queue.offer(list);
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

  /**
   * Receipts to the devices of the contact points they are for: one `receipts` event per contact
   * point (cut at LIMITS.maxReceiptsPerEvent), in the order given, however many receipts a batch
   * of acknowledgements made for it.
   */
  receipts(routed: readonly RoutedReceipt[]): void {
    const io = this.io;
    if (!io) return;
    const byContactPoint = new Map<string, RoutedReceipt['receipt'][]>();
    for (const { to, receipt } of routed) {
      const list = byContactPoint.get(to);
      if (list) list.push(receipt);
      else byContactPoint.set(to, [receipt]);
    }
    const max = LIMITS.maxReceiptsPerEvent;
    for (const [to, receipts] of byContactPoint) {
      if (receipts.length <= max) io.to(contactPointRoom(to)).emit('receipts', receipts);
      else
        for (let i = 0; i < receipts.length; i += max)
          io.to(contactPointRoom(to)).emit('receipts', receipts.slice(i, i + max));
    }
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
