import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/**
 * The relay's key of this name: `candidate` if none is stored yet, else the stored one, so that
 * every node on this database uses the same. Nodes starting together all try to insert; one row
 * wins, and all read it.
 */
export async function relayKey(
  db: Kysely<Database>,
  name: string,
  candidate: Uint8Array,
  now: number,
): Promise<Uint8Array> {
  await db
    .insertInto('relay_keys')
    .values({ name, key: candidate, created_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const { key } = await db.selectFrom('relay_keys').select('key').where('name', '=', name).executeTakeFirstOrThrow();
  return new Uint8Array(key);
}
