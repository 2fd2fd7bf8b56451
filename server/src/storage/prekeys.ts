import {
  type BundlesResponse,
  KEM_KEY_TYPE,
  type KemPrekey,
  LIMITS,
  type PrekeyBundle,
  type PrekeyCount,
  type PrekeyUpload,
} from '@liaison/protocol';
import { type Kysely, sql } from 'kysely';
import { RelayError } from '../errors.js';
import {
  hasLastResortKemPrekey,
  insertOneTimePrekeys,
  oneTimeKemPrekeyCount,
  replaceSignedPrekey,
  storeKemPrekeys,
} from './directory.js';
import type { Database, Db, KemPrekeysTable } from './schema.js';

/** Stores prekeys whose signatures the caller checked; all of the upload or, refused, none of it. */
export async function uploadPrekeys(
  db: Kysely<Database>,
  deviceId: string,
  upload: PrekeyUpload,
): Promise<PrekeyCount> {
  await db.transaction().execute(async (tx) => {
    // One upload of a device at a time: the quotas below are counted, then filled, and two uploads
    // counting at once (on PostgreSQL; PGlite runs one transaction at a time) would both pass.
    await sql`select device_id from devices where device_id = ${deviceId} for update`.execute(tx);
    if (upload.signedPrekey) await replaceSignedPrekey(tx, deviceId, upload.signedPrekey);
    const held = await oneTimeCount(tx, deviceId);
    if (held + upload.oneTimePrekeys.length > LIMITS.maxOneTimePrekeysStored) {
      throw new RelayError(
        'QUOTA_EXCEEDED',
        `the relay holds at most ${LIMITS.maxOneTimePrekeysStored} one-time prekeys per device`,
      );
    }
    await insertOneTimePrekeys(tx, deviceId, upload.oneTimePrekeys);
    if (upload.kemPrekeys) await storeKemPrekeys(tx, deviceId, upload.kemPrekeys);
  });
  return prekeyCount(db, deviceId);
}

async function oneTimeCount(db: Db, deviceId: string): Promise<number> {
  const { count } = await db
    .selectFrom('one_time_prekeys')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('device_id', '=', deviceId)
    .executeTakeFirstOrThrow();
  return Number(count);
}

export async function prekeyCount(db: Db, deviceId: string): Promise<PrekeyCount> {
  const signed = await db
    .selectFrom('signed_prekeys')
    .select(['prekey_id', 'created_at'])
    .where('device_id', '=', deviceId)
    .executeTakeFirstOrThrow();
  return countWith(db, deviceId, signed);
}

/**
 * What the relay holds of a device's prekeys. `kem` only for a device with a last-resort KEM
 * prekey here: one that predates hybrid sessions is never sent a field it does not know, nor told
 * to refill a pool it does not have. `low` when either pool is below its watermark.
 */
async function countWith(
  db: Db,
  deviceId: string,
  signed: { prekey_id: number; created_at: number },
): Promise<PrekeyCount> {
  const oneTimePrekeys = await oneTimeCount(db, deviceId);
  const lastResort = await db
    .selectFrom('last_resort_kem_prekeys')
    .select(['prekey_id', 'created_at'])
    .where('device_id', '=', deviceId)
    .executeTakeFirst();
  const kem = lastResort && {
    oneTimePrekeys: await oneTimeKemPrekeyCount(db, deviceId),
    lastResortId: Number(lastResort.prekey_id),
    lastResortCreatedAt: Number(lastResort.created_at),
  };
  return {
    oneTimePrekeys,
    signedPrekeyId: Number(signed.prekey_id),
    signedPrekeyCreatedAt: Number(signed.created_at),
    ...(kem && { kem }),
    low:
      oneTimePrekeys < LIMITS.oneTimePrekeyLowWatermark ||
      (kem !== undefined && kem.oneTimePrekeys < LIMITS.kemPrekeyLowWatermark),
  };
}

function kemPrekey(row: Omit<KemPrekeysTable, 'device_id'>, lastResort: boolean): KemPrekey {
  return {
    id: Number(row.prekey_id),
    keyType: KEM_KEY_TYPE,
    lastResort,
    publicKey: row.public_key,
    createdAt: Number(row.created_at),
    signature: row.signature,
  };
}

/**
 * The KEM prekey a hybrid initiator gets for one device: a one-time one popped for good (locked
 * with SKIP LOCKED and deleted in one statement, as one-time prekeys are, so no two fetches on any
 * node get the same one), else its last-resort one, which stays. None for a device that has no
 * KEM prekeys (it predates hybrid sessions).
 */
async function takeKemPrekey(db: Db, deviceId: string): Promise<KemPrekey | undefined> {
  const { rows } = await sql<Omit<KemPrekeysTable, 'device_id'>>`
    delete from one_time_kem_prekeys
    where (device_id, prekey_id) in (
      select device_id, prekey_id from one_time_kem_prekeys
      where device_id = ${deviceId}
      order by prekey_id
      limit 1
      for update skip locked
    )
    returning prekey_id, public_key, created_at, signature`.execute(db);
  const oneTime = rows[0];
  if (oneTime) return kemPrekey(oneTime, false);
  const lastResort = await db
    .selectFrom('last_resort_kem_prekeys')
    .select(['prekey_id', 'public_key', 'created_at', 'signature'])
    .where('device_id', '=', deviceId)
    .executeTakeFirst();
  return lastResort && kemPrekey(lastResort, true);
}

/**
 * A bundle for each current device of a contact point, each with one one-time prekey popped for
 * good: the row is locked with SKIP LOCKED and deleted in one statement, so concurrent fetches
 * (on any node) never receive the same one. A device with none left gets its signed prekey alone.
 *
 * A KEM prekey is added only when the requesting device has a last-resort KEM prekey here, that
 * is, speaks hybrid sessions itself: an SDK from before them never gets a field it does not know,
 * and never spends the one-time KEM prekeys of the devices it fetches. A partner network's relay
 * fetching for one of its devices says which it is (`requesterHybrid`).
 */
export async function fetchBundles(
  db: Kysely<Database>,
  contactPointId: string,
  requesterDeviceId: string,
  now: number,
  requesterHybrid?: boolean,
): Promise<{ response: BundlesResponse; low: { deviceId: string; count: PrekeyCount }[] }> {
  return db.transaction().execute(async (tx) => {
    const contactPoint = await tx
      .selectFrom('contact_points')
      .select(['authority_certificate', 'certificate'])
      .where('contact_point_id', '=', contactPointId)
      .where('not_after', '>', now)
      .executeTakeFirst();
    if (!contactPoint) throw new RelayError('NOT_FOUND', `no contact point "${contactPointId}"`);
    const hybrid = requesterHybrid ?? (await hasLastResortKemPrekey(tx, requesterDeviceId));
    const devices = await tx
      .selectFrom('devices')
      .innerJoin('signed_prekeys', 'signed_prekeys.device_id', 'devices.device_id')
      .select([
        'devices.device_id',
        'devices.certificate',
        'signed_prekeys.prekey_id',
        'signed_prekeys.public_key',
        'signed_prekeys.created_at',
        'signed_prekeys.signature',
      ])
      .where('devices.contact_point_id', '=', contactPointId)
      .where('devices.not_after', '>', now)
      .orderBy('devices.device_id')
      .execute();
    const bundles: PrekeyBundle[] = [];
    const low = [];
    for (const d of devices) {
      const { rows } = await sql<{ prekey_id: number; public_key: string }>`
        delete from one_time_prekeys
        where (device_id, prekey_id) in (
          select device_id, prekey_id from one_time_prekeys
          where device_id = ${d.device_id}
          order by prekey_id
          limit 1
          for update skip locked
        )
        returning prekey_id, public_key`.execute(tx);
      const oneTime = rows[0];
      const kem = hybrid ? await takeKemPrekey(tx, d.device_id) : undefined;
      const count = await countWith(tx, d.device_id, d);
      if (count.low) low.push({ deviceId: d.device_id, count });
      bundles.push({
        device: d.certificate,
        signedPrekey: { id: d.prekey_id, publicKey: d.public_key, createdAt: d.created_at, signature: d.signature },
        ...(oneTime && { oneTimePrekey: { id: Number(oneTime.prekey_id), publicKey: oneTime.public_key } }),
        ...(kem && { kemPrekey: kem }),
      });
    }
    return {
      response: { authority: contactPoint.authority_certificate, contactPoint: contactPoint.certificate, bundles },
      low,
    };
  });
}
