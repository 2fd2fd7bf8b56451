import { encodeBase64url, type SendRequest } from '@liaison/protocol';
import { type Kysely, sql } from 'kysely';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { embeddedTestDatabase } from './__fixtures__/embedded-test-database.js';
import { type MessageToStore, sendContext, storeMessages } from './messages.js';
import type { Database } from './schema.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const NOW = 1_000_000;
const WITHIN = 60_000;

/** An urgent message from Somchai to Lilit, escalating to Aram: one device at each level. */
function urgent(n: number): MessageToStore {
  const request: SendRequest = {
    messageId: id(n),
    recipient: 'am-pgo.lilit',
    priority: 'urgent',
    acknowledgeWithinMs: WITHIN,
    createdAt: 1,
    envelopes: [
      {
        recipientDevice: 'lilit-phone',
        kind: 'message',
        ciphertext: encodeBase64url(new Uint8Array(40)),
        escalationLevel: 0,
      },
      {
        recipientDevice: 'aram-phone',
        kind: 'message',
        ciphertext: encodeBase64url(new Uint8Array(40)),
        escalationLevel: 1,
      },
    ],
  };
  return {
    sender: { deviceId: 'somchai-phone', contactPointId: 'th-oag.somchai' },
    request,
    levels: [
      { contactPointId: 'am-pgo.lilit', devices: 1 },
      { contactPointId: 'am-pgo.aram', devices: 1 },
    ],
  };
}

// An urgent batch is read in one statement (sendContext) and written in one (storeMessages): the
// message, its envelopes, its timer, its levels and its webhook alerts commit together or not at all.
describe('an urgent batch in storage (embedded PostgreSQL)', () => {
  const database = embeddedTestDatabase([
    'webhook_alerts',
    'urgent_levels',
    'urgent_messages',
    'envelopes',
    'receipts',
    'messages',
  ]);
  let db: Kysely<Database>;
  beforeAll(async () => {
    db = database.db;
    // Lilit's chain names members whose ids do not sort in its order; one is not stored here.
    const chain = JSON.stringify({ escalationChain: ['am-pgo.zara', 'am-pgo.aram', 'ua-pgo.away'] });
    for (const [contactPoint, certificate] of [
      ['am-pgo.lilit', chain],
      ['am-pgo.aram', '{}'],
      ['am-pgo.zara', '{}'],
    ] as const) {
      await sql`
        insert into contact_points (contact_point_id, network_id, authority_id, country, display_name, kind, languages,
          competences, account_key, authority_certificate, certificate, availability, not_after, updated_at)
        values (${contactPoint}, 'am', 'am-pgo', 'AM', ${contactPoint}, 'person', '{}', '{}', 'key', '{}',
          ${certificate}::jsonb, '{}', ${NOW * 10}, 0)`.execute(db);
    }
    for (const [device, contactPoint, notAfter] of [
      ['lilit-phone', 'am-pgo.lilit', NOW * 10],
      ['aram-phone', 'am-pgo.aram', NOW * 10],
      ['aram-old-phone', 'am-pgo.aram', NOW - 1],
    ] as const) {
      await sql`
        insert into devices (device_id, contact_point_id, certificate, not_after, registered_at)
        values (${device}, ${contactPoint}, '{}', ${notAfter}, 0)`.execute(db);
    }
    await sql`
      insert into webhooks (network_id, authority_id, url, secret, issued_at)
      values ('am', 'am-pgo', 'https://alerts.pgo.am/liaison', '\\x00', 0)`.execute(db);
  });
  afterEach(async () => {
    await sql`drop trigger if exists refuse_alerts on webhook_alerts`.execute(db);
  });

  it('reads the chain in its order and the current devices of the members stored here, in the one read', async () => {
    const context = await sendContext(db, {
      messageIds: [id(1)],
      contactPointIds: ['am-pgo.lilit', 'th-oag.somchai'],
      deviceIds: ['lilit-phone'],
      chainsOf: ['am-pgo.lilit', 'am-pgo.aram'],
      maxQueued: 10,
      now: NOW,
    });
    expect(context.chains.get('am-pgo.lilit')).toEqual(['am-pgo.zara', 'am-pgo.aram', 'ua-pgo.away']);
    // A contact point with no chain has none; the caller reads that as an empty chain.
    expect(context.chains.has('am-pgo.aram')).toBe(false);
    expect(Object.fromEntries(context.devices)).toEqual({
      'am-pgo.lilit': ['lilit-phone'],
      'am-pgo.zara': [],
      'am-pgo.aram': ['aram-phone'],
    });
    // A normal batch reads no chain.
    const normal = await sendContext(db, {
      messageIds: [id(1)],
      contactPointIds: ['am-pgo.lilit'],
      deviceIds: ['lilit-phone'],
      maxQueued: 10,
      now: NOW,
    });
    expect(normal.chains.size).toBe(0);
    expect([...normal.devices.keys()]).toEqual(['am-pgo.lilit']);
  });

  it('stores each new message with its timer, levels and level-0 alert, and starts nothing for a retry', async () => {
    expect([...(await storeMessages(db, [urgent(1)], NOW - 5, 86_400_000))]).toEqual([id(1)]);
    const stored = await storeMessages(db, [urgent(1), urgent(2)], NOW, 86_400_000);
    expect([...stored]).toEqual([id(2)]);
    const { rows: timers } = await sql<{ message_id: string; next_step_at: string }>`
      select message_id, next_step_at from urgent_messages order by message_id`.execute(db);
    expect(timers.map((t) => [t.message_id, Number(t.next_step_at)])).toEqual([
      [id(1), NOW - 5 + WITHIN],
      [id(2), NOW + WITHIN],
    ]);
    const { rows: levels } = await sql<{ level: number; contact_point_id: string; released_at: string | null }>`
      select level, contact_point_id, released_at from urgent_levels where message_id = ${id(2)} order by level`.execute(
      db,
    );
    expect(levels.map((l) => [l.level, l.contact_point_id, l.released_at && Number(l.released_at)])).toEqual([
      [0, 'am-pgo.lilit', NOW],
      [1, 'am-pgo.aram', null],
    ]);
    const { rows: alerts } = await sql<{ payload: Record<string, unknown> }>`
      select payload from webhook_alerts where payload ->> 'messageId' = ${id(2)}`.execute(db);
    expect(alerts.map((a) => a.payload)).toEqual([
      {
        type: 'urgent.received',
        networkId: 'am',
        authorityId: 'am-pgo',
        messageId: id(2),
        contactPointId: 'am-pgo.lilit',
        level: 0,
        deadline: NOW + WITHIN,
        at: NOW,
      },
    ]);
    expect(Number((await sql<{ n: number }>`select count(*) as n from webhook_alerts`.execute(db)).rows[0]?.n)).toBe(2);
  });

  it('stores none of the batch when its alerts cannot be written', async () => {
    // Fault injection in the real database: the last step of the statement fails.
    await sql`
      create or replace function refuse_alerts() returns trigger language plpgsql as $$
      begin raise exception 'injected fault'; end $$`.execute(db);
    await sql`
      create trigger refuse_alerts before insert on webhook_alerts
      for each row execute function refuse_alerts()`.execute(db);
    await expect(storeMessages(db, [urgent(1), urgent(2)], NOW, 86_400_000)).rejects.toThrow('injected fault');
    const { rows } = await sql<{ n: number }>`
      select (select count(*) from messages) + (select count(*) from envelopes) + (select count(*) from receipts)
        + (select count(*) from urgent_messages) + (select count(*) from urgent_levels) as n`.execute(db);
    expect(Number(rows[0]?.n)).toBe(0);
  });
});
