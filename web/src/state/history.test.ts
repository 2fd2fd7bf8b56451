import type { RoomView } from '@liaison/client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AppRecords,
  BUCKET,
  History,
  isRoomChange,
  type PartyName,
  type RoomEntry,
  roomKey,
  type StoredMessage,
  type StoredRoomChange,
} from './history.js';

// The key store's application records, in memory: History takes any AppRecords, and what it keeps
// there is all that survives a reload (a new History over the same records).
class MemoryRecords implements AppRecords {
  readonly map = new Map<string, Uint8Array>();
  async get(name: string): Promise<Uint8Array | undefined> {
    // Copies both ways, as the sealed store does: nothing History holds aliases what is stored.
    return this.map.get(name)?.slice();
  }
  async put(name: string, value: Uint8Array): Promise<void> {
    this.map.set(name, value.slice());
  }
  async delete(name: string): Promise<void> {
    this.map.delete(name);
  }
}

/** The number of receipts' message ids History remembers (SENT_KEPT, not exported). */
const SENT_KEPT = 2000;

const party = (contactPointId: string): PartyName => ({
  contactPointId,
  displayName: `Name of ${contactPointId}`,
  role: 'prosecutor',
  authorityName: 'Authority',
  country: 'FR',
  networkName: 'EJN',
});

const received = (messageId: string, peer: string, at: number, more: Partial<StoredMessage> = {}): StoredMessage => ({
  messageId,
  peer,
  direction: 'in',
  at,
  text: `text of ${messageId}`,
  priority: 'normal',
  sender: { ...party(peer), deviceName: 'Laptop' },
  state: 'stored',
  ...more,
});

const sent = (messageId: string, peer: string, at: number, more: Partial<StoredMessage> = {}): StoredMessage => ({
  messageId,
  peer,
  direction: 'out',
  at,
  text: `text of ${messageId}`,
  priority: 'normal',
  state: 'stored',
  ...more,
});

/** Every message of a conversation, oldest first, bucket by bucket. */
async function all(history: History, peer: string): Promise<StoredMessage[][]> {
  const buckets: StoredMessage[][] = [];
  for (let n = 0; n < (history.conversation(peer)?.buckets ?? 0); n++) buckets.push(await history.bucket(peer, n));
  return buckets;
}

describe('the local history', () => {
  it('keeps what was received and sent in a conversation, oldest first, conversations newest first', async () => {
    const history = await History.open(new MemoryRecords());
    await history.add(received('m1', 'be', 1_000, { subject: 'Extradition' }), party('be'), { unread: true });
    await history.add(sent('m2', 'be', 2_000, { text: 'Reply without subject' }), party('be'));
    await history.add(received('m3', 'kz', 1_500), party('kz'), { unread: true });

    expect((await history.bucket('be', 0)).map((m) => [m.messageId, m.direction])).toEqual([
      ['m1', 'in'],
      ['m2', 'out'],
    ]);
    expect(history.conversation('be')).toMatchObject({ count: 2, lastAt: 2_000, unread: 1, buckets: 1 });
    expect(history.conversation('be')?.lastSubject).toBe('Reply without subject');
    expect(history.conversations.value.map((c) => c.peer.contactPointId)).toEqual(['be', 'kz']);
    expect(history.peerOfSent('m2')).toBe('be');
    expect(history.peerOfSent('m1')).toBeUndefined();
  });

  it('starts a new bucket once one holds BUCKET messages, and finds them all again after a reload', async () => {
    const records = new MemoryRecords();
    const history = await History.open(records);
    for (let i = 0; i <= BUCKET; i++) await history.add(received(`m${i}`, 'be', i), party('be'));

    const reopened = await History.open(records);
    expect(reopened.conversation('be')).toMatchObject({ buckets: 2, count: BUCKET + 1 });
    const [first, second] = await all(reopened, 'be');
    expect(first).toHaveLength(BUCKET);
    expect(second?.map((m) => m.messageId)).toEqual([`m${BUCKET}`]);
  });

  it('stores a message delivered again once, whether it is in the first bucket or a later one', async () => {
    const records = new MemoryRecords();
    const history = await History.open(records);
    const urgent = { priority: 'urgent', deadline: 9_000 } as const;
    await history.add(received('first', 'be', 1, urgent), party('be'), { unread: true });
    await history.add(received('first', 'be', 1, urgent), party('be'), { unread: true });
    for (let i = 0; i < BUCKET; i++) await history.add(sent(`s${i}`, 'be', 10 + i), party('be'));
    await history.add(received('late', 'be', 5_000), party('be'), { unread: true });

    // After a reload the relay delivers again what this device had not confirmed.
    const reopened = await History.open(records);
    await reopened.add(received('first', 'be', 1, urgent), party('be'), { unread: true });
    await reopened.add(received('late', 'be', 5_000), party('be'), { unread: true });

    const ids = (await all(reopened, 'be')).flat().map((m) => m.messageId);
    expect(ids.filter((id) => id === 'first')).toHaveLength(1);
    expect(ids.filter((id) => id === 'late')).toHaveLength(1);
    expect(ids).toHaveLength(BUCKET + 2);
    expect(reopened.conversation('be')).toMatchObject({ count: BUCKET + 2, unread: 2, urgentOpen: ['first'] });
  });

  it('changes a message by id in an older bucket, keeps the change, and says when the id is unknown', async () => {
    const records = new MemoryRecords();
    const history = await History.open(records);
    for (let i = 0; i < BUCKET + 5; i++) await history.add(sent(`s${i}`, 'be', i), party('be'));

    expect(await history.update('be', 's3', (m) => ({ ...m, delivered: { 'be/d1': 77 } }))).toBe(true);
    expect(await history.update('be', 'nowhere', (m) => m)).toBe(false);
    expect(await history.update('kz', 's3', (m) => m)).toBe(false);

    const reopened = await History.open(records);
    const [first, second] = await all(reopened, 'be');
    expect(first?.find((m) => m.messageId === 's3')?.delivered).toEqual({ 'be/d1': 77 });
    expect(first?.filter((m) => m.delivered)).toHaveLength(1);
    expect(second).toHaveLength(5);
  });

  it('counts unread received messages until the conversation is read, across a reload', async () => {
    const records = new MemoryRecords();
    const history = await History.open(records);
    for (const id of ['a', 'b', 'c']) await history.add(received(id, 'be', 1), party('be'), { unread: true });
    await history.add(sent('d', 'be', 2), party('be'));
    expect(history.conversation('be')?.unread).toBe(3);

    await history.markRead('be');
    await history.markRead('unknown');
    expect(history.conversations.value.find((c) => c.peer.contactPointId === 'be')?.unread).toBe(0);
    await history.add(received('e', 'be', 3), party('be'), { unread: true });
    expect((await History.open(records)).conversation('be')?.unread).toBe(1);
    expect((await History.open(records)).conversation('unknown')).toBeUndefined();
  });

  it('keeps a received urgent request open until someone here acknowledges it', async () => {
    const records = new MemoryRecords();
    const history = await History.open(records);
    await history.add(received('u1', 'be', 1, { priority: 'urgent', deadline: 100 }), party('be'));
    await history.add(received('u2', 'be', 2, { priority: 'urgent', deadline: 200 }), party('be'));
    // Acknowledged already by a colleague's device before it reached this one: not open here.
    const done = { priority: 'urgent', acknowledged: { at: 3, by: 'be' } } as const;
    await history.add(received('u3', 'be', 3, done), party('be'));
    await history.add(sent('mine', 'be', 4, { priority: 'urgent' }), party('be'));
    expect(history.conversation('be')?.urgentOpen).toEqual(['u1', 'u2']);

    await history.update('be', 'u1', (m) => ({ ...m, text: 'changed, still not acknowledged' }));
    expect(history.conversation('be')?.urgentOpen).toEqual(['u1', 'u2']);
    await history.update('be', 'u1', (m) => ({ ...m, acknowledged: { at: 50, by: 'fr' } }));
    expect(history.conversation('be')?.urgentOpen).toEqual(['u2']);
    expect((await History.open(records)).conversation('be')?.urgentOpen).toEqual(['u2']);
  });

  it('lists cases by reference, newest first, with every counterpart of each', async () => {
    const history = await History.open(new MemoryRecords());
    await history.add(sent('a', 'be', 10, { reference: 'KZ/2024/1' }), party('be'));
    await history.add(received('b', 'kz', 30, { reference: 'KZ/2024/1' }), party('kz'));
    await history.add(received('c', 'be', 20, { reference: 'Дело 7' }), party('be'));
    await history.add(received('d', 'be', 25, { reference: 'KZ/2024/1' }), party('be'));
    await history.add(received('e', 'be', 40), party('be'));

    expect(history.cases.value).toEqual([
      { reference: 'KZ/2024/1', lastAt: 30, peers: ['be', 'kz'] },
      { reference: 'Дело 7', lastAt: 20, peers: ['be'] },
    ]);
  });

  it('finds messages by reference, subject or text, whatever the case, newest first', async () => {
    const history = await History.open(new MemoryRecords());
    await history.add(sent('old', 'be', 1, { reference: 'KZ/2024/1', text: 'Request' }), party('be'));
    for (let i = 0; i < BUCKET; i++) await history.add(sent(`filler${i}`, 'be', 2 + i), party('be'));
    await history.add(received('subj', 'kz', 500, { subject: 'Экстрадиция гражданина' }), party('kz'));
    await history.add(received('text', 'be', 600, { text: 'See case kz/2024/1 attached' }), party('be'));
    await history.add(received('other', 'kz', 700, { reference: 'Дело 7', text: 'Unrelated' }), party('kz'));

    const ids = async (query: string, filter?: { reference?: string }) =>
      (await history.search(query, filter)).map((m) => m.messageId);
    expect(await ids('  KZ/2024/1 ')).toEqual(['text', 'old']);
    expect(await ids('ЭКСТРАДИЦИЯ')).toEqual(['subj']);
    expect(await ids('дело')).toEqual(['other']);
    expect(await ids('request', { reference: 'KZ/2024/1' })).toEqual(['old']);
    expect(await ids('', { reference: 'Дело 7' })).toEqual(['other']);
    expect(await ids('nothing like it')).toEqual([]);
    expect((await ids('')).slice(0, 4)).toEqual(['other', 'text', 'subj', `filler${BUCKET - 1}`]);
  });

  it('lists the messages still waiting to be sent when the page opens again, and no others', async () => {
    const records = new MemoryRecords();
    const history = await History.open(records);
    await history.add(sent('w1', 'be', 1, { state: 'waiting' }), party('be'));
    await history.add(sent('w2', 'kz', 2, { state: 'waiting' }), party('kz'));
    await history.add(sent('done', 'be', 3), party('be'));
    await history.update('kz', 'w2', (m) => ({ ...m, state: 'stored', at: 10 }));

    let reopened = await History.open(records);
    expect((await reopened.waiting()).map((m) => m.messageId)).toEqual(['w1']);

    // A failed message retried is waiting again, and survives another reload as such.
    await reopened.update('be', 'w1', (m) => ({ ...m, state: 'failed', failure: 'UNTRUSTED_IDENTITY' }));
    expect(await (await History.open(records)).waiting()).toEqual([]);
    await reopened.update('be', 'w1', (m) => ({ ...m, state: 'waiting' }));
    reopened = await History.open(records);
    expect((await reopened.waiting()).map((m) => [m.messageId, m.state])).toEqual([['w1', 'waiting']]);
  });

  it('remembers whose sent message a receipt is about for the latest SENT_KEPT messages only', async () => {
    const records = new MemoryRecords();
    const history = await History.open(records);
    for (let i = 0; i <= SENT_KEPT; i++) {
      const peer = i % 2 ? 'be' : 'kz';
      await history.add(sent(`s${i}`, peer, i), party(peer));
    }

    const reopened = await History.open(records);
    expect(reopened.peerOfSent('s0')).toBeUndefined();
    expect(reopened.peerOfSent('s1')).toBe('be');
    expect(reopened.peerOfSent(`s${SENT_KEPT}`)).toBe('kz');
    // The messages themselves stay: only the lookup for receipts is bounded.
    expect((await reopened.search('text of s0')).map((m) => m.messageId)).toEqual(['s0']);
  });

  it('keeps what a person established about a key across a reload', async () => {
    const records = new MemoryRecords();
    const history = await History.open(records);
    await history.setTrust('be', { verified: true });
    await history.setTrust('kz', { keyChanged: true, verified: false });
    let reopened = await History.open(records);
    expect(reopened.trust('be')).toEqual({ verified: true });
    expect(reopened.trust('nobody')).toEqual({});
    expect(reopened.changedKeys()).toEqual(['kz']);

    await reopened.setTrust('kz', { verified: true, keyChanged: false });
    reopened = await History.open(records);
    expect(reopened.changedKeys()).toEqual([]);
  });
});

const ROOM = '6f1c2a3e-0d4b-4c5e-9a7f-1b2c3d4e5f60';

const view = (members: string[], more: Partial<RoomView> = {}): RoomView => ({
  roomId: ROOM,
  title: 'JIT Sahel',
  caseReference: 'SN-2026-7',
  members: members.map((contactPointId, i) => ({ contactPointId, role: i === 0 ? 'admin' : 'member' })),
  role: 'member',
  createdBy: members[0] as string,
  createdAt: 1,
  complete: true,
  ...more,
});

const line = (at: number, by: string, change: StoredRoomChange['change']): StoredRoomChange => ({
  kind: 'change',
  messageId: JSON.stringify([by, at, change]),
  at,
  by,
  change,
});

const inRoom = (message: StoredMessage): StoredMessage => ({ ...message, peer: roomKey(ROOM), room: ROOM });

/** A room's whole timeline, bucket by bucket, as the room view reads it. */
async function timeline(history: History): Promise<RoomEntry[]> {
  const entries: RoomEntry[] = [];
  for (let n = 0; n < (history.room(ROOM)?.buckets ?? 0); n++) entries.push(...(await history.roomBucket(ROOM, n)));
  return entries;
}

describe('the local history of case rooms', () => {
  it('keeps a room’s messages and membership changes in the order they came, across a reload', async () => {
    const records = new MemoryRecords();
    const history = await History.open(records);
    const create = line(10, 'sn', { op: 'create', title: 'JIT Sahel', members: [] });
    await history.addRoomChange(create, view(['sn', 'ci', 'ml']));
    await history.addRoomMessage(inRoom(received('r1', 'ci', 20)), { unread: true });
    await history.addRoomMessage(inRoom(sent('r2', 'x', 30, { state: 'waiting' })));
    await history.addRoomChange(
      line(40, 'sn', { op: 'add', contactPointId: 'gn', role: 'member' }),
      view(['sn', 'ci', 'ml', 'gn']),
    );
    // The same change told again (a history forwarded by another member) is one line.
    await history.addRoomChange(create, view(['sn', 'ci', 'ml', 'gn']));

    const reopened = await History.open(records);
    expect((await timeline(reopened)).map((e) => (isRoomChange(e) ? e.change.op : e.messageId))).toEqual([
      'create',
      'r1',
      'r2',
      'add',
    ]);
    expect(reopened.room(ROOM)).toMatchObject({ count: 4, unread: 1, lastAt: 40, lastSubject: 'text of r2' });
    expect(reopened.room(ROOM)?.room.members).toHaveLength(4);
    // The sender's verified name is kept for the timeline, without its device.
    expect(reopened.room(ROOM)?.names.ci).toEqual(party('ci'));
    expect(reopened.rooms.value.map((r) => r.room.roomId)).toEqual([ROOM]);
    // Rooms are not conversations: nothing of this room is listed as a counterpart.
    expect(reopened.conversations.value).toEqual([]);
    // A room message waiting to be sent goes again after a reload; its receipts find it.
    expect((await reopened.waiting()).map((m) => m.messageId)).toEqual(['r2']);
    expect(reopened.peerOfSent('r2')).toBe(roomKey(ROOM));
    expect(await reopened.update(roomKey(ROOM), 'r2', (m) => ({ ...m, state: 'stored' }))).toBe(true);
    expect(await reopened.waiting()).toEqual([]);
    await reopened.markRoomRead(ROOM);
    expect(reopened.room(ROOM)?.unread).toBe(0);
  });

  it('stores a room message delivered again once, and refuses one for a room it never recorded', async () => {
    const history = await History.open(new MemoryRecords());
    await expect(history.addRoomMessage(inRoom(received('r1', 'ci', 20)))).rejects.toThrow();
    await history.roomSeen(view(['sn', 'ci']));
    for (let i = 0; i < BUCKET; i++) await history.addRoomMessage(inRoom(received(`f${i}`, 'ci', i)));
    await history.addRoomMessage(inRoom(received('f3', 'ci', 3)));
    expect(history.room(ROOM)).toMatchObject({ count: BUCKET, buckets: 1 });
    await history.addRoomMessage(inRoom(received('late', 'ci', 999)));
    expect(history.room(ROOM)).toMatchObject({ count: BUCKET + 1, buckets: 2 });
  });

  it('says how this contact point left a room, and forgets it when it is added again', async () => {
    const records = new MemoryRecords();
    const history = await History.open(records);
    await history.roomSeen(view(['sn', 'ci']));
    const removed = { by: 'sn', at: 50, left: false };
    await history.addRoomChange(
      line(50, 'sn', { op: 'remove', contactPointId: 'ci' }),
      view(['sn'], { role: undefined }),
      removed,
    );
    expect((await History.open(records)).room(ROOM)?.ended).toEqual(removed);
    // A later view of the room from the SDK, still without this contact point, keeps the reason.
    await history.roomSeen(view(['sn'], { role: undefined }));
    expect(history.room(ROOM)?.ended).toEqual(removed);
    await history.addRoomChange(
      line(60, 'sn', { op: 'add', contactPointId: 'ci', role: 'member' }),
      view(['sn', 'ci']),
    );
    expect(history.room(ROOM)?.ended).toBeUndefined();
  });

  it('finds room messages in a search, never the lines of membership changes', async () => {
    const history = await History.open(new MemoryRecords());
    await history.addRoomChange(line(1, 'sn', { op: 'rename', title: 'Gel des avoirs' }), view(['sn', 'ci']));
    await history.addRoomMessage(inRoom(received('r1', 'ci', 20, { text: 'Le gel des avoirs est ordonné' })));
    await history.add(received('c1', 'ci', 10, { text: 'Gel demandé' }), party('ci'));
    expect((await history.search('gel')).map((m) => m.messageId)).toEqual(['r1', 'c1']);
  });

  it('names members met in a room, by contact point id, whatever the id', async () => {
    const records = new MemoryRecords();
    const history = await History.open(records);
    await history.roomSeen(view(['sn', '__proto__']), [party('__proto__'), party('constructor')]);
    const reopened = await History.open(records);
    expect(reopened.room(ROOM)?.names['__proto__' as string]).toEqual(party('__proto__'));
    expect(Object.keys(reopened.room(ROOM)?.names ?? {}).sort()).toEqual(['__proto__', 'constructor']);
  });
});

describe('the local history (property)', () => {
  it('stores any interleaving of N distinct messages, redeliveries and reloads as N messages in full buckets', async () => {
    const peers = ['be', 'kz', 'ru'];
    const scenario = fc.integer({ min: 1, max: 3 * BUCKET + 20 }).chain((n) =>
      fc.record({
        // Mostly one counterpart, so that its conversation fills more than one bucket.
        peerOf: fc.array(
          fc.oneof(
            { weight: 6, arbitrary: fc.constant(0) },
            { weight: 1, arbitrary: fc.nat({ max: peers.length - 1 }) },
          ),
          { minLength: n, maxLength: n },
        ),
        order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
        // Messages delivered again, each inserted at some point of the sequence.
        again: fc.array(fc.tuple(fc.nat({ max: n - 1 }), fc.nat({ max: n })), { maxLength: 15 }),
        // Adds issued together without waiting (as socket events arrive), then maybe a reload.
        batches: fc.array(fc.tuple(fc.integer({ min: 1, max: 60 }), fc.boolean()), { minLength: 1, maxLength: 20 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(scenario, async ({ peerOf, order, again, batches }) => {
        const message = (i: number) => {
          const peer = peers[peerOf[i] ?? 0] ?? 'be';
          return i % 2 ? received(`m${i}`, peer, i) : sent(`m${i}`, peer, i);
        };
        const sequence = [...order];
        for (const [i, at] of again) sequence.splice(at, 0, i);

        const records = new MemoryRecords();
        let history = await History.open(records);
        let next = 0;
        for (let b = 0; next < sequence.length; b++) {
          const [size, reload] = batches[b % batches.length] ?? [1, false];
          const batch = sequence.slice(next, next + size);
          next += batch.length;
          await Promise.all(batch.map((i) => history.add(message(i), party(message(i).peer), { unread: true })));
          if (reload) history = await History.open(records);
        }

        history = await History.open(records);
        const stored: string[] = [];
        for (const peer of peers) {
          const buckets = await all(history, peer);
          // Every bucket but the newest is full: nothing was scattered, nothing overflowed.
          for (const bucket of buckets.slice(0, -1)) expect(bucket).toHaveLength(BUCKET);
          expect(buckets.at(-1)?.length ?? 0).toBeLessThanOrEqual(BUCKET);
          const ids = buckets.flat().map((m) => m.messageId);
          expect(history.conversation(peer)?.count ?? 0).toBe(ids.length);
          expect(ids.every((id) => message(Number(id.slice(1))).peer === peer)).toBe(true);
          stored.push(...ids);
        }
        expect(stored.sort()).toEqual(order.map((i) => `m${i}`).sort());
      }),
      { numRuns: 40 },
    );
  });

  it('takes any reference or contact point id a sender chooses, "__proto__" and "constructor" included', async () => {
    // Keys chosen by the other side: as object keys with a prototype they would find inherited
    // members, fail the add after the bucket was written, and leave the message unacknowledged.
    const records = new MemoryRecords();
    const history = await History.open(records);
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
    for (const [i, name] of names.entries()) {
      await history.add(received(`r${i}`, name, 1_000 + i, { reference: name }), party(name), { unread: true });
    }
    await history.setTrust('constructor', { verified: true });
    expect(({} as Record<string, unknown>).lastAt).toBeUndefined();

    const reopened = await History.open(records);
    expect(reopened.conversations.value.map((c) => c.peer.contactPointId).sort()).toEqual([...names].sort());
    expect(reopened.cases.value.map((c) => c.reference).sort()).toEqual([...names].sort());
    expect(reopened.trust('constructor')).toEqual({ verified: true });
    expect(reopened.trust('toString')).toEqual({});
    expect((await reopened.search('', { reference: '__proto__' })).map((m) => m.messageId)).toEqual(['r1']);
  });
});
