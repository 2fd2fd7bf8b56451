/**
 * What one sender's connection knows about its envelopes at each recipient device, so that the
 * fast path (DeliveryQueue.offer) never pushes a sender's envelope past an earlier one of the same
 * sender to the same device.
 *
 * A device is "followed" once this connection stored a message to it on this node, which offered
 * the envelope to the device's queue here (or, for a device connected elsewhere, told its node):
 * every earlier envelope of the sender to that device was then stored before it, and is either
 * pushed or read from storage, in order, before the queue takes anything as it comes. The next
 * message to a followed device may take the fast path.
 *
 * Anything else may follow an envelope nobody offered: the first message of a connection to a
 * device (the previous one may have been stored by a node that died before its notice, or that
 * this node has not heard from yet), one after a retry answered `duplicate` (stored elsewhere),
 * or after a failure (stored or not, nobody knows). Those are read from storage, in `seq` order,
 * and the device is followed from then on.
 */
export class SendOrder {
  private readonly followed = new Set<string>();

  /** A new envelope to this device may be pushed as it is, as far as this sender is concerned. */
  follows(deviceId: string): boolean {
    return this.followed.has(deviceId);
  }

  /** Envelopes to these devices were stored by this node, which offers them to their queues. */
  stored(deviceIds: readonly string[]): void {
    for (const id of deviceIds) this.followed.add(id);
  }

  /** Envelopes to these devices (all, when none is named) may be stored and offered to no queue. */
  unsure(deviceIds?: readonly string[]): void {
    if (!deviceIds) this.followed.clear();
    else for (const id of deviceIds) this.followed.delete(id);
  }
}
