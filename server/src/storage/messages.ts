import type { Envelope, ForwardedMessage, Receipt, ReceiptStatus, SendRequest } from '@liaison/protocol';
import { type Kysely, sql } from 'kysely';
import { asBuffer } from '../bytes.js';
import { RelayError } from '../errors.js';
import { enqueueMessages } from './federation-outbox.js';
import type { Database, Db } from './schema.js';
import { type PlannedLevel, releasedContactPoints, stopEscalation, urgentStarts } from './urgent.js';

/** A receipt and the contact point whose devices it goes to (the message's sender). */
export interface RoutedReceipt {
  to: string;
  receipt: Receipt;
}

export interface Sender {
  deviceId: string;
  contactPointId: string;
}

/**
 * A message to store: who sent it, what (the envelopes for devices here), and for an urgent one
 * escalating here the levels planned at send time. A message for contact points of partner
 * networks carries what goes to each partner's relay; one a partner's relay forwarded names its
 * network.
 */
export interface MessageToStore {
  sender: Sender;
  request: SendRequest;
  levels?: readonly PlannedLevel[];
  forwards?: readonly { networkId: string; message: ForwardedMessage }[];
  originNetwork?: string;
}

/**
 * The one writer of messages. Stores messages, all or nothing: each with its envelopes and its
 * `relayed` receipt, and for an urgent message escalating here its timer, its levels (the copies of
 * levels >= 1 held) and its webhook alerts, in one statement (and so one commit) however many there
 * are. A message id already stored is skipped with its envelopes (a retry, or another sender's id:
 * the caller tells which). Returns the ids stored now. Ids must be distinct.
 */
export async function storeMessages(
  db: Kysely<Database>,
  messages: readonly MessageToStore[],
  now: number,
  ttlMs: number,
): Promise<Set<string>> {
  // One statement needs no transaction around it: two round trips less per batch.
  if (!messages.some((m) => m.forwards?.length)) return insertMessages(db, messages, now, ttlMs);
  return db.transaction().execute(async (tx) => {
    const stored = await insertMessages(tx, messages, now, ttlMs);
    // What goes to partner relays leaves with the message's commit, or not at all.
    await enqueueMessages(
      tx,
      messages.flatMap((m) => (stored.has(m.request.messageId) ? (m.forwards ?? []) : [])),
      now,
    );
    return stored;
  });
}

/** Messages, their envelopes, `relayed` receipts and urgent starts in one statement; see storeMessages. */
async function insertMessages(
  db: Db,
  messages: readonly MessageToStore[],
  now: number,
  ttlMs: number,
): Promise<Set<string>> {
  const rows = messages.map(({ sender, request, originNetwork }) => ({
    id: request.messageId,
    sender,
    request,
    originNetwork: originNetwork ?? null,
    // Urgent only: the deadline of level 0.
    deadline: request.acknowledgeWithinMs === undefined ? null : now + request.acknowledgeWithinMs,
  }));
  const envelopes = messages.flatMap(({ request }) => request.envelopes.map((e) => ({ id: request.messageId, e })));
  // Every ciphertext of the batch in one binary parameter, each cut out by its offset: as hex text
  // each was a string twice its size, escaped into an array literal (docs/performance.md).
  const ciphertexts = envelopes.map((x) => Buffer.from(x.e.ciphertext, 'base64url'));
  const starts: number[] = [];
  let offset = 1;
  for (const c of ciphertexts) {
    starts.push(offset);
    offset += c.length;
  }
  const listed = messages.flatMap(({ request }) =>
    (request.recipients ?? []).map((contactPointId) => ({ id: request.messageId, contactPointId })),
  );
  const urgent = messages.flatMap(({ sender, request, levels }) =>
    request.acknowledgeWithinMs !== undefined && levels !== undefined
      ? [
          {
            messageId: request.messageId,
            senderContactPoint: sender.contactPointId,
            acknowledgeWithinMs: request.acknowledgeWithinMs,
            levels,
          },
        ]
      : [],
  );
  const { rows: stored } = await sql<{ message_id: string }>`
    with m as (
      insert into messages (message_id, sender_device, sender_contact_point, recipient_contact_point, priority, created_at, server_time, deadline, origin_network)
      select id, sender_device, sender_contact_point, recipient, priority, created_at, ${now}::bigint, deadline, origin_network
      from unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.sender.deviceId)}::text[],
        ${rows.map((r) => r.sender.contactPointId)}::text[], ${rows.map((r) => r.request.recipient ?? null)}::text[],
        ${rows.map((r) => r.request.priority)}::text[], ${rows.map((r) => r.request.createdAt)}::bigint[],
        ${rows.map((r) => r.deadline)}::bigint[], ${rows.map((r) => r.originNetwork)}::text[])
        as x(id, sender_device, sender_contact_point, recipient, priority, created_at, deadline, origin_network)
      on conflict (message_id) do nothing
      returning message_id, sender_contact_point, recipient_contact_point, deadline
    ), mr as (
      insert into message_recipients (message_id, contact_point_id)
      select x.id, x.contact_point_id
      from unnest(${listed.map((x) => x.id)}::uuid[], ${listed.map((x) => x.contactPointId)}::text[])
        as x(id, contact_point_id)
      join m on m.message_id = x.id
      returning message_id, contact_point_id
    ), e as (
      insert into envelopes (message_id, recipient_device, kind, ciphertext, escalation_level, expires_at, held, deadline)
      select x.id, x.device, x.kind, substring(${Buffer.concat(ciphertexts)}::bytea from x.start for x.length), x.level,
        ${now + ttlMs}::bigint, x.level > 0, case when x.level = 0 then m.deadline end
      from unnest(${envelopes.map((x) => x.id)}::uuid[], ${envelopes.map((x) => x.e.recipientDevice)}::text[],
        ${envelopes.map((x) => x.e.kind)}::text[], ${starts}::int[], ${ciphertexts.map((c) => c.length)}::int[],
        ${envelopes.map((x) => x.e.escalationLevel)}::int[])
        as x(id, device, kind, start, length, level)
      join m on m.message_id = x.id
    ), r as (
      insert into receipts (message_id, sender_contact_point, contact_point_id, device_id, status, at)
      select message_id, sender_contact_point, recipient_contact_point, null, 'relayed', ${now}::bigint
      from m where recipient_contact_point is not null
      union all
      select mr.message_id, m.sender_contact_point, mr.contact_point_id, null, 'relayed', ${now}::bigint
      from mr join m on m.message_id = mr.message_id
    )${urgentStarts(urgent, now)}
    select message_id from m`.execute(db);
  return new Set(stored.map((r) => r.message_id));
}

/** The sender device and server time of those of these message ids that are stored. */
export async function storedMessages(
  db: Kysely<Database>,
  messageIds: readonly string[],
): Promise<Map<string, { senderDevice: string; serverTime: number }>> {
  if (messageIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('messages')
    .select(['message_id', 'sender_device', 'server_time'])
    .where('message_id', 'in', [...messageIds])
    .execute();
  return new Map(rows.map((r) => [r.message_id, { senderDevice: r.sender_device, serverTime: Number(r.server_time) }]));
}

/** What a batch of sends is checked against before it is stored; see sendContext. */
export interface SendContext {
  /** Those of the message ids that are stored already: their sender device and server time. */
  stored: Map<string, { senderDevice: string; serverTime: number }>;
  /**
   * The current devices of the contact points known here (an empty list for one with none), and of
   * the members known here of the chains read; others are absent.
   */
  devices: Map<string, string[]>;
  /** Those of the devices whose queue of undelivered envelopes has reached the maximum. */
  full: Set<string>;
  /** The escalation chain of each contact point of `chainsOf` stored here with one; others are absent. */
  chains: Map<string, string[]>;
}

/**
 * storedMessages, currentDevicesOf and fullQueues of one batch of sends in one statement, and for
 * urgent sends the recipients' escalation chains and their members' devices: one round trip
 * instead of three (five for urgent sends), each of which cost the relay a query to build, a
 * socket write and a result to parse (docs/performance.md). The answers come from one snapshot.
 */
export async function sendContext(
  db: Db,
  batch: {
    messageIds: readonly string[];
    contactPointIds: readonly string[];
    deviceIds: readonly string[];
    /** Contact points whose escalation chains to read, with their members' devices (urgent sends). */
    chainsOf?: readonly string[];
    maxQueued: number;
    now: number;
  },
): Promise<SendContext> {
  // A chain's members are known here only once it is read: their devices are read in the same
  // statement, from the chains' rows (the array is built once, before the devices' index scan).
  // Without chains (normal sends) the statement is the three reads alone: the chains' common table
  // expression, even empty, made PostgreSQL's answer about 100 µs slower (docs/performance.md).
  const chainsOf = batch.chainsOf ?? [];
  const chained = chainsOf.length > 0;
  const { rows } = await sql<{
    kind: 'chain' | 'device' | 'full' | 'stored';
    id: string;
    other: string | null;
    at: string | null;
  }>`
    ${
      chained
        ? sql`with chain as (
      select c.contact_point_id as id, e.member, e.position
      from contact_points c
      cross join lateral jsonb_array_elements_text(c.certificate -> 'escalationChain') with ordinality as e(member, position)
      where c.contact_point_id = any(${[...chainsOf]}::text[])
    )`
        : sql``
    }
    select 'stored' as kind, message_id::text as id, sender_device as other, server_time as at
    from messages where message_id = any(${[...batch.messageIds]}::uuid[])
    union all
    select 'device', c.contact_point_id, d.device_id, null
    from contact_points c
    left join devices d on d.contact_point_id = c.contact_point_id and d.not_after > ${batch.now}::bigint
    where c.contact_point_id = any(${[...batch.contactPointIds]}::text[]${chained ? sql` || array(select member from chain)` : sql``})
    union all
    select 'full', recipient_device, null, null
    from envelopes where recipient_device = any(${[...batch.deviceIds]}::text[]) and not held
    group by recipient_device having count(*) >= ${batch.maxQueued}::bigint
    ${chained ? sql`union all select 'chain', id, member, position from chain` : sql``}
    order by 1, 2, 3`.execute(db);
  const context: SendContext = { stored: new Map(), devices: new Map(), full: new Set(), chains: new Map() };
  for (const row of rows) {
    if (row.kind === 'stored') {
      context.stored.set(row.id, { senderDevice: row.other as string, serverTime: Number(row.at) });
    } else if (row.kind === 'device') {
      const list = context.devices.get(row.id) ?? [];
      if (row.other !== null) list.push(row.other);
      context.devices.set(row.id, list);
    } else if (row.kind === 'chain') {
      // Placed by position: the rows come in the order of the members' ids.
      const chain = context.chains.get(row.id) ?? [];
      chain[Number(row.at) - 1] = row.other as string;
      context.chains.set(row.id, chain);
    } else context.full.add(row.id);
  }
  return context;
}

/** For each of these messages, the devices still waiting for it (undelivered, not held back). */
export async function waitingDevices(
  db: Kysely<Database>,
  messageIds: readonly string[],
): Promise<Map<string, string[]>> {
  const waiting = new Map<string, string[]>();
  if (messageIds.length === 0) return waiting;
  const rows = await db
    .selectFrom('envelopes')
    .select(['message_id', 'recipient_device'])
    .where('message_id', 'in', [...messageIds])
    .where('held', '=', false)
    .execute();
  for (const r of rows) waiting.set(r.message_id, [...(waiting.get(r.message_id) ?? []), r.recipient_device]);
  return waiting;
}

/** The devices among these whose queue of undelivered envelopes has reached `max`. */
export async function fullQueues(db: Kysely<Database>, deviceIds: string[], max: number): Promise<string[]> {
  if (deviceIds.length === 0) return [];
  const rows = await db
    .selectFrom('envelopes')
    .select(['recipient_device', (eb) => eb.fn.countAll<number>().as('queued')])
    .where('recipient_device', 'in', deviceIds)
    .where('held', '=', false)
    .groupBy('recipient_device')
    .having((eb) => eb.fn.countAll(), '>=', max)
    .execute();
  return rows.map((r) => r.recipient_device);
}

/**
 * Bytes as the protocol's base64url, by Node's own encoder: the same text as `encodeBase64url`
 * (canonical, unpadded), 0.3 µs for an envelope of 1,144 bytes where that JavaScript loop, which
 * the SDK needs in browsers, takes 11 µs: 5–8% of the relay's CPU per delivery.
 */
function base64url(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('base64url');
}

export interface QueuedEnvelope {
  seq: number;
  envelope: Envelope;
}

/** The oldest envelopes waiting for a device, leaving out those already pushed and not yet acknowledged. */
export async function queuedEnvelopes(
  db: Kysely<Database>,
  deviceId: string,
  inFlight: readonly string[],
  limit: number,
): Promise<QueuedEnvelope[]> {
  if (limit <= 0) return [];
  const rows = await db
    .selectFrom('envelopes')
    .innerJoin('messages', 'messages.message_id', 'envelopes.message_id')
    .select([
      'envelopes.seq',
      'envelopes.message_id',
      'envelopes.kind',
      'envelopes.ciphertext',
      'envelopes.escalation_level',
      'messages.sender_device',
      'messages.sender_contact_point',
      'messages.priority',
      'messages.created_at',
      'messages.server_time',
      'envelopes.deadline',
    ])
    .where('envelopes.recipient_device', '=', deviceId)
    .where('envelopes.held', '=', false)
    .$if(inFlight.length > 0, (q) => q.where('envelopes.message_id', 'not in', [...inFlight]))
    .orderBy('envelopes.seq')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    seq: Number(r.seq),
    envelope: {
      messageId: r.message_id,
      senderContactPoint: r.sender_contact_point,
      senderDevice: r.sender_device,
      recipientDevice: deviceId,
      kind: r.kind as Envelope['kind'],
      priority: r.priority as Envelope['priority'],
      ciphertext: base64url(r.ciphertext),
      createdAt: r.created_at,
      serverTime: r.server_time,
      ...(r.deadline !== null && { deadline: r.deadline }),
      escalationLevel: r.escalation_level,
    },
  }));
}

/**
 * Devices confirm they stored these envelopes, many devices at once in one statement: the
 * ciphertext is deleted at once and a `delivered` receipt recorded (for the recipient's devices,
 * not the sender's own copies). Only each device's own envelopes are touched; ids of others'
 * envelopes, held ones, or already acknowledged ones are ignored. Returns, per request, how many
 * were deleted, and the receipts to route, in the order the device named the messages (the order
 * they reached it): a join returns rows in whatever order its plan gives.
 */
export async function acknowledgeDeliveries(
  db: Kysely<Database>,
  requests: readonly { device: Sender; messageIds: readonly string[] }[],
  now: number,
): Promise<{ deleted: number; receipts: RoutedReceipt[] }[]> {
  const pairs = requests.flatMap(({ device, messageIds }, i) =>
    [...new Set(messageIds)].map((id) => ({ i, device, id })),
  );
  const { rows } = await sql<{
    request: number;
    message_id: string;
    sender_contact_point: string;
    contact_point_id: string;
    device_id: string;
    receipt: boolean;
  }>`
    with x as (
      select * from unnest(${pairs.map((p) => p.i)}::int[], ${pairs.map((p) => p.device.deviceId)}::text[],
        ${pairs.map((p) => p.device.contactPointId)}::text[], ${pairs.map((p) => p.id)}::uuid[])
        with ordinality as x(request, device_id, contact_point_id, message_id, position)
    ), d as (
      delete from envelopes e using x
      where e.recipient_device = x.device_id and e.message_id = x.message_id and not e.held
      returning x.request, x.message_id, x.device_id, x.contact_point_id, x.position
    ), r as (
      insert into receipts (message_id, sender_contact_point, contact_point_id, device_id, status, at)
      select d.message_id, m.sender_contact_point, d.contact_point_id, d.device_id, 'delivered', ${now}::bigint
      from d join messages m on m.message_id = d.message_id
      -- A copy delivered to another device of the sender is no news to the sender.
      where m.sender_contact_point <> d.contact_point_id
      returning message_id, device_id
    )
    select d.request, d.message_id, m.sender_contact_point, d.contact_point_id, d.device_id,
      exists (select 1 from r where r.message_id = d.message_id and r.device_id = d.device_id) as receipt
    from d join messages m on m.message_id = d.message_id
    order by d.position`.execute(db);
  const results = requests.map(() => ({ deleted: 0, receipts: [] as RoutedReceipt[] }));
  for (const row of rows) {
    const result = results[row.request];
    if (!result) continue;
    result.deleted++;
    if (row.receipt) {
      result.receipts.push(
        routed({
          message_id: row.message_id,
          sender_contact_point: row.sender_contact_point,
          contact_point_id: row.contact_point_id,
          device_id: row.device_id,
          status: 'delivered',
          at: now,
        }),
      );
    }
  }
  return results;
}

/**
 * A person confirmed the message: at the recipient contact point, or (urgent) at an escalation
 * level already released. Recorded every time; the first one stops an escalation and deletes the
 * held copies. Refused for anyone the message has not reached.
 */
export async function acknowledgeByPerson(
  db: Kysely<Database>,
  device: Sender,
  messageId: string,
  now: number,
): Promise<{ receipt: RoutedReceipt; stoppedEscalation: boolean }> {
  return db.transaction().execute(async (tx) => {
    const message = await tx
      .selectFrom('messages')
      .select(['sender_contact_point', 'recipient_contact_point', 'priority'])
      .where('message_id', '=', messageId)
      .executeTakeFirst();
    const reached = !message
      ? []
      : message.priority === 'urgent'
        ? await releasedContactPoints(tx, messageId)
        : message.recipient_contact_point !== null
          ? [message.recipient_contact_point]
          : await listedRecipients(tx, messageId);
    if (!message || !reached.includes(device.contactPointId)) {
      throw new RelayError('NOT_FOUND', 'no message with this id was addressed to you');
    }
    const row = {
      message_id: messageId,
      sender_contact_point: message.sender_contact_point,
      contact_point_id: device.contactPointId,
      device_id: device.deviceId,
      status: 'acknowledged',
      at: now,
    };
    await tx.insertInto('receipts').values(row).execute();
    const stoppedEscalation = message.priority === 'urgent' && (await stopEscalation(tx, messageId, device, now));
    return { receipt: routed(row), stoppedEscalation };
  });
}

/** The recipients of a message to several contact points. */
async function listedRecipients(db: Db, messageId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('message_recipients')
    .select('contact_point_id')
    .where('message_id', '=', messageId)
    .execute();
  return rows.map((r) => r.contact_point_id);
}

/** Deletes envelopes past their time and records `expired` receipts for their senders. */
export async function expireEnvelopes(db: Kysely<Database>, now: number): Promise<RoutedReceipt[]> {
  return db.transaction().execute(async (tx) => {
    const expired = await tx
      .deleteFrom('envelopes')
      .where('expires_at', '<=', now)
      .returning(['message_id', 'recipient_device'])
      .execute();
    if (expired.length === 0) return [];
    const context = await tx
      .selectFrom('messages')
      .select(['message_id', 'sender_contact_point', 'recipient_contact_point'])
      .where('message_id', 'in', [...new Set(expired.map((e) => e.message_id))])
      .execute();
    const byId = new Map(context.map((m) => [m.message_id, m]));
    // The contact point whose device it was: the recipient's, an escalation member's or a room member's.
    const owners = new Map(
      (
        await tx
          .selectFrom('devices')
          .select(['device_id', 'contact_point_id'])
          .where('device_id', 'in', [...new Set(expired.map((e) => e.recipient_device))])
          .execute()
      ).map((d) => [d.device_id, d.contact_point_id]),
    );
    const receipts = expired.flatMap((e) => {
      const m = byId.get(e.message_id);
      const owner = owners.get(e.recipient_device) ?? m?.recipient_contact_point;
      return m && owner
        ? [
            {
              message_id: e.message_id,
              sender_contact_point: m.sender_contact_point,
              contact_point_id: owner,
              device_id: e.recipient_device,
              status: 'expired',
              at: now,
            },
          ]
        : [];
    });
    if (receipts.length > 0) await tx.insertInto('receipts').values(receipts).execute();
    return receipts.map(routed);
  });
}

/** Forgets delivery metadata older than the retention period, and messages with nothing left to deliver. */
export async function forgetOldMetadata(db: Kysely<Database>, before: number): Promise<void> {
  await db.deleteFrom('receipts').where('at', '<', before).execute();
  await db.deleteFrom('webhook_alerts').where('created_at', '<', before).execute();
  await db.deleteFrom('federation_receipts_seen').where('at', '<', before).execute();
  await db.deleteFrom('foreign_urgent_states').where('updated_at', '<', before).execute();
  await db
    .deleteFrom('messages')
    .where('server_time', '<', before)
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('envelopes').select('seq').whereRef('envelopes.message_id', '=', 'messages.message_id'))),
    )
    .execute();
}

/** Receipts for a sender's messages, after a cursor: what a device missed while offline. */
export async function receiptsFor(
  db: Kysely<Database>,
  senderContactPoint: string,
  afterId: number,
  limit: number,
): Promise<{ receipts: Receipt[]; lastId: number }> {
  const rows = await db
    .selectFrom('receipts')
    .selectAll()
    .where('sender_contact_point', '=', senderContactPoint)
    .where('receipt_id', '>', afterId)
    .orderBy('receipt_id')
    .limit(limit)
    .execute();
  return { receipts: rows.map(toReceipt), lastId: Number(rows.at(-1)?.receipt_id ?? afterId) };
}

function toReceipt(row: {
  message_id: string;
  contact_point_id: string;
  device_id: string | null;
  status: string;
  at: number;
}): Receipt {
  return {
    messageId: row.message_id,
    status: row.status as ReceiptStatus,
    contactPointId: row.contact_point_id,
    ...(row.device_id !== null && { deviceId: row.device_id }),
    at: row.at,
  };
}

function routed(row: Parameters<typeof toReceipt>[0] & { sender_contact_point: string }): RoutedReceipt {
  return { to: row.sender_contact_point, receipt: toReceipt(row) };
}

/**
 * A partner's relay refused a forwarded message for good: each of its recipients there gets an
 * `expired` receipt, as an envelope that was never delivered does. Returns the receipts to route.
 */
export async function recordUndeliverable(
  db: Db,
  messageId: string,
  contactPointIds: readonly string[],
  now: number,
): Promise<RoutedReceipt[]> {
  const message = await db
    .selectFrom('messages')
    .select('sender_contact_point')
    .where('message_id', '=', messageId)
    .executeTakeFirst();
  if (!message || contactPointIds.length === 0) return [];
  const rows = contactPointIds.map((contactPointId) => ({
    message_id: messageId,
    sender_contact_point: message.sender_contact_point,
    contact_point_id: contactPointId,
    device_id: null,
    status: 'expired',
    at: now,
  }));
  await db.insertInto('receipts').values(rows).execute();
  return rows.map(routed);
}

/**
 * Records a receipt a partner's relay forwarded for one of our senders' messages; returns it to
 * route. The same receipt again (same contact point, device and status) is not recorded twice.
 */
export async function recordForwardedReceipt(db: Db, receipt: Receipt): Promise<RoutedReceipt | undefined> {
  const message = await db
    .selectFrom('messages')
    .select(['sender_contact_point', 'origin_network'])
    .where('message_id', '=', receipt.messageId)
    .executeTakeFirst();
  if (!message || message.origin_network !== null) return undefined;
  const same = await db
    .selectFrom('receipts')
    .select('receipt_id')
    .where('message_id', '=', receipt.messageId)
    .where('contact_point_id', '=', receipt.contactPointId)
    .where('status', '=', receipt.status)
    .where((eb) =>
      receipt.deviceId === undefined ? eb('device_id', 'is', null) : eb('device_id', '=', receipt.deviceId),
    )
    .executeTakeFirst();
  if (same) return undefined;
  const row = {
    message_id: receipt.messageId,
    sender_contact_point: message.sender_contact_point,
    contact_point_id: receipt.contactPointId,
    device_id: receipt.deviceId ?? null,
    status: receipt.status,
    at: receipt.at,
  };
  await db.insertInto('receipts').values(row).execute();
  return routed(row);
}
