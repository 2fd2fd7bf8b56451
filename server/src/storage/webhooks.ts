import type { WebhookAlert, WebhookRegistration } from '@liaison/protocol';
import { decodeBase64url } from '@liaison/protocol';
import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import { RelayError } from '../errors.js';
import type { Database, Db } from './schema.js';

/**
 * Stores an authority's webhook (already checked as signed by it). Only a registration newer than
 * the stored one counts, so an old one replayed cannot bring back a URL or secret.
 */
export async function saveWebhook(db: Kysely<Database>, registration: WebhookRegistration): Promise<void> {
  const row = {
    network_id: registration.networkId,
    authority_id: registration.authorityId,
    url: registration.url ?? null,
    secret: decodeBase64url(registration.secret) as Uint8Array,
    issued_at: registration.issuedAt,
  };
  const saved = await db
    .insertInto('webhooks')
    .values(row)
    .onConflict((oc) =>
      oc
        .columns(['network_id', 'authority_id'])
        .doUpdateSet({ url: row.url, secret: row.secret, issued_at: row.issued_at })
        .where('webhooks.issued_at', '<', row.issued_at),
    )
    .returning('issued_at')
    .executeTakeFirst();
  if (!saved) throw new RelayError('CONFLICT', 'a newer webhook registration of this authority is stored');
}

/**
 * Queues one alert per message level for the authority of that level's contact point, if it has a
 * webhook. Runs in the transaction of the step that causes it, so an alert is never lost or made twice.
 */
export async function queueWebhookAlerts(
  tx: Transaction<Database>,
  steps: readonly { messageId: string; level: number; deadline: number }[],
  type: WebhookAlert['type'],
  now: number,
): Promise<void> {
  if (steps.length === 0) return;
  await webhookAlertsOf(
    sql`(select s.message_id, s.level, s.deadline, l.contact_point_id
      from unnest(${steps.map((s) => s.messageId)}::uuid[], ${steps.map((s) => s.level)}::int[],
        ${steps.map((s) => s.deadline)}::bigint[]) as s(message_id, level, deadline)
      join urgent_levels l on l.message_id = s.message_id and l.level = s.level)`,
    type,
    now,
  ).execute(tx);
}

/**
 * The insert of queueWebhookAlerts, from a relation of levels (message_id, level, deadline,
 * contact_point_id): also a step of a larger statement (urgentStarts), one writer of the payload.
 */
export function webhookAlertsOf(levels: RawBuilder<unknown>, type: WebhookAlert['type'], now: number) {
  return sql`
    insert into webhook_alerts (network_id, authority_id, payload, status, next_attempt_at, created_at)
    select w.network_id, w.authority_id,
      jsonb_build_object('type', ${type}::text, 'networkId', w.network_id, 'authorityId', w.authority_id,
        'messageId', s.message_id, 'contactPointId', s.contact_point_id, 'level', s.level,
        'deadline', s.deadline, 'at', ${now}::bigint),
      'pending', ${now}::bigint, ${now}::bigint
    from ${levels} as s
    join contact_points c on c.contact_point_id = s.contact_point_id
    join webhooks w on w.network_id = c.network_id and w.authority_id = c.authority_id and w.url is not null
    order by s.message_id`;
}

export interface DueAlert {
  alert: WebhookAlert;
  url: string;
  secret: Uint8Array;
  attempts: number;
}

/**
 * Claims alerts due for an attempt, on one node only (SKIP LOCKED), by moving their next attempt
 * past a lease: the POST happens outside any transaction, and a node that dies mid-attempt only
 * delays the alert until the lease ends.
 */
export async function claimDueAlerts(
  db: Kysely<Database>,
  now: number,
  batch: number,
  leaseMs: number,
): Promise<DueAlert[]> {
  return db.transaction().execute(async (tx) => {
    const { rows } = await sql<{
      alert_id: number;
      payload: Omit<WebhookAlert, 'alertId'>;
      attempts: number;
      url: string | null;
      secret: Uint8Array;
    }>`
      select a.alert_id, a.payload, a.attempts, w.url, w.secret
      from webhook_alerts a
      join webhooks w on w.network_id = a.network_id and w.authority_id = a.authority_id
      where a.next_attempt_at <= ${now}
      order by a.next_attempt_at
      limit ${batch}
      for update of a skip locked`.execute(tx);
    if (rows.length === 0) return [];
    await tx
      .updateTable('webhook_alerts')
      .set((eb) => ({ next_attempt_at: now + leaseMs, attempts: eb('attempts', '+', 1) }))
      .where(
        'alert_id',
        'in',
        rows.map((r) => r.alert_id),
      )
      .execute();
    const due: DueAlert[] = [];
    for (const r of rows) {
      // The authority removed its webhook since: the alert has nowhere to go.
      if (r.url === null) {
        await recordAttempt(tx, Number(r.alert_id), { outcome: 'failed', result: 'webhook removed' }, now);
        continue;
      }
      due.push({
        alert: { alertId: Number(r.alert_id), ...r.payload },
        url: r.url,
        secret: r.secret,
        attempts: r.attempts + 1,
      });
    }
    return due;
  });
}

export type AttemptOutcome =
  | { outcome: 'delivered'; result: string }
  | { outcome: 'retry'; result: string; nextAttemptAt: number }
  | { outcome: 'failed'; result: string };

/** Writes the result of an attempt into the delivery log. */
export async function recordAttempt(db: Db, alertId: number, attempt: AttemptOutcome, now: number): Promise<void> {
  await db
    .updateTable('webhook_alerts')
    .set({
      status: attempt.outcome === 'retry' ? 'pending' : attempt.outcome,
      last_result: attempt.result.slice(0, 200),
      next_attempt_at: attempt.outcome === 'retry' ? attempt.nextAttemptAt : null,
      ...(attempt.outcome === 'delivered' && { delivered_at: now }),
    })
    .where('alert_id', '=', alertId)
    .execute();
}
