import {
  type AuthorityCertificate,
  type Availability,
  type CertificateChain,
  type DeviceCertificate,
  type DirectoryEntry,
  type DirectoryPage,
  type DirectoryQuery,
  type KemPrekey,
  LIMITS,
  type OneTimePrekey,
  type Revocation,
  type SignedPrekey,
} from '@liaison/protocol';
import { type Kysely, sql } from 'kysely';
import { RelayError } from '../errors.js';
import type { Database, Db } from './schema.js';

/**
 * Registers a device with its verified chain and first prekeys. The designation is stored once
 * per contact point id and may only be renewed by the same authority for the same account key;
 * a device's identity never changes (its id is its key), while re-registration replaces prekeys.
 */
export async function registerDevice(
  db: Kysely<Database>,
  chain: CertificateChain,
  prekeys: { signedPrekey: SignedPrekey; oneTimePrekeys: OneTimePrekey[]; kemPrekeys?: KemPrekey[] | undefined },
  now: number,
): Promise<void> {
  const { authority, contactPoint, device } = chain;
  await db.transaction().execute(async (tx) => {
    const row = {
      network_id: contactPoint.networkId,
      authority_id: contactPoint.authorityId,
      country: authority.country,
      display_name: contactPoint.displayName,
      kind: contactPoint.kind,
      languages: contactPoint.languages,
      competences: contactPoint.competences,
      account_key: contactPoint.accountKey,
      authority_certificate: JSON.stringify(authority),
      certificate: JSON.stringify(contactPoint),
      not_after: contactPoint.notAfter,
      updated_at: now,
    };
    // Inserted if new, in one statement: two first devices of a contact point registering at once
    // would otherwise both find no row (a row lock locks nothing that does not exist yet) and both insert.
    const created = await tx
      .insertInto('contact_points')
      .values({
        contact_point_id: contactPoint.contactPointId,
        availability: JSON.stringify({ status: 'available' }),
        ...row,
      })
      .onConflict((oc) => oc.column('contact_point_id').doNothing())
      .returning('contact_point_id')
      .executeTakeFirst();
    if (!created) {
      const existing = await tx
        .selectFrom('contact_points')
        .select(['network_id', 'authority_id', 'account_key', 'certificate'])
        .where('contact_point_id', '=', contactPoint.contactPointId)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (
        existing.network_id !== contactPoint.networkId ||
        existing.authority_id !== contactPoint.authorityId ||
        existing.account_key !== contactPoint.accountKey
      ) {
        throw new RelayError(
          'CONFLICT',
          `contact point "${contactPoint.contactPointId}" is bound to another designation`,
        );
      }
      if (contactPoint.notBefore >= existing.certificate.notBefore) {
        await tx
          .updateTable('contact_points')
          .set(row)
          .where('contact_point_id', '=', contactPoint.contactPointId)
          .execute();
      }
    }

    const known = await tx
      .selectFrom('devices')
      .select(['contact_point_id'])
      .where('device_id', '=', device.deviceId)
      .executeTakeFirst();
    if (known && known.contact_point_id !== contactPoint.contactPointId) {
      throw new RelayError('CONFLICT', 'this device is registered to another contact point');
    }
    if (!known) {
      const { count } = await tx
        .selectFrom('devices')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('contact_point_id', '=', contactPoint.contactPointId)
        .where('not_after', '>', now)
        .executeTakeFirstOrThrow();
      if (Number(count) >= LIMITS.maxDevicesPerContactPoint) {
        throw new RelayError(
          'QUOTA_EXCEEDED',
          `a contact point may have at most ${LIMITS.maxDevicesPerContactPoint} devices`,
        );
      }
    }
    await tx
      .insertInto('devices')
      .values({
        device_id: device.deviceId,
        contact_point_id: contactPoint.contactPointId,
        certificate: JSON.stringify(device),
        not_after: device.notAfter,
        registered_at: now,
      })
      .onConflict((oc) =>
        oc.column('device_id').doUpdateSet({ certificate: JSON.stringify(device), not_after: device.notAfter }),
      )
      .execute();
    await replaceSignedPrekey(tx, device.deviceId, prekeys.signedPrekey);
    await tx.deleteFrom('one_time_prekeys').where('device_id', '=', device.deviceId).execute();
    await insertOneTimePrekeys(tx, device.deviceId, prekeys.oneTimePrekeys);
    // The registration states all of the device's KEM prekeys too: none (a device that predates
    // hybrid sessions, or stopped speaking them) leaves none behind for initiators to encrypt to.
    await tx.deleteFrom('one_time_kem_prekeys').where('device_id', '=', device.deviceId).execute();
    await tx.deleteFrom('last_resort_kem_prekeys').where('device_id', '=', device.deviceId).execute();
    await storeKemPrekeys(tx, device.deviceId, prekeys.kemPrekeys ?? []);
  });
}

export async function replaceSignedPrekey(db: Db, deviceId: string, prekey: SignedPrekey): Promise<void> {
  const values = {
    prekey_id: prekey.id,
    public_key: prekey.publicKey,
    created_at: prekey.createdAt,
    signature: prekey.signature,
  };
  await db
    .insertInto('signed_prekeys')
    .values({ device_id: deviceId, ...values })
    .onConflict((oc) => oc.column('device_id').doUpdateSet(values))
    .execute();
}

export async function insertOneTimePrekeys(db: Db, deviceId: string, prekeys: OneTimePrekey[]): Promise<void> {
  if (prekeys.length === 0) return;
  await db
    .insertInto('one_time_prekeys')
    .values(prekeys.map((p) => ({ device_id: deviceId, prekey_id: p.id, public_key: p.publicKey })))
    .onConflict((oc) => oc.columns(['device_id', 'prekey_id']).doNothing())
    .execute();
}

/**
 * Stores KEM prekeys whose signatures the caller checked: a last-resort one replaces the device's,
 * one-time ones join its pool (an id already there is left as it is, so a retried upload is
 * harmless). Refused, inside the caller's transaction so that nothing is stored: a pool that would
 * pass LIMITS.maxKemPrekeysStored, and one-time KEM prekeys for a device with no last-resort one
 * (the relay tells hybrid devices apart by their last-resort KEM prekey, so a pool without one
 * would be spent by nobody and reported to nobody).
 */
export async function storeKemPrekeys(db: Db, deviceId: string, prekeys: readonly KemPrekey[]): Promise<void> {
  const lastResort = prekeys.find((p) => p.lastResort);
  const oneTime = prekeys.filter((p) => !p.lastResort);
  if (lastResort) {
    const values = {
      prekey_id: lastResort.id,
      public_key: lastResort.publicKey,
      created_at: lastResort.createdAt,
      signature: lastResort.signature,
    };
    await db
      .insertInto('last_resort_kem_prekeys')
      .values({ device_id: deviceId, ...values })
      .onConflict((oc) => oc.column('device_id').doUpdateSet(values))
      .execute();
  }
  if (oneTime.length === 0) return;
  if (!lastResort && !(await hasLastResortKemPrekey(db, deviceId))) {
    throw new RelayError(
      'INVALID_INPUT',
      'one-time KEM prekeys need a last-resort KEM prekey, uploaded first or with them',
      {
        path: 'kemPrekeys',
      },
    );
  }
  if ((await oneTimeKemPrekeyCount(db, deviceId)) + oneTime.length > LIMITS.maxKemPrekeysStored) {
    throw new RelayError(
      'QUOTA_EXCEEDED',
      `the relay holds at most ${LIMITS.maxKemPrekeysStored} one-time KEM prekeys per device`,
    );
  }
  await db
    .insertInto('one_time_kem_prekeys')
    .values(
      oneTime.map((p) => ({
        device_id: deviceId,
        prekey_id: p.id,
        public_key: p.publicKey,
        created_at: p.createdAt,
        signature: p.signature,
      })),
    )
    .onConflict((oc) => oc.columns(['device_id', 'prekey_id']).doNothing())
    .execute();
}

export async function hasLastResortKemPrekey(db: Db, deviceId: string): Promise<boolean> {
  const row = await db
    .selectFrom('last_resort_kem_prekeys')
    .select('device_id')
    .where('device_id', '=', deviceId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function oneTimeKemPrekeyCount(db: Db, deviceId: string): Promise<number> {
  const { count } = await db
    .selectFrom('one_time_kem_prekeys')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('device_id', '=', deviceId)
    .executeTakeFirstOrThrow();
  return Number(count);
}

/** The stored chain of a device, to re-verify it at each authentication. */
export async function deviceChain(db: Db, deviceId: string): Promise<CertificateChain | undefined> {
  const row = await db
    .selectFrom('devices')
    .innerJoin('contact_points', 'contact_points.contact_point_id', 'devices.contact_point_id')
    .select([
      'devices.certificate as device',
      'contact_points.certificate as contactPoint',
      'contact_points.authority_certificate as authority',
    ])
    .where('devices.device_id', '=', deviceId)
    .executeTakeFirst();
  return row && { authority: row.authority, contactPoint: row.contactPoint, device: row.device };
}

/** Whether a device is registered (not revoked) and its device, designation and authority certificates are current. */
export async function deviceStillValid(db: Db, deviceId: string, now: number): Promise<boolean> {
  return (await stillValidDevice(db, deviceId, now).executeTakeFirst()) !== undefined;
}

/**
 * The query behind `deviceStillValid`, unexecuted: a row if the device may still act. A statement
 * that must also check the device (an attachment chunk, storage/blobs.ts) includes it as a subquery.
 */
export function stillValidDevice(db: Db, deviceId: string, now: number) {
  return db
    .selectFrom('devices')
    .innerJoin('contact_points', 'contact_points.contact_point_id', 'devices.contact_point_id')
    .select('devices.device_id')
    .where('devices.device_id', '=', deviceId)
    .where('devices.not_after', '>', now)
    .where('contact_points.not_after', '>', now)
    .where(sql<boolean>`(contact_points.authority_certificate->>'notAfter')::bigint > ${now}`);
}

/**
 * Current devices of several contact points in one query: a key for each contact point that
 * exists (with no devices, an empty list); none for an unknown one.
 */
export async function currentDevicesOf(
  db: Db,
  contactPointIds: readonly string[],
  now: number,
): Promise<Map<string, string[]>> {
  if (contactPointIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('contact_points')
    .leftJoin('devices', (join) =>
      join.onRef('devices.contact_point_id', '=', 'contact_points.contact_point_id').on('devices.not_after', '>', now),
    )
    .select(['contact_points.contact_point_id', 'devices.device_id'])
    .where('contact_points.contact_point_id', 'in', [...new Set(contactPointIds)])
    .orderBy('devices.device_id')
    .execute();
  return devicesByContactPoint(rows);
}

/** Rows of a contact point and one of its devices (none: null) as each contact point's devices, in row order. */
export function devicesByContactPoint(
  rows: readonly { contact_point_id: string; device_id: string | null }[],
): Map<string, string[]> {
  const devices = new Map<string, string[]>();
  for (const row of rows) {
    const list = devices.get(row.contact_point_id) ?? [];
    if (row.device_id !== null) list.push(row.device_id);
    devices.set(row.contact_point_id, list);
  }
  return devices;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export async function searchDirectory(db: Db, query: DirectoryQuery, now: number): Promise<DirectoryPage> {
  const limit = query.limit ?? 20;
  let select = db
    .selectFrom('contact_points')
    .select(['contact_point_id', 'authority_certificate', 'certificate', 'availability'])
    .where('not_after', '>', now)
    .orderBy('contact_point_id')
    .limit(limit + 1);
  if (query.country) select = select.where('country', '=', query.country);
  if (query.authority) select = select.where('authority_id', '=', query.authority);
  if (query.network) select = select.where('network_id', '=', query.network);
  if (query.language) select = select.where(sql<boolean>`${query.language} = any(languages)`);
  if (query.competence) select = select.where(sql<boolean>`${query.competence} = any(competences)`);
  if (query.q) select = select.where('display_name', 'ilike', `%${escapeLike(query.q)}%`);
  if (query.cursor) select = select.where('contact_point_id', '>', query.cursor);
  const rows = await select.execute();
  const page = rows.slice(0, limit);
  const devices = await deviceCertificates(
    db,
    page.map((r) => r.contact_point_id),
    now,
  );
  const entries: DirectoryEntry[] = page.map((r) => ({
    authority: r.authority_certificate,
    contactPoint: r.certificate,
    devices: devices.get(r.contact_point_id) ?? [],
    availability: r.availability,
  }));
  const last = page.at(-1);
  return { entries, ...(rows.length > limit && last && { nextCursor: last.contact_point_id }) };
}

/** One contact point's directory entry, with its current devices' certificates. */
export async function directoryEntry(db: Db, contactPointId: string, now: number): Promise<DirectoryEntry | undefined> {
  const row = await db
    .selectFrom('contact_points')
    .select(['authority_certificate', 'certificate', 'availability'])
    .where('contact_point_id', '=', contactPointId)
    .where('not_after', '>', now)
    .executeTakeFirst();
  if (!row) return undefined;
  const devices = await deviceCertificates(db, [contactPointId], now);
  return {
    authority: row.authority_certificate,
    contactPoint: row.certificate,
    devices: devices.get(contactPointId) ?? [],
    availability: row.availability,
  };
}

/** Certificates of the current devices of these contact points, by contact point. */
async function deviceCertificates(
  db: Db,
  contactPointIds: string[],
  now: number,
): Promise<Map<string, DeviceCertificate[]>> {
  const byContactPoint = new Map<string, DeviceCertificate[]>();
  if (contactPointIds.length === 0) return byContactPoint;
  const rows = await db
    .selectFrom('devices')
    .select(['contact_point_id', 'certificate'])
    .where('contact_point_id', 'in', contactPointIds)
    .where('not_after', '>', now)
    .orderBy('device_id')
    .execute();
  for (const row of rows) {
    byContactPoint.set(row.contact_point_id, [...(byContactPoint.get(row.contact_point_id) ?? []), row.certificate]);
  }
  return byContactPoint;
}

export async function setAvailability(db: Db, contactPointId: string, availability: Availability): Promise<void> {
  await db
    .updateTable('contact_points')
    .set({ availability: JSON.stringify(availability) })
    .where('contact_point_id', '=', contactPointId)
    .execute();
}

export async function revocations(db: Db): Promise<Revocation[]> {
  const rows = await db.selectFrom('revocations').select('statement').execute();
  return rows.map((r) => r.statement);
}

/**
 * The key of the issuer right above a subject registered here, as its stored certificates name
 * it: the authority's key for a contact point, the account key for a device. None for a subject
 * not registered here, or registered in another network, nor for an authority (its issuer, a
 * network's root, is configured, not stored).
 */
export async function storedIssuerKey(
  db: Db,
  subject: Pick<Revocation, 'networkId' | 'subject' | 'subjectId'>,
): Promise<string | undefined> {
  if (subject.subject === 'authority') return undefined;
  if (subject.subject === 'contact-point') {
    const row = await db
      .selectFrom('contact_points')
      .select(['authority_certificate', 'network_id'])
      .where('contact_point_id', '=', subject.subjectId)
      .executeTakeFirst();
    return row?.network_id === subject.networkId ? row.authority_certificate.publicKey : undefined;
  }
  const row = await db
    .selectFrom('devices')
    .innerJoin('contact_points', 'contact_points.contact_point_id', 'devices.contact_point_id')
    .select(['contact_points.account_key', 'contact_points.network_id'])
    .where('devices.device_id', '=', subject.subjectId)
    .executeTakeFirst();
  return row?.network_id === subject.networkId ? row.account_key : undefined;
}

/** The newest certificate of an authority stored here, as the designations of its contact points carry it. */
export async function authorityCertificate(
  db: Db,
  networkId: string,
  authorityId: string,
): Promise<AuthorityCertificate | undefined> {
  const row = await db
    .selectFrom('contact_points')
    .select('authority_certificate')
    .where('network_id', '=', networkId)
    .where('authority_id', '=', authorityId)
    .orderBy('updated_at', 'desc')
    .executeTakeFirst();
  return row?.authority_certificate;
}

/** Stores a verified revocation and removes the devices it cuts off; returns their ids. */
export async function applyRevocation(db: Kysely<Database>, revocation: Revocation, now: number): Promise<string[]> {
  return db.transaction().execute(async (tx) => {
    await tx
      .insertInto('revocations')
      .values({
        network_id: revocation.networkId,
        subject: revocation.subject,
        subject_id: revocation.subjectId,
        issuer_key: revocation.issuerKey,
        statement: JSON.stringify(revocation),
        received_at: now,
      })
      .onConflict((oc) => oc.columns(['network_id', 'subject', 'subject_id', 'issuer_key']).doNothing())
      .execute();
    let devices = tx
      .selectFrom('devices')
      .innerJoin('contact_points', 'contact_points.contact_point_id', 'devices.contact_point_id')
      .select('devices.device_id')
      .where('contact_points.network_id', '=', revocation.networkId);
    if (revocation.subject === 'device') devices = devices.where('devices.device_id', '=', revocation.subjectId);
    if (revocation.subject === 'contact-point')
      devices = devices.where('devices.contact_point_id', '=', revocation.subjectId);
    if (revocation.subject === 'authority')
      devices = devices.where('contact_points.authority_id', '=', revocation.subjectId);
    const ids = (await devices.execute()).map((r) => r.device_id);
    if (ids.length > 0) {
      await tx.deleteFrom('envelopes').where('recipient_device', 'in', ids).execute();
      await tx.deleteFrom('devices').where('device_id', 'in', ids).execute();
    }
    return ids;
  });
}
