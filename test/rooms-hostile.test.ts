import { createHash } from 'node:crypto';
import type { RoomView } from '@liaison/client';
import {
  type DeviceCertificate,
  encodeRoomStatement,
  LIMITS,
  type RoomChange,
  type RoomContent,
  type RoomStatement,
} from '@liaison/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { type TestContactPoint, type TestDevice, testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { until } from './harness/until.js';

/**
 * Case rooms when the relay, or a member, misbehaves on purpose. The relay is real; it misbehaves
 * by rewriting its own storage between a send and a delivery (as in hostile-relay.test.ts): it
 * drops a member's copies of a change, replays old ones, delivers them late. A malicious member
 * runs a modified SDK: it signs what it likes with its own device key and sends it through its own
 * sessions, skipping the checks the SDK makes before it acts. What every other member shows
 * (members, messages, errors) must stay what the room's genuine history says.
 */
describe('case rooms against a misbehaving relay and members', () => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let serial = 0;
  const open: TestClient[] = [];

  beforeAll(async () => {
    net = await testNetwork();
    // Many devices authenticate from this one address in a few seconds.
    relay = await startTestRelay('pglite', { trustedRoots: [net.root], authAttemptsPerMinute: 10_000 });
  });
  afterAll(async () => {
    for (const c of open.splice(0)) await c.client.close();
    await relay.stop();
  });
  const db = () => relay.relay.db;
  const settle = (ms = 500) => new Promise((r) => setTimeout(r, ms));

  /** A contact point, its devices, the clients now open on them, and every client it ever had (what each showed). */
  interface Person {
    id: string;
    contactPoint: TestContactPoint;
    devices: TestDevice[];
    clients: TestClient[];
    ever: TestClient[];
  }
  const countries = { th: 'TH', vn: 'VN', ph: 'PH', id: 'ID', my: 'MY', kh: 'KH' } as const;

  async function connect(device: TestDevice): Promise<TestClient> {
    const client = await startClient(relay.url, device, [net.root]);
    open.push(client);
    return client;
  }
  /** A contact point of the network with `devices` devices, online. */
  async function person(code: keyof typeof countries, devices = 1): Promise<Person> {
    serial += 1;
    const contactPoint = net.authority(`${code}-ago`, countries[code]).contactPoint(`p${serial}`);
    const made: Person = { id: contactPoint.id, contactPoint, devices: [], clients: [], ever: [] };
    for (let i = 0; i < devices; i++)
      made.devices.push(await contactPoint.addDevice(i === 0 ? 'Office laptop' : 'Phone'));
    await online(made);
    return made;
  }
  async function offline(p: Person): Promise<void> {
    for (const c of p.clients.splice(0)) {
      await c.client.close();
      open.splice(open.indexOf(c), 1);
    }
  }
  async function online(p: Person): Promise<void> {
    for (const device of p.devices) {
      const client = await connect(device);
      p.clients.push(client);
      p.ever.push(client);
    }
  }
  const first = (p: Person) => p.clients[0] as TestClient;
  const idsOf = (view: RoomView | undefined) => view?.members.map((m) => m.contactPointId).sort() ?? [];
  const rolesOf = (view: RoomView | undefined) => view?.members.map((m) => `${m.contactPointId}:${m.role}`).sort();
  const expectedIds = (members: Person[]) => members.map((m) => m.id).sort();

  /** Waits until every open device of `who` shows the room with exactly `members`. */
  async function agree(roomId: string, who: Person[], members: Person[]): Promise<void> {
    const want = JSON.stringify(expectedIds(members));
    for (const p of who)
      for (const c of p.clients) {
        let shows = '';
        await until(
          async () => {
            shows = JSON.stringify(idsOf(await c.client.rooms.get(roomId)));
            return shows === want;
          },
          `${c.client.contactPointId} (${c.client.deviceId.slice(0, 6)}) to show ${want}`,
        ).catch((error: Error) => {
          throw new Error(`${error.message}; it shows ${shows}`);
        });
      }
  }
  const received = (p: Person, messageId: string) =>
    p.clients.every((c) => c.roomMessages.some((m) => m.messageId === messageId));
  const shownTexts = (p: Person) => p.ever.flatMap((c) => c.roomMessages.map((m) => m.text));

  /** What a modified SDK reaches inside the client: the rooms' own signing and sending, without their checks. */
  interface RecordInside {
    membership?: { heads: string[]; applied: { hash: string; statement: RoomStatement }[] };
    knows(hash: string): boolean;
    history(): { statements: RoomStatement[]; certificates: DeviceCertificate[] };
  }
  interface RoomsInside {
    deps: {
      sendToSeveral(
        contactPointIds: readonly string[],
        content: (sealed: { messageId: string; sentAt: number }, to: string) => unknown,
      ): Promise<{ messageId: string }>;
    };
    rooms: { get(roomId: string): Promise<RecordInside | undefined> };
    sign(roomId: string, parents: readonly string[], change: RoomChange): Promise<RoomStatement>;
    change(record: RecordInside, statement: RoomStatement, alsoTo: readonly string[]): Promise<RoomView>;
  }
  const inside = (c: TestClient) => c.client.rooms as unknown as RoomsInside;
  const recordAt = async (c: TestClient, roomId: string) => {
    const record = await inside(c).rooms.get(roomId);
    if (!record?.membership) throw new Error(`no room ${roomId} at ${c.client.contactPointId}`);
    return record as RecordInside & { membership: NonNullable<RecordInside['membership']> };
  };
  /** Sends room content as the SDK seals it, to every device of `to` (and the sender's other devices). */
  const sendRoom = (c: TestClient, to: readonly string[], room: RoomContent, text = '') =>
    inside(c).deps.sendToSeveral(to, (sealed) => ({ version: 2, priority: 'normal', ...sealed, text, room }));
  /** A statement's hash, as statementHash computes it (SHA-256 of its canonical encoding, then its signature). */
  const hashOf = ({ signature, ...body }: RoomStatement) =>
    createHash('sha256')
      .update(encodeRoomStatement(body))
      .update(Buffer.from(signature, 'base64url'))
      .digest('base64url');

  /** Runs `act`, and returns the id of the one message the device sent meanwhile, as the relay stored it. */
  async function sentDuring(c: TestClient, act: () => Promise<unknown>): Promise<string> {
    const sent = async () =>
      (
        await db().selectFrom('messages').select('message_id').where('sender_device', '=', c.client.deviceId).execute()
      ).map((r) => r.message_id);
    const before = new Set(await sent());
    await act();
    const fresh = (await sent()).filter((id) => !before.has(id));
    expect(fresh.length).toBe(1);
    return fresh[0] as string;
  }
  /** The copies of a message the relay holds for these devices. */
  async function copies(messageId: string, devices: TestDevice[]): Promise<Record<string, unknown>[]> {
    const { rows } = await sql<Record<string, unknown>>`
      select * from envelopes where message_id = ${messageId} and recipient_device in (${sql.join(devices.map((d) => d.id))})`.execute(
      db(),
    );
    return rows;
  }
  /** The relay deletes its copies of a message for these devices: a delivery it chose not to make. */
  async function drop(messageId: string, devices: TestDevice[]): Promise<Record<string, unknown>[]> {
    const { rows } = await sql<Record<string, unknown>>`
      delete from envelopes where message_id = ${messageId} and recipient_device in (${sql.join(devices.map((d) => d.id))}) returning *`.execute(
      db(),
    );
    return rows;
  }
  /** The relay puts copies back (with a new place in the queue, as the newest). */
  async function putBack(rows: readonly Record<string, unknown>[]): Promise<void> {
    for (const { seq: _, ...row } of rows)
      await db()
        .insertInto('envelopes')
        .values(row as never)
        .execute();
  }
  /** The relay replays copies under a new message id of its own, listed as the original was. */
  async function replayAsNew(rows: readonly Record<string, unknown>[]): Promise<void> {
    for (const row of rows) {
      const messageId = row.message_id as string;
      const twin = crypto.randomUUID();
      await sql`insert into messages select ${twin}::uuid, sender_device, sender_contact_point, recipient_contact_point, priority, created_at, server_time, deadline from messages where message_id = ${messageId}`.execute(
        db(),
      );
      await sql`insert into message_recipients select ${twin}::uuid, contact_point_id from message_recipients where message_id = ${messageId}`.execute(
        db(),
      );
      const { seq: _, ...copy } = row;
      await db()
        .insertInto('envelopes')
        .values({ ...copy, message_id: twin } as never)
        .execute();
    }
  }
  const waitingFor = async (devices: TestDevice[]) =>
    Number(
      (
        await sql<{ n: number }>`select count(*)::int as n from envelopes where recipient_device in (${sql.join(
          devices.map((d) => d.id),
        )})`.execute(db())
      ).rows[0]?.n,
    );

  describe('the relay drops a change for one member', () => {
    it("a removal: the member notices when a later message names it, gets the history, and shows the others' members", async () => {
      const [a, b, c] = [await person('th'), await person('vn'), await person('ph')];
      const d = await person('id', 2);
      const { roomId } = await first(a).client.rooms.create({ title: 'JIT Mekong', members: [b.id, c.id, d.id] });
      await agree(roomId, [a, b, c, d], [a, b, c, d]);

      await offline(d);
      const removal = await sentDuring(first(a), () => first(a).client.rooms.remove(roomId, c.id));
      expect((await drop(removal, d.devices)).length).toBe(2); // one copy for each of D's two devices
      await agree(roomId, [a, b], [a, b, d]);

      // B writes, naming the removal among its heads, and goes offline before D can ask it anything.
      const sent = await first(b).client.rooms.send(roomId, { text: 'Sans C désormais' });
      await offline(b);
      await online(d);
      for (const device of d.clients)
        await until(
          async () => (await device.client.rooms.get(roomId))?.complete === false,
          "D's device to show that it lacks part of the room's history",
        );
      for (const device of d.clients) {
        // It cannot know better yet: C still shown, B's message held back, not shown against the wrong members.
        expect(idsOf(await device.client.rooms.get(roomId))).toEqual(expectedIds([a, b, c, d]));
        expect(device.roomMessages).toEqual([]);
      }

      // B back: it answers D's request for the history.
      await online(b);
      await agree(roomId, [d], [a, b, d]);
      for (const device of d.clients) {
        await until(() => device.roomMessages.some((m) => m.messageId === sent.messageId), "B's message at D");
        expect((await device.client.rooms.get(roomId))?.complete).toBe(true);
        expect(device.roomChanges.map((e) => e.change)).toContainEqual({ op: 'remove', contactPointId: c.id });
      }
      await agree(roomId, [a, b, d], [a, b, d]);
    });

    it("an addition: the member learns of the newcomer from the newcomer's first message, and shows it", async () => {
      const [a, b, d, f] = [await person('th'), await person('vn'), await person('id'), await person('kh')];
      const { roomId } = await first(a).client.rooms.create({ title: 'JIT Mekong', members: [b.id, d.id] });
      await agree(roomId, [a, b, d], [a, b, d]);

      await offline(d);
      const addition = await sentDuring(first(a), () => first(a).client.rooms.invite(roomId, f.id));
      expect((await drop(addition, d.devices)).length).toBe(1);
      await agree(roomId, [a, b, f], [a, b, d, f]);
      await online(d);
      await settle();
      expect(idsOf(await first(d).client.rooms.get(roomId))).toEqual(expectedIds([a, b, d]));

      const sent = await first(f).client.rooms.send(roomId, { text: 'Bonjour, je rejoins l’équipe' });
      await agree(roomId, [d], [a, b, d, f]);
      await until(() => received(d, sent.messageId), "the newcomer's message at D");
      expect(first(d).roomMessages.find((m) => m.messageId === sent.messageId)?.sender.contactPointId).toBe(f.id);
      expect((await first(d).client.rooms.get(roomId))?.complete).toBe(true);
    });
  });

  describe('the relay replays an old change', () => {
    it('an add of a member removed since, replayed as it was and under a new message id: nobody’s members change', async () => {
      const [a, b, x] = [await person('th'), await person('vn'), await person('ph')];
      const { roomId } = await first(a).client.rooms.create({ title: 'JIT Mekong', members: [b.id] });
      await agree(roomId, [a, b], [a, b]);
      await offline(b);
      await offline(x);
      const addition = await sentDuring(first(a), () => first(a).client.rooms.invite(roomId, x.id));
      const held = await copies(addition, [...b.devices, ...x.devices]);
      expect(held.length).toBe(2);
      await online(b);
      await online(x);
      await agree(roomId, [a, b, x], [a, b, x]);
      await first(a).client.rooms.remove(roomId, x.id);
      await agree(roomId, [a, b, x], [a, b]);

      for (const replay of [putBack, replayAsNew]) {
        await offline(b);
        await offline(x);
        await replay(held);
        await online(b);
        await online(x);
        await until(async () => (await waitingFor([...b.devices, ...x.devices])) === 0, 'the replays delivered');
        await settle();
        for (const p of [a, b, x]) {
          const view = await first(p).client.rooms.get(roomId);
          expect(idsOf(view)).toEqual(expectedIds([a, b]));
          expect(view?.complete).toBe(true);
        }
        expect((await first(x).client.rooms.get(roomId))?.role).toBeUndefined();
        for (const c of [...b.clients, ...x.clients]) expect(c.roomChanges).toEqual([]);
      }
    });

    it('an add held back and delivered after the removal: no effect', async () => {
      const [a, b, x] = [await person('th'), await person('vn'), await person('ph')];
      const { roomId } = await first(a).client.rooms.create({ title: 'JIT Mekong', members: [b.id] });
      await agree(roomId, [a, b], [a, b]);
      await offline(b);
      const addition = await sentDuring(first(a), () => first(a).client.rooms.invite(roomId, x.id));
      const withheld = await drop(addition, b.devices);
      expect(withheld.length).toBe(1);
      await agree(roomId, [a, x], [a, b, x]);
      await first(a).client.rooms.remove(roomId, x.id);
      // B gets the removal, which names the add it lacks: it asks A for the history, and A sends it.
      await online(b);
      await until(() => first(b).roomChanges.some((e) => e.change.op === 'remove'), 'the history at B');
      expect(first(b).roomChanges.map((e) => e.change.op)).toEqual(['add', 'remove']);
      expect((await first(b).client.rooms.get(roomId))?.complete).toBe(true);
      await agree(roomId, [b], [a, b]);
      await offline(b);
      await putBack(withheld);
      await online(b);
      await until(async () => (await waitingFor(b.devices)) === 0, 'the late add delivered');
      await settle();
      const view = await first(b).client.rooms.get(roomId);
      expect(idsOf(view)).toEqual(expectedIds([a, b]));
      expect(view?.complete).toBe(true);
      expect(first(b).roomChanges).toEqual([]);
    });
  });

  describe('a member who is not an admin forges changes with its own device', () => {
    /** A creates a room with B (malicious) and C; Y is a contact point outside it. */
    async function withForger() {
      const [a, b, c, y] = [await person('th'), await person('vn'), await person('ph'), await person('kh')];
      const { roomId } = await first(a).client.rooms.create({ title: 'JIT Mekong', members: [b.id, c.id] });
      await agree(roomId, [a, b, c], [a, b, c]);
      return { a, b, c, y, roomId };
    }
    /**
     * B's modified SDK signs an add of Y as an admin, and the removal of A, and sends them as the SDK
     * sends a change (its own SDK would refuse to); Y also gets the whole history with the add, as a
     * newcomer would.
     */
    async function forge({ a, b, c, y, roomId }: Awaited<ReturnType<typeof withForger>>) {
      const rooms = inside(first(b));
      const record = await recordAt(first(b), roomId);
      const addY = await rooms.sign(roomId, record.membership.heads, {
        op: 'add',
        contactPointId: y.id,
        role: 'admin',
      });
      const removeA = await rooms.sign(roomId, [hashOf(addY)], { op: 'remove', contactPointId: a.id });
      const certificates = [first(b).client.self.device];
      for (const statement of [addY, removeA])
        await sendRoom(first(b), [a.id, c.id, y.id], {
          roomId,
          kind: 'change',
          heads: [hashOf(statement)],
          statements: [statement],
          certificates,
        });
      const { statements, certificates: theirs } = record.history();
      await sendRoom(first(b), [y.id], {
        roomId,
        kind: 'history',
        heads: [hashOf(removeA)],
        statements: [...statements, addY, removeA],
        certificates: [...theirs.filter((c) => c.deviceId !== certificates[0]?.deviceId), ...certificates],
      });
      return [addY, removeA].map(hashOf);
    }
    /** Waits until `p` reported `n` refusals of statements signed without the right to them. */
    const refusedAt = (p: Person, n: number) =>
      until(
        () => first(p).errors.filter((e) => e.code === 'FORBIDDEN').length >= n,
        `${n} refused changes reported at ${p.id}`,
      );

    it('an add and a removal: every other member holds them without effect, and the admin goes on acting', async () => {
      const room = await withForger();
      const { a, b, c, y, roomId } = room;
      const forged = await forge(room);
      for (const p of [a, c]) {
        // The add is refused, and the removal, which names it, is never taken.
        await refusedAt(p, 1);
        const record = await recordAt(first(p), roomId);
        expect(forged.some((h) => record.knows(h))).toBe(false);
        expect(rolesOf(await first(p).client.rooms.get(roomId))).toEqual(
          [`${a.id}:admin`, `${b.id}:member`, `${c.id}:member`].sort(),
        );
        expect(first(p).roomChanges.filter((e) => e.by === b.id)).toEqual([]);
      }
      await until(async () => (await waitingFor(y.devices)) === 0, 'the forged history delivered to Y');
      await settle();
      expect((await first(y).client.rooms.get(roomId))?.role).toBeUndefined();
      // A still acts as the admin, and everyone follows.
      await first(a).client.rooms.rename(roomId, 'JIT Mekong — phase 2');
      for (const p of [b, c])
        await until(
          async () => (await first(p).client.rooms.get(roomId))?.title === 'JIT Mekong — phase 2',
          'the rename',
        );
    });

    it('the contact point named in the forged add is shown no room it was never in', async () => {
      const room = await withForger();
      const { y } = room;
      await forge(room);
      await until(async () => (await waitingFor(y.devices)) === 0, 'the forged change and history delivered to Y');
      await settle();
      expect(await first(y).client.rooms.list()).toEqual([]);
      expect(first(y).roomChanges).toEqual([]);
    });

    it('every other member is told that a member signed what only an admin may', async () => {
      const room = await withForger();
      const { a, c } = room;
      await forge(room);
      for (const p of [a, c]) {
        await refusedAt(p, 1).catch(() => {
          throw new Error(`${p.id} reported nothing of the forged changes`);
        });
        const refused = first(p).errors.find((e) => e.code === 'FORBIDDEN');
        expect(refused?.message).toContain(room.b.id);
      }
    });

    it('seventeen forged renames side by side, in one change: the others still write to the room', async () => {
      const { a, b, c, roomId } = await withForger();
      const rooms = inside(first(b));
      const { membership } = await recordAt(first(b), roomId);
      // More statements than a message may name as its heads, each naming the room's latest as its parent.
      const forged: RoomStatement[] = [];
      for (let i = 0; i <= LIMITS.maxRoomHeads; i++)
        forged.push(await rooms.sign(roomId, membership.heads, { op: 'rename', title: `Renamed ${i}` }));
      const statements = { statements: forged, certificates: [first(b).client.self.device] };
      await sendRoom(first(b), [a.id, c.id], { roomId, kind: 'change', heads: membership.heads, ...statements });
      for (const p of [a, c]) await refusedAt(p, forged.length);
      expect((await first(a).client.rooms.get(roomId))?.title).toBe('JIT Mekong');
      const sent = await first(a).client.rooms.send(roomId, { text: 'Toujours là' });
      await until(() => received(c, sent.messageId), "A's message at C");
    });

    it('99 forged renames one after the other, in one change: the admin still adds a member', async () => {
      const { a, b, c, y, roomId } = await withForger();
      const rooms = inside(first(b));
      const { membership } = await recordAt(first(b), roomId);
      // With the create and the admin's next change, one more than a room's history holds.
      const forged: RoomStatement[] = [];
      let parents = membership.heads;
      for (let i = 0; i < LIMITS.maxRoomStatements - 1; i++) {
        const statement = await rooms.sign(roomId, parents, { op: 'rename', title: `Renamed ${i}` });
        forged.push(statement);
        parents = [hashOf(statement)];
      }
      const statements = { statements: forged, certificates: [first(b).client.self.device] };
      await sendRoom(first(b), [a.id, c.id], { roomId, kind: 'change', heads: parents, ...statements });
      // Each is refused (B had no right to any), none kept: the room's history keeps its room.
      for (const p of [a, c]) await refusedAt(p, forged.length);
      expect((await first(a).client.rooms.get(roomId))?.title).toBe('JIT Mekong');
      await first(a).client.rooms.invite(roomId, y.id);
      await agree(roomId, [a, b, c, y], [a, b, c, y]);
    });

    it("a create of its own for the room's id, sent to a contact point before an admin invites it: the newcomer still joins the genuine room", async () => {
      const { a, b, c, y, roomId } = await withForger();
      const accomplice = await person('my');
      const forgedCreate = await inside(first(b)).sign(roomId, [], {
        op: 'create',
        title: 'JIT Mekong',
        members: [
          { contactPointId: b.id, role: 'admin' },
          { contactPointId: y.id, role: 'member' },
          { contactPointId: accomplice.id, role: 'admin' },
        ],
      });
      await sendRoom(first(b), [y.id], {
        roomId,
        kind: 'history',
        heads: [hashOf(forgedCreate)],
        statements: [forgedCreate],
        certificates: [first(b).client.self.device],
      });
      await until(async () => (await waitingFor(y.devices)) === 0, 'the forged create delivered to Y');
      await first(a).client.rooms.invite(roomId, y.id);
      await agree(roomId, [a, b, c, y], [a, b, c, y]);
      // What Y writes reaches the room's members, not B's accomplice.
      const sent = await first(y).client.rooms.send(roomId, { text: 'Bonjour à tous' });
      for (const p of [a, c]) await until(() => received(p, sent.messageId), `Y's message at ${p.id}`);
      expect(shownTexts(accomplice)).toEqual([]);
    });
  });

  describe('a removed member', () => {
    it('keeps sending to the room, naming the room as it was before or after its removal: nobody shows it (NOT_A_MEMBER)', async () => {
      const [a, b, c, e] = [await person('th'), await person('vn'), await person('ph'), await person('my')];
      const { roomId } = await first(a).client.rooms.create({ title: 'JIT Mekong', members: [b.id, c.id, e.id] });
      await agree(roomId, [a, b, c, e], [a, b, c, e]);
      const before = (await recordAt(first(e), roomId)).membership.heads;
      await first(a).client.rooms.remove(roomId, e.id);
      await agree(roomId, [a, b, c, e], [a, b, c]);
      expect((await first(e).client.rooms.get(roomId))?.role).toBeUndefined();

      // Its own SDK refuses; a modified one sends anyway.
      await expect(first(e).client.rooms.send(roomId, { text: 'Encore moi' })).rejects.toMatchObject({
        code: 'NOT_A_MEMBER',
      });
      const after = (await recordAt(first(e), roomId)).membership.heads;
      for (const heads of [after, before])
        await sendRoom(first(e), [a.id, b.id, c.id], { roomId, kind: 'message', heads }, 'Encore moi');
      for (const p of [a, b, c]) {
        await until(
          () => first(p).errors.filter((x) => x.code === 'NOT_A_MEMBER').length >= 2,
          `two NOT_A_MEMBER errors at ${p.id}`,
        );
        expect(shownTexts(p)).not.toContain('Encore moi');
      }
    });
  });

  describe('a removed admin', () => {
    it('signs changes naming the room as it was before its removal: nobody’s members change', async () => {
      const [a, b, c, z] = [await person('th'), await person('vn'), await person('ph'), await person('kh')];
      const { roomId } = await first(a).client.rooms.create({
        title: 'JIT Mekong',
        members: [{ contactPointId: b.id, role: 'admin' }, c.id],
      });
      await agree(roomId, [a, b, c], [a, b, c]);
      const created = (await recordAt(first(b), roomId)).membership.heads;
      await first(a).client.rooms.rename(roomId, 'JIT Mekong — phase 2');
      await first(a).client.rooms.remove(roomId, b.id);
      await agree(roomId, [a, b, c], [a, c]);
      // B's SDK holds its removal; a modified one signs anyway, naming only the create as its parent.
      const rooms = inside(first(b));
      const backdated = [
        await rooms.sign(roomId, created, { op: 'add', contactPointId: z.id, role: 'admin' }),
        await rooms.sign(roomId, created, { op: 'remove', contactPointId: a.id }),
      ];
      const statements = { statements: backdated, certificates: [first(b).client.self.device] };
      await sendRoom(first(b), [a.id, c.id, z.id], { roomId, kind: 'change', heads: created, ...statements });
      // Changes and histories are taken only from members: B is not one any more, nothing is kept.
      for (const p of [a, c])
        await until(
          () => first(p).errors.some((e) => e.code === 'NOT_A_MEMBER'),
          `the backdated changes refused at ${p.id}`,
        );
      await settle();
      for (const p of [a, c]) {
        const view = await first(p).client.rooms.get(roomId);
        expect(rolesOf(view)).toEqual([`${a.id}:admin`, `${c.id}:member`].sort());
        expect(view?.title).toBe('JIT Mekong — phase 2');
        const record = await recordAt(first(p), roomId);
        expect(backdated.some((s) => record.knows(hashOf(s)))).toBe(false);
      }
    });
  });

  describe('what a member reads of the time before it joined', () => {
    it('a new member gets nothing sent before it joined', async () => {
      const [a, b, n] = [await person('th'), await person('vn'), await person('kh')];
      const { roomId } = await first(a).client.rooms.create({ title: 'JIT Mekong', members: [b.id] });
      await agree(roomId, [a, b], [a, b]);
      const earlier = await first(b).client.rooms.send(roomId, { text: 'Avant l’arrivée de N' });
      await until(() => received(a, earlier.messageId), 'the earlier message at A');
      await first(a).client.rooms.invite(roomId, n.id);
      await agree(roomId, [a, b, n], [a, b, n]);
      const later = await first(b).client.rooms.send(roomId, { text: 'Après l’arrivée de N' });
      await until(() => received(n, later.messageId), 'the later message at N');
      await settle();
      expect(shownTexts(n)).toEqual(['Après l’arrivée de N']);
      const listed = await db()
        .selectFrom('message_recipients')
        .select('contact_point_id')
        .where('message_id', '=', earlier.messageId)
        .execute();
      expect(listed.map((r) => r.contact_point_id)).toEqual([a.id]);
    });

    it("a member's new device gets only what is sent after it appears, catches up on the members, and writes to the room", async () => {
      const [a, b, c] = [await person('th'), await person('vn'), await person('ph')];
      const { roomId } = await first(a).client.rooms.create({ title: 'JIT Mekong', members: [b.id, c.id] });
      await agree(roomId, [a, b, c], [a, b, c]);
      await first(a).client.rooms.remove(roomId, c.id);
      await agree(roomId, [a, b], [a, b]);
      const earlier = [
        await first(b).client.rooms.send(roomId, { text: 'Avant le téléphone (B)' }),
        await first(a).client.rooms.send(roomId, { text: 'Avant le téléphone (A)' }),
      ];
      await until(() => received(a, earlier[0]?.messageId as string), 'the earlier message at A');
      await until(() => received(b, earlier[1]?.messageId as string), 'the earlier message at B');

      const phoneDevice = await b.contactPoint.addDevice('Phone');
      const phone = await connect(phoneDevice);
      b.devices.push(phoneDevice);
      b.clients.push(phone);
      b.ever.push(phone);
      const later = await first(a).client.rooms.send(roomId, { text: 'Après le téléphone' });
      await until(
        () => phone.roomMessages.some((m) => m.messageId === later.messageId),
        'the later message on the phone',
      );
      const view = await phone.client.rooms.get(roomId);
      expect(idsOf(view)).toEqual(expectedIds([a, b]));
      expect(view).toMatchObject({ title: 'JIT Mekong', role: 'member', complete: true });
      await settle();
      expect(phone.roomMessages.map((m) => m.text)).toEqual(['Après le téléphone']);

      const fromPhone = await phone.client.rooms.send(roomId, { text: 'Depuis le téléphone' });
      await until(() => received(a, fromPhone.messageId), "the phone's message at A");
      await until(
        () => first(b).roomMessages.some((m) => m.messageId === fromPhone.messageId && m.direction === 'outgoing'),
        "the phone's message on B's laptop",
      );
    });
  });

  describe('two admins change the room at once', () => {
    /** A and B, both admins, at once: A adds X, B removes C. D is a member throughout. */
    async function concurrently() {
      const [a, b, c, d, x] = [
        await person('th'),
        await person('vn'),
        await person('ph'),
        await person('id'),
        await person('kh'),
      ];
      const { roomId } = await first(a).client.rooms.create({
        title: 'JIT Mekong',
        members: [{ contactPointId: b.id, role: 'admin' }, c.id, d.id],
      });
      await agree(roomId, [a, b, c, d], [a, b, c, d]);
      await Promise.all([first(a).client.rooms.invite(roomId, x.id), first(b).client.rooms.remove(roomId, c.id)]);
      // They were concurrent: each signed before it had the other's, so both name the create alone.
      await until(async () => (await recordAt(first(a), roomId)).membership.applied.length === 3, "B's change at A");
      const applied = (await recordAt(first(a), roomId)).membership.applied;
      expect(new Set(applied.slice(1).map((s) => JSON.stringify(s.statement.parents))).size).toBe(1);
      return { a, b, c, d, x, roomId };
    }

    it('every member ends with the same members, the newcomer included, without anyone writing', async () => {
      const { a, b, c, d, x, roomId } = await concurrently();
      await agree(roomId, [a, b, d, x], [a, b, d, x]);
      expect((await first(c).client.rooms.get(roomId))?.role).toBeUndefined();
    });

    it('the newcomer writes to the room at once: the member removed meanwhile does not read it', async () => {
      const { a, b, c, d, x, roomId } = await concurrently();
      await agree(roomId, [a, b, d], [a, b, d, x]);
      await until(async () => (await first(x).client.rooms.get(roomId))?.role === 'member', 'X in the room');
      // Written before X can know of C's removal (pairwise fan-out has no order across admins): C's
      // SDK, which holds its removal, does not show it.
      const first_ = await first(x).client.rooms.send(roomId, { text: 'Bonjour, je suis X' });
      for (const p of [a, b, d]) await until(() => received(p, first_.messageId), `X's message at ${p.id}`);
      await settle();
      expect(shownTexts(c)).not.toContain('Bonjour, je suis X');
      // B, who removed C without seeing X's add, sends X the history at once: from then on, the
      // relay holds no copy for C.
      await agree(roomId, [x], [a, b, d, x]);
      const sent = await first(x).client.rooms.send(roomId, { text: 'Encore X' });
      for (const p of [a, b, d]) await until(() => received(p, sent.messageId), `X's second message at ${p.id}`);
      const listed = await db()
        .selectFrom('message_recipients')
        .select('contact_point_id')
        .where('message_id', '=', sent.messageId)
        .execute();
      expect(listed.map((r) => r.contact_point_id).sort()).toEqual(expectedIds([a, b, d]));
    });

    it('once a member writes to the room, every member shows the same members', async () => {
      const { a, b, c, d, x, roomId } = await concurrently();
      await agree(roomId, [a, b, d], [a, b, d, x]);
      await until(async () => (await first(c).client.rooms.get(roomId))?.role === undefined, 'the removal at C');
      const sent = await first(d).client.rooms.send(roomId, { text: 'Bienvenue à X' });
      await agree(roomId, [a, b, d, x], [a, b, d, x]);
      for (const p of [a, b, x]) await until(() => received(p, sent.messageId), `D's message at ${p.id}`);
      expect(shownTexts(c)).not.toContain('Bienvenue à X');
    });
  });
});
