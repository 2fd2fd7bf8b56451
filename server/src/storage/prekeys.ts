import { type BundlesResponse, LIMITS, type PrekeyCount, type PrekeyUpload } from '@liaison/protocol';
import { type Kysely, sql } from 'kysely';
import { RelayError } from '../errors.js';
import { insertOneTimePrekeys, replaceSignedPrekey } from './directory.js';
import type { Database, Db } from './schema.js';

export async function uploadPrekeys(
  db: Kysely<Database>,
  deviceId: string,
  upload: PrekeyUpload,
): Promise<PrekeyCount> {
  await db.transaction().execute(async (tx) => {
    if (upload.signedPrekey) await replaceSignedPrekey(tx, deviceId, upload.signedPrekey);
    const held = await oneTimeCount(tx, deviceId);
    if (held + upload.oneTimePrekeys.length > LIMITS.maxOneTimePrekeysStored) {
      throw new RelayError(
        'QUOTA_EXCEEDED',
        `the relay holds at most ${LIMITS.maxOneTimePrekeysStored} one-time prekeys per device`,
      );
    }
    await insertOneTimePrekeys(tx, deviceId, upload.oneTimePrekeys);
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

export async function prekeyCount(db: Kysely<Database>, deviceId: string): Promise<PrekeyCount> {
  const signed = await db
    .selectFrom('signed_prekeys')
    .select(['prekey_id', 'created_at'])
    .where('device_id', '=', deviceId)
    .executeTakeFirstOrThrow();
  const oneTimePrekeys = await oneTimeCount(db, deviceId);
  return {
    oneTimePrekeys,
    signedPrekeyId: signed.prekey_id,
    signedPrekeyCreatedAt: signed.created_at,
    low: oneTimePrekeys < LIMITS.oneTimePrekeyLowWatermark,
  };
}

/**
 * A bundle for each current device of a contact point, each with one one-time prekey popped for
 * good: the row is locked with SKIP LOCKED and deleted in one statement, so concurrent fetches
 * (on any node) never receive the same one. A device with none left gets its signed prekey alone.
 */
export async function fetchBundles(
  db: Kysely<Database>,
  contactPointId: string,
  now: number,
): Promise<{ response: BundlesResponse; low: { deviceId: string; count: PrekeyCount }[] }> {
  return db.transaction().execute(async (tx) => {
    const contactPoint = await tx
      .selectFrom('contact_points')
      .select(['authority_certificate', 'certificate'])
      .where('contact_point_id', '=', contactPointId)
      .where('not_after', '>', now)
      .executeTakeFirst();
    if (!contactPoint) throw new RelayError('NOT_FOUND', `no contact point "${contactPointId}"`);
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
    const bundles = [];
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
      const left = await oneTimeCount(tx, d.device_id);
      if (left < LIMITS.oneTimePrekeyLowWatermark) {
        low.push({
          deviceId: d.device_id,
          count: { oneTimePrekeys: left, signedPrekeyId: d.prekey_id, signedPrekeyCreatedAt: d.created_at, low: true },
        });
      }
      bundles.push({
        device: d.certificate,
        signedPrekey: { id: d.prekey_id, publicKey: d.public_key, createdAt: d.created_at, signature: d.signature },
        ...(oneTime && { oneTimePrekey: { id: Number(oneTime.prekey_id), publicKey: oneTime.public_key } }),
      });
    }
    return {
      response: { authority: contactPoint.authority_certificate, contactPoint: contactPoint.certificate, bundles },
      low,
    };
  });
}
