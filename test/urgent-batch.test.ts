// Review #25, findings 2 and 3: sends that go in one batch are answered each on its own. A send
// refused for its own reason, or failing in the database, must not change another sender's answer
// nor cost it more than the one urgent token its stored message takes.
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Connection, connect, register } from './harness/device-client.js';
import { type TestDevice, testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { describeWith, postgresService } from './harness/services.js';
import { until } from './harness/until.js';

const WITHIN = 30 * 60_000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWith([postgresService], 'sends that go in one batch, each answered on its own (postgres)', () => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  const connections: Connection[] = [];
  let people = 0;

  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay('postgres', {
      trustedRoots: [net.root],
      urgentSendsPerHour: 3,
      maxQueuedEnvelopes: 2,
      escalationPollMs: 3_600_000,
      webhookPollMs: 3_600_000,
    });
  });
  afterAll(async () => {
    for (const c of connections) c.close();
    await relay.stop();
  });

  /** A contact point of its own, with one device, registered and connected. */
  const person = async () => {
    const contactPoint = net.authority('th-oag', 'TH').contactPoint(`person-${++people}`);
    const device = await contactPoint.addDevice();
    expect((await register(relay.url, device)).status).toBe(200);
    const connection = await connect(relay.url, device);
    connections.push(connection);
    return { id: contactPoint.id, device, connection };
  };
  type Person = Awaited<ReturnType<typeof person>>;

  const request = (to: Person, priority: 'normal' | 'urgent', messageId: string = crypto.randomUUID()) => ({
    messageId,
    recipient: to.id,
    priority,
    createdAt: Date.now(),
    ...(priority === 'urgent' && { acknowledgeWithinMs: WITHIN }),
    envelopes: [
      {
        recipientDevice: (to.device as TestDevice).id,
        kind: 'message' as const,
        ciphertext: 'AAAA',
        escalationLevel: 0,
      },
    ],
  });

  /**
   * Makes `sends` go in one batch: a lock on the messages table holds the batch of `blocker` at its
   * first read, so that what is sent meanwhile waits and goes together in the next batch.
   */
  const inOneBatch = async <T>(blocker: () => Promise<unknown>, sends: () => Promise<T>): Promise<T> => {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = () => {};
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holding = relay.relay.db.transaction().execute(async (trx) => {
      await sql`lock table messages in access exclusive mode`.execute(trx);
      locked();
      await released;
    });
    await isLocked;
    const first = blocker();
    await until(async () => {
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`.execute(relay.relay.db);
      return (rows[0]?.n ?? 0) > 0;
    }, 'a batch waiting for the lock');
    const answers = sends();
    // Time for the sends to reach the relay's batcher while the batch before them waits.
    await pause(300);
    release();
    await holding;
    await first;
    return answers;
  };

  /** Sends `a` then `b`, in this order, from two connections. */
  const oneThenOther = async <A, B>(a: () => Promise<A>, b: () => Promise<B>) => {
    const first = a();
    await pause(50);
    return Promise.all([first, b()]);
  };

  it("stores a valid urgent send whose id another sender's refused send used first in the batch", async () => {
    const [blocker, sink, mallory, somchai, niran] = await Promise.all([
      person(),
      person(),
      person(),
      person(),
      person(),
    ]);
    const good = request(niran, 'urgent');
    // Mallory's envelopes name a device that is not Niran's: refused for its coverage.
    const bad = { ...good, envelopes: good.envelopes.map((e) => ({ ...e, recipientDevice: 'A'.repeat(43) })) };
    const [malloryAnswer, somchaiAnswer] = await inOneBatch(
      () => blocker.connection.call('send', request(sink, 'urgent')),
      () =>
        oneThenOther(
          () => mallory.connection.call('send', bad),
          () => somchai.connection.call('send', good),
        ),
    );
    expect(malloryAnswer).toMatchObject({ ok: false, error: 'DEVICE_MISMATCH' });
    expect(somchaiAnswer).toMatchObject({ ok: true, value: { messageId: good.messageId, duplicate: false } });
    const [envelope] = await niran.connection.waitForEnvelopes(1);
    expect(envelope).toMatchObject({ messageId: good.messageId, senderDevice: somchai.device.id, priority: 'urgent' });
  });

  it("stores a valid normal send whose id another sender's send to a full queue used first in the batch", async () => {
    const [blocker, sink, mallory, somchai, carol, niran] = await Promise.all([
      person(),
      person(),
      person(),
      person(),
      person(),
      person(),
    ]);
    // Carol's queue holds as many undelivered envelopes as the relay keeps.
    for (let i = 0; i < 2; i++)
      expect(await sink.connection.call('send', request(carol, 'normal'))).toMatchObject({ ok: true });
    const id = crypto.randomUUID();
    const [malloryAnswer, somchaiAnswer] = await inOneBatch(
      () => blocker.connection.call('send', request(sink, 'normal')),
      () =>
        oneThenOther(
          () => mallory.connection.call('send', request(carol, 'normal', id)),
          () => somchai.connection.call('send', request(niran, 'normal', id)),
        ),
    );
    expect(malloryAnswer).toMatchObject({ ok: false, error: 'QUOTA_EXCEEDED' });
    expect(somchaiAnswer).toMatchObject({ ok: true, value: { messageId: id, duplicate: false } });
    const [envelope] = await niran.connection.waitForEnvelopes(1);
    expect(envelope).toMatchObject({ messageId: id, senderDevice: somchai.device.id });
  });

  it('answers the other urgent sends of a batch whose transaction failed for one of them, at one token each', async () => {
    const [blocker, sink, mallory, somchai] = await Promise.all([person(), person(), person(), person()]);
    const recipients = await Promise.all(Array.from({ length: 5 }, () => person()));
    // Fault injection in the real database: the insert of this one message fails.
    const faulty = crypto.randomUUID();
    await sql
      .raw(`
        create function refuse_one_message() returns trigger language plpgsql as $$
        begin
          if new.message_id = '${faulty}'::uuid then raise exception 'injected fault'; end if;
          return new;
        end $$;
        create trigger refuse_one_message before insert on messages
          for each row execute function refuse_one_message();`)
      .execute(relay.relay.db);
    try {
      const [malloryAnswer, somchaiAnswer] = await inOneBatch(
        () => blocker.connection.call('send', request(sink, 'urgent')),
        () =>
          oneThenOther(
            () => mallory.connection.call('send', request(recipients[0] as Person, 'urgent', faulty)),
            () => somchai.connection.call('send', request(recipients[1] as Person, 'urgent')),
          ),
      );
      expect(malloryAnswer).toMatchObject({ ok: false, error: 'INTERNAL' });
      expect(somchaiAnswer).toMatchObject({ ok: true, value: { duplicate: false } });
    } finally {
      await sql
        .raw('drop trigger refuse_one_message on messages; drop function refuse_one_message();')
        .execute(relay.relay.db);
    }
    // Somchai's contact point has 3 urgent sends an hour: the batch took one, so two more pass.
    const answers = [];
    for (const to of recipients.slice(2, 5)) {
      answers.push(await somchai.connection.call('send', request(to as Person, 'urgent')));
    }
    expect(answers.map((a) => (a.ok ? 'ok' : a.error))).toEqual(['ok', 'ok', 'RATE_LIMITED']);
  });
});
