import type { UrgentLevel, UrgentState, UrgentStatus } from '@liaison/protocol';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import { dropBlobReaders } from './blobs.js';
import type { Database, Db } from './schema.js';
import { queueWebhookAlerts, webhookAlertsOf } from './webhooks.js';

/** One level of an urgent message as the relay plans it at send time. */
export interface PlannedLevel {
  contactPointId: string;
  /** The devices the sender encrypted this level for (none: the level is skipped). */
  devices: number;
}

/** The escalation chain the recipient's authority signed into its designation, as stored at registration. */
export async function escalationChainOf(db: Db, contactPointId: string): Promise<string[]> {
  return (await escalationChainsOf(db, [contactPointId])).get(contactPointId) ?? [];
}

/** The escalation chains of these contact points, in one read; a contact point not stored here has none. */
export async function escalationChainsOf(db: Db, contactPointIds: readonly string[]): Promise<Map<string, string[]>> {
  if (contactPointIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('contact_points')
    .select(['contact_point_id', 'certificate'])
    .where('contact_point_id', 'in', [...new Set(contactPointIds)])
    .execute();
  return new Map(rows.map((r) => [r.contact_point_id, r.certificate.escalationChain ?? []]));
}

/** An urgent message escalating here, with the levels planned at send time. */
export interface UrgentStart {
  messageId: string;
  senderContactPoint: string;
  acknowledgeWithinMs: number;
  levels: readonly PlannedLevel[];
}

/**
 * The steps that record urgent messages' levels and start their timers, as common table
 * expressions to follow those of the statement that inserts the messages, `m` (insertMessages):
 * so a message, its timer, its levels and its webhook alerts commit together, in one round trip.
 * Level 0 is released now, with its deadline; the copies of later levels were stored held. Only
 * messages `m` inserted now (not retries) start. Empty when there are none.
 */
export function urgentStarts(messages: readonly UrgentStart[], now: number): RawBuilder<unknown> {
  if (messages.length === 0) return sql``;
  const deadlines = messages.map((m) => now + m.acknowledgeWithinMs);
  const levels = messages.flatMap((m, i) =>
    m.levels.map((l, level) => ({
      id: m.messageId,
      level,
      contactPointId: l.contactPointId,
      devices: l.devices,
      releasedAt: level === 0 ? now : null,
      deadline: level === 0 ? (deadlines[i] as number) : null,
    })),
  );
  // Foreign keys (levels to their timer, timer to its message) are checked at the end of the
  // statement, when all are in. The alerts read the levels this statement inserts, from `ul`.
  return sql`, um as (
      insert into urgent_messages (message_id, sender_contact_point, status, level, acknowledge_within_ms, next_step_at, updated_at)
      select x.id, x.sender_contact_point, 'escalating', 0, x.within, x.deadline, ${now}::bigint
      from unnest(${messages.map((m) => m.messageId)}::uuid[], ${messages.map((m) => m.senderContactPoint)}::text[],
        ${messages.map((m) => m.acknowledgeWithinMs)}::bigint[], ${deadlines}::bigint[])
        as x(id, sender_contact_point, within, deadline)
      join m on m.message_id = x.id
      returning message_id
    ), ul as (
      insert into urgent_levels (message_id, level, contact_point_id, devices, released_at, deadline)
      select x.id, x.level, x.contact_point_id, x.devices, x.released_at, x.deadline
      from unnest(${levels.map((l) => l.id)}::uuid[], ${levels.map((l) => l.level)}::int[],
        ${levels.map((l) => l.contactPointId)}::text[], ${levels.map((l) => l.devices)}::int[],
        ${levels.map((l) => l.releasedAt)}::bigint[], ${levels.map((l) => l.deadline)}::bigint[])
        as x(id, level, contact_point_id, devices, released_at, deadline)
      join um on um.message_id = x.id
      returning message_id, level, deadline, contact_point_id
    ), ua as (${webhookAlertsOf(sql`(select * from ul where level = 0)`, 'urgent.received', now)})`;
}

/**
 * The state of an urgent message urgentStarts just recorded, as urgentStates would read it back:
 * what the sender and the recipient are told at once, without reading it again.
 */
export function startedState(message: UrgentStart, now: number): UrgentState {
  const deadline = now + message.acknowledgeWithinMs;
  return {
    messageId: message.messageId,
    senderContactPoint: message.senderContactPoint,
    status: 'escalating',
    level: 0,
    acknowledgeWithinMs: message.acknowledgeWithinMs,
    levels: message.levels.map((l, level) => ({
      level,
      contactPointId: l.contactPointId,
      devices: l.devices,
      ...(level === 0 && { releasedAt: now, deadline }),
    })),
    updatedAt: now,
  };
}

/** What one escalation pass did: the messages whose state changed, and the devices given copies. */
export interface EscalationPass {
  changed: string[];
  releasedDevices: string[];
  /** How late each step ran after its deadline, in ms (for the metrics and the timing measurement). */
  lateness: number[];
}

/**
 * Runs the escalation steps that are due, at most `batch` of them, exactly once across every
 * node: due timers are claimed with FOR UPDATE SKIP LOCKED, so two nodes never take the same one,
 * and the step (release the next level with devices, or end as unacknowledged) commits with the
 * timer's move. Each released level gets the full time to acknowledge from its release.
 */
export async function runDueEscalations(db: Kysely<Database>, now: number, batch: number): Promise<EscalationPass> {
  return db.transaction().execute(async (tx) => {
    const { rows: due } = await sql<{
      message_id: string;
      next_step_at: number;
      acknowledge_within_ms: number;
      next_level: number | null;
    }>`
      select u.message_id, u.next_step_at, u.acknowledge_within_ms,
        (select min(l.level) from urgent_levels l
          where l.message_id = u.message_id and l.level > u.level and l.devices > 0) as next_level
      from urgent_messages u
      where u.next_step_at <= ${now}
      order by u.next_step_at
      limit ${batch}
      for update of u skip locked`.execute(tx);
    if (due.length === 0) return { changed: [], releasedDevices: [], lateness: [] };

    const escalating = due.filter((d) => d.next_level !== null);
    const exhausted = due.filter((d) => d.next_level === null).map((d) => d.message_id);
    let releasedDevices: string[] = [];
    if (escalating.length > 0) {
      const ids = escalating.map((d) => d.message_id);
      const levels = escalating.map((d) => d.next_level as number);
      const deadlines = escalating.map((d) => now + Number(d.acknowledge_within_ms));
      const steps = sql`unnest(${ids}::uuid[], ${levels}::int[], ${deadlines}::bigint[]) as s(message_id, level, deadline)`;
      const { rows: released } = await sql<{ recipient_device: string }>`
        update envelopes e set held = false, deadline = s.deadline from ${steps}
        where e.message_id = s.message_id and e.escalation_level = s.level and e.held
        returning e.recipient_device`.execute(tx);
      releasedDevices = released.map((r) => r.recipient_device);
      await sql`
        update urgent_levels l set released_at = ${now}, deadline = s.deadline from ${steps}
        where l.message_id = s.message_id and l.level = s.level`.execute(tx);
      await sql`
        update urgent_messages u set level = s.level, next_step_at = s.deadline, updated_at = ${now} from ${steps}
        where u.message_id = s.message_id`.execute(tx);
      await queueWebhookAlerts(
        tx,
        escalating.map((d, i) => ({
          messageId: d.message_id,
          level: levels[i] as number,
          deadline: deadlines[i] as number,
        })),
        'urgent.escalated',
        now,
      );
    }
    if (exhausted.length > 0) {
      await tx
        .updateTable('urgent_messages')
        .set({ status: 'unacknowledged', next_step_at: null, updated_at: now })
        .where('message_id', 'in', exhausted)
        .execute();
    }
    return {
      changed: due.map((d) => d.message_id),
      releasedDevices,
      lateness: due.map((d) => now - Number(d.next_step_at)),
    };
  });
}

/**
 * The first acknowledgement by a person at a released level stops the escalation and deletes the
 * held copies at once. Returns whether this acknowledgement was the one that stopped it.
 */
export async function stopEscalation(
  tx: Transaction<Database>,
  messageId: string,
  by: { contactPointId: string; deviceId: string },
  now: number,
): Promise<boolean> {
  const stopped = await tx
    .updateTable('urgent_messages')
    .set({
      status: 'acknowledged',
      next_step_at: null,
      acknowledged_contact_point: by.contactPointId,
      acknowledged_device: by.deviceId,
      acknowledged_at: now,
      updated_at: now,
    })
    .where('message_id', '=', messageId)
    .where('status', '=', 'escalating')
    .returning('message_id')
    .executeTakeFirst();
  if (!stopped) return false;
  const cancelled = await tx
    .deleteFrom('envelopes')
    .where('message_id', '=', messageId)
    .where('held', '=', true)
    .returning('recipient_device')
    .execute();
  // Devices of levels never released will not download the message's attachments: the blobs need not wait for them.
  await dropBlobReaders(
    tx,
    messageId,
    cancelled.map((c) => c.recipient_device),
  );
  return true;
}

/** The contact points an urgent message has reached so far (level 0 and every released level). */
export async function releasedContactPoints(db: Db, messageId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('urgent_levels')
    .select('contact_point_id')
    .where('message_id', '=', messageId)
    .where('released_at', 'is not', null)
    .orderBy('level')
    .execute();
  return rows.map((r) => r.contact_point_id);
}

/** The current state of these urgent messages, as their sender and released recipients see it. */
export async function urgentStates(db: Db, messageIds: readonly string[]): Promise<UrgentState[]> {
  if (messageIds.length === 0) return [];
  const messages = await db
    .selectFrom('urgent_messages')
    .selectAll()
    .where('message_id', 'in', [...messageIds])
    .execute();
  const levels = await db
    .selectFrom('urgent_levels')
    .selectAll()
    .where('message_id', 'in', [...messageIds])
    .orderBy('message_id')
    .orderBy('level')
    .execute();
  const byMessage = new Map<string, UrgentLevel[]>();
  for (const l of levels) {
    const list = byMessage.get(l.message_id) ?? [];
    list.push({
      level: l.level,
      contactPointId: l.contact_point_id,
      devices: l.devices,
      ...(l.released_at !== null && { releasedAt: Number(l.released_at) }),
      ...(l.deadline !== null && { deadline: Number(l.deadline) }),
    });
    byMessage.set(l.message_id, list);
  }
  return messages.map((m) => ({
    messageId: m.message_id,
    senderContactPoint: m.sender_contact_point,
    status: m.status as UrgentStatus,
    level: m.level,
    acknowledgeWithinMs: Number(m.acknowledge_within_ms),
    levels: byMessage.get(m.message_id) ?? [],
    ...(m.acknowledged_contact_point !== null &&
      m.acknowledged_device !== null &&
      m.acknowledged_at !== null && {
        acknowledged: {
          contactPointId: m.acknowledged_contact_point,
          deviceId: m.acknowledged_device,
          at: Number(m.acknowledged_at),
        },
      }),
    updatedAt: Number(m.updated_at),
  }));
}

/** Urgent messages with a step still to come, all nodes together (a gauge). */
export async function pendingEscalations(db: Db): Promise<number> {
  const row = await db
    .selectFrom('urgent_messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('next_step_at', 'is not', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
