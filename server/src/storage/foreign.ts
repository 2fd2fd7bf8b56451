import type { DirectoryEntry, UrgentState } from '@liaison/protocol';
import type { Kysely } from 'kysely';
import type { Database, Db } from './schema.js';

/** A contact point of a partner network as its relay last showed it, and when. */
export interface ForeignEntry {
  networkId: string;
  entry: DirectoryEntry;
  fetchedAt: number;
}

/**
 * Records a verified foreign entry and its current devices, replacing what was known. A device id
 * is its public key, which anyone can put in a certificate: a device registered here, or listed
 * under another contact point already, is left out (it would otherwise let a partner read what is
 * meant for that device, or take its messages).
 */
export async function saveForeignEntry(
  db: Kysely<Database>,
  networkId: string,
  entry: DirectoryEntry,
  now: number,
): Promise<DirectoryEntry> {
  const contactPointId = entry.contactPoint.contactPointId;
  return db.transaction().execute(async (tx) => {
    const ids = entry.devices.map((d) => d.deviceId);
    const taken = new Set(
      ids.length === 0
        ? []
        : [
            ...(await tx.selectFrom('devices').select('device_id').where('device_id', 'in', ids).execute()),
            ...(await tx
              .selectFrom('foreign_devices')
              .select('device_id')
              .where('device_id', 'in', ids)
              .where('contact_point_id', '<>', contactPointId)
              .execute()),
          ].map((d) => d.device_id),
    );
    const kept: DirectoryEntry = { ...entry, devices: entry.devices.filter((d) => !taken.has(d.deviceId)) };
    const values = { network_id: networkId, entry: JSON.stringify(kept), fetched_at: now };
    await tx
      .insertInto('foreign_contact_points')
      .values({ contact_point_id: contactPointId, ...values })
      .onConflict((oc) => oc.column('contact_point_id').doUpdateSet(values))
      .execute();
    await tx.deleteFrom('foreign_devices').where('contact_point_id', '=', contactPointId).execute();
    if (kept.devices.length > 0) {
      await tx
        .insertInto('foreign_devices')
        .values(
          kept.devices.map((d) => ({ device_id: d.deviceId, contact_point_id: contactPointId, network_id: networkId })),
        )
        .execute();
    }
    return kept;
  });
}

export async function foreignEntries(db: Db, contactPointIds: readonly string[]): Promise<Map<string, ForeignEntry>> {
  if (contactPointIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('foreign_contact_points')
    .selectAll()
    .where('contact_point_id', 'in', [...new Set(contactPointIds)])
    .execute();
  return new Map(
    rows.map((r) => [r.contact_point_id, { networkId: r.network_id, entry: r.entry, fetchedAt: r.fetched_at }]),
  );
}

/** The partner network of each of these devices that is a known foreign device. */
export async function foreignDeviceNetworks(db: Db, deviceIds: readonly string[]): Promise<Map<string, string>> {
  if (deviceIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('foreign_devices')
    .select(['device_id', 'network_id'])
    .where('device_id', 'in', [...new Set(deviceIds)])
    .execute();
  return new Map(rows.map((r) => [r.device_id, r.network_id]));
}

/** Records a receipt a partner relay forwarded, once: false when its id from that relay was seen before. */
export async function firstSightOfReceipt(db: Db, networkId: string, remoteId: number, now: number): Promise<boolean> {
  const row = await db
    .insertInto('federation_receipts_seen')
    .values({ network_id: networkId, remote_id: remoteId, at: now })
    .onConflict((oc) => oc.columns(['network_id', 'remote_id']).doNothing())
    .returning('remote_id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Keeps the newest state a partner relay reported of an urgent message it escalates (states may arrive twice). */
export async function saveForeignUrgentState(db: Db, state: UrgentState): Promise<void> {
  const values = { state: JSON.stringify(state), updated_at: state.updatedAt };
  await db
    .insertInto('foreign_urgent_states')
    .values({ message_id: state.messageId, ...values })
    .onConflict((oc) =>
      oc.column('message_id').doUpdateSet(values).where('foreign_urgent_states.updated_at', '<=', state.updatedAt),
    )
    .execute();
}

export async function foreignUrgentState(db: Db, messageId: string): Promise<UrgentState | undefined> {
  const row = await db
    .selectFrom('foreign_urgent_states')
    .select('state')
    .where('message_id', '=', messageId)
    .executeTakeFirst();
  return row?.state;
}

/**
 * How this message of ours went to that partner network (its relay may report on it, and no other
 * may): its recipients there, its priority and when we stored it; undefined if it did not go there.
 */
export async function forwardOf(
  db: Db,
  messageId: string,
  networkId: string,
): Promise<{ recipients: string[]; priority: string; serverTime: number; sender: string } | undefined> {
  const row = await db
    .selectFrom('message_forwards')
    .innerJoin('messages', 'messages.message_id', 'message_forwards.message_id')
    .select([
      'message_forwards.recipients',
      'messages.priority',
      'messages.server_time',
      'messages.sender_contact_point',
      'messages.origin_network',
    ])
    .where('message_forwards.message_id', '=', messageId)
    .where('message_forwards.network_id', '=', networkId)
    .executeTakeFirst();
  return row && row.origin_network === null
    ? {
        recipients: row.recipients,
        priority: row.priority,
        serverTime: row.server_time,
        sender: row.sender_contact_point,
      }
    : undefined;
}

/**
 * Records the nonce of a signed request from a partner relay until `expiresAt`: false when it was
 * recorded before (the request is a replay).
 */
export async function firstUseOfNonce(db: Db, keyId: string, nonce: string, expiresAt: number): Promise<boolean> {
  const row = await db
    .insertInto('federation_nonces')
    .values({ key_id: keyId, nonce, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['key_id', 'nonce']).doNothing())
    .returning('nonce')
    .executeTakeFirst();
  return row !== undefined;
}

export async function forgetExpiredNonces(db: Db, now: number): Promise<void> {
  await db.deleteFrom('federation_nonces').where('expires_at', '<', now).execute();
}

/** A contact point its network's relay no longer has: it is not routed to any more. */
export async function forgetForeignEntry(db: Db, contactPointId: string): Promise<void> {
  await db.deleteFrom('foreign_contact_points').where('contact_point_id', '=', contactPointId).execute();
}

/** Partner networks' contact points nobody here has used (looked up, or written to) since `before`. */
export async function forgetUnusedForeignEntries(db: Db, before: number): Promise<void> {
  await db.deleteFrom('foreign_contact_points').where('fetched_at', '<', before).execute();
}
