// The attacks of the security review of case rooms (issue #22), each driven through
// PairwiseRooms.receive with content parsed by the wire schema, real signatures and certificates,
// and each asserting what a member would notice once it is refused.
import {
  type DeviceCertificate,
  decodeBase64url,
  type Envelope,
  encodeBase64url,
  encodeDeviceCertificate,
  MessageContent,
  type RoomChange,
  type RoomContent,
  type RoomStatement,
} from '@liaison/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedSender } from '../client/receiver.js';
import { generateIdentityKeyPair, type IdentityKeyPair, verifySignature } from '../crypto/keys.js';
import { ready } from '../crypto/sodium.js';
import { LiaisonError } from '../errors.js';
import { MemoryKeyStore } from '../key-store/memory-key-store.js';
import { certifyDevice } from '../trust/issue.js';
import type { RoomChangeEvent, RoomMessage } from './room-message.js';
import { PairwiseRooms } from './rooms.js';
import { roomIdFor, signStatement, statementHash } from './statements.js';

const NOW = 1_790_000_000_000;
const YEAR = 365 * 24 * 3600 * 1000;
/** The id of the room the shared `create` opens (set in beforeAll). */
let ROOM = '';

interface Actor {
  cp: string;
  account: IdentityKeyPair;
  device: IdentityKeyPair;
  cert: DeviceCertificate;
}

function actor(cp: string, validity = { notBefore: NOW - 1000, notAfter: NOW + YEAR }): Actor {
  const account = generateIdentityKeyPair();
  const device = generateIdentityKeyPair();
  const cert = certifyDevice(account, {
    contactPointId: cp,
    deviceId: encodeBase64url(device.publicKey),
    deviceName: 'laptop',
    ...validity,
  });
  return { cp, account, device, cert };
}

/** A statement signed by `a`'s device; a create opens the room its own content names. */
function stmt(a: Actor, parents: string[], change: RoomChange, createdAt = NOW, roomId?: string): RoomStatement {
  const body = { parents, author: a.cp, authorDevice: a.cert.deviceId, change, createdAt };
  return signStatement(a.device, { ...body, roomId: roomId ?? (change.op === 'create' ? roomIdFor(body) : ROOM) });
}

function sender(a: Actor): VerifiedSender {
  return {
    contactPointId: a.cp,
    displayName: a.cp,
    role: 'x',
    authorityId: 'x',
    authorityName: 'x',
    country: 'TH',
    networkId: 'n',
    networkName: 'n',
    deviceId: a.cert.deviceId,
    deviceName: 'laptop',
    identity: 'verified',
  } as VerifiedSender;
}

const envelope = { serverTime: NOW } as Envelope;
const sealed = (room: RoomContent, text = ''): MessageContent =>
  ({ version: 2, messageId: crypto.randomUUID(), priority: 'normal', text, sentAt: NOW, room }) as MessageContent;

async function device(self: Actor, everyone: Actor[]) {
  const store = new MemoryKeyStore();
  await store.setIdentity(self.device);
  const sent: { to: readonly string[]; content: unknown }[] = [];
  const messages: RoomMessage[] = [];
  const changes: RoomChangeEvent[] = [];
  const errors: unknown[] = [];
  const rooms = new PairwiseRooms({
    self: { contactPointId: self.cp, certificate: self.cert },
    store,
    // As the client does: the certificate signed by the contact point's account key, valid at the statement's time.
    verifyDevice: async (cp, certificate, at) => {
      const a = everyone.find((x) => x.cp === cp);
      if (!a) throw new LiaisonError('NOT_FOUND', `unknown ${cp}`);
      const { signature, ...body } = certificate;
      const signed = verifySignature(
        a.account.publicKey,
        encodeDeviceCertificate(body),
        decodeBase64url(signature) as Uint8Array,
      );
      if (!signed) throw new LiaisonError('BAD_SIGNATURE', 'not certified');
      if (at < certificate.notBefore || at > certificate.notAfter)
        throw new LiaisonError('EXPIRED', 'outside validity');
    },
    validAt: () => NOW,
    sendToSeveral: async (to, content) => {
      for (const t of to) sent.push({ to, content: content({ messageId: crypto.randomUUID(), sentAt: NOW }, t) });
      return { messageId: 'x', serverTime: NOW };
    },
    now: () => NOW,
    message: async (m) => messages.push(m),
    changed: async (c) => changes.push(c),
    report: async (e) => {
      errors.push(e);
    },
  });
  // As Receiver does: only content that passes the wire schema (openContent) reaches the rooms.
  const receive = (from: Actor, room: RoomContent, text = '') => {
    const parsed = MessageContent.parse(sealed(room, text));
    return rooms.receive(parsed.room as RoomContent, parsed, sender(from), envelope);
  };
  return { rooms, receive, sent, messages, changes, errors, store };
}

const history = (statements: RoomStatement[], certs: DeviceCertificate[], heads: string[]): RoomContent => ({
  roomId: ROOM,
  kind: 'history',
  heads,
  statements,
  certificates: [...new Map(certs.map((c) => [c.deviceId, c])).values()],
});

let A: Actor;
let B: Actor;
let C: Actor;
let M: Actor;
let everyone: Actor[];
let create: RoomStatement;

beforeAll(async () => {
  await ready();
  A = actor('th.a');
  B = actor('th.b');
  C = actor('th.c');
  M = actor('th.mallory');
  everyone = [A, B, C, M];
  create = stmt(A, [], {
    op: 'create',
    title: 'Case 1',
    members: [
      { contactPointId: A.cp, role: 'admin' },
      { contactPointId: B.cp, role: 'admin' },
      { contactPointId: C.cp, role: 'member' },
    ],
  });
  ROOM = create.roomId;
});

describe('attacks on case rooms, from the security review', () => {
  it('a removed admin who signs changes naming only old parents (backdated) gets nothing back', async () => {
    const c = await device(C, everyone);
    const h0 = statementHash(create);
    const removeA = stmt(B, [h0], { op: 'remove', contactPointId: A.cp });
    const rename = stmt(B, [statementHash(removeA)], { op: 'rename', title: 'Case 1 (A removed)' });
    await c.receive(B, history([create, removeA, rename], [A.cert, B.cert], [statementHash(rename)]));
    expect((await c.rooms.get(ROOM))?.members.map((m) => m.contactPointId)).toEqual([B.cp, C.cp]);
    // A, removed, signs statements naming only the create, ground until they sort before its removal.
    const before = (change: RoomChange) => {
      for (let t = NOW + 1; ; t++) {
        const s = stmt(A, [h0], change, t);
        if (statementHash(s) < statementHash(removeA)) return s;
      }
    };
    const addM = before({ op: 'add', contactPointId: M.cp, role: 'admin' });
    const promote = before({ op: 'set-role', contactPointId: C.cp, role: 'admin' });
    for (const s of [addM, promote]) {
      await c
        .receive(A, {
          roomId: ROOM,
          kind: 'change',
          heads: [statementHash(s)],
          statements: [s],
          certificates: [A.cert],
        })
        .catch(() => undefined);
    }
    const view = await c.rooms.get(ROOM);
    expect(view?.members).toEqual([
      { contactPointId: B.cp, role: 'admin' },
      { contactPointId: C.cp, role: 'member' },
    ]);
  });

  it('a removed admin can take others out with it by backdating removals, never come back (the documented rest)', async () => {
    const c = await device(C, everyone);
    const h0 = statementHash(create);
    const removeA = stmt(B, [h0], { op: 'remove', contactPointId: A.cp });
    await c.receive(B, history([create, removeA], [A.cert, B.cert], [statementHash(removeA)]));
    const removeB = stmt(A, [h0], { op: 'remove', contactPointId: B.cp }, NOW + 5);
    await c
      .receive(A, {
        roomId: ROOM,
        kind: 'change',
        heads: [statementHash(removeB)],
        statements: [removeB],
        certificates: [A.cert],
      })
      .catch(() => undefined);
    const members = (await c.rooms.get(ROOM))?.members.map((m) => m.contactPointId) ?? [];
    expect(members).not.toContain(A.cp);
  });

  it('statements made with an expired device, backdated, forwarded by someone outside the room, are refused', async () => {
    const old = actor('th.old', { notBefore: NOW - 2 * YEAR, notAfter: NOW - YEAR });
    const c = await device(C, [...everyone, old]);
    const fake = stmt(
      old,
      [],
      {
        op: 'create',
        title: 'Made with an expired key',
        members: [
          { contactPointId: old.cp, role: 'admin' },
          { contactPointId: C.cp, role: 'member' },
        ],
      },
      NOW - YEAR - 10,
    );
    const forwarded = { ...history([fake], [old.cert], [statementHash(fake)]), roomId: fake.roomId };
    await expect(c.receive(B, forwarded)).rejects.toMatchObject({
      code: 'NOT_A_MEMBER',
    });
    expect(await c.rooms.list()).toEqual([]);
  });

  it('a create whose author is not an admin is refused with a LiaisonError (so the envelope is dropped), every time', async () => {
    const c = await device(C, everyone);
    const bad = stmt(M, [], {
      op: 'create',
      title: 'poison',
      members: [
        { contactPointId: M.cp, role: 'member' },
        { contactPointId: C.cp, role: 'member' },
      ],
    });
    for (let i = 0; i < 2; i++)
      await expect(
        c.receive(M, { ...history([bad], [M.cert], [statementHash(bad)]), roomId: bad.roomId }),
      ).rejects.toMatchObject({
        code: 'INVALID_MESSAGE',
      });
  });

  it("a create forged for a room's id is refused: the id is bound to the genuine create", async () => {
    const newcomer = await device(C, everyone);
    const fake = stmt(
      M,
      [],
      {
        op: 'create',
        title: 'Case 1',
        members: [
          { contactPointId: M.cp, role: 'admin' },
          { contactPointId: C.cp, role: 'member' },
        ],
      },
      NOW,
      ROOM,
    );
    await expect(newcomer.receive(M, history([fake], [M.cert], [statementHash(fake)]))).rejects.toMatchObject({
      code: 'UNTRUSTED_IDENTITY',
    });
    await newcomer.receive(A, history([create], [A.cert], [statementHash(create)]));
    expect((await newcomer.rooms.get(ROOM))?.createdBy).toBe(A.cp);
  });

  it("a member's statements without right are refused, never stored: an admin's later removal of that member still counts", async () => {
    const c = await device(C, everyone);
    const h0 = statementHash(create);
    const addM = stmt(A, [h0], { op: 'add', contactPointId: M.cp, role: 'member' });
    await c.receive(A, history([create, addM], [A.cert], [statementHash(addM)]));
    // Mallory, a member, sends renames it has no right to, and statements naming parents that do not exist.
    const junk = Array.from({ length: 40 }, (_, i) =>
      stmt(M, [statementHash(addM)], { op: 'rename', title: `junk ${i}` }, NOW + i),
    );
    await c.receive(M, {
      roomId: ROOM,
      kind: 'change',
      heads: [statementHash(addM)],
      statements: junk,
      certificates: [M.cert],
    });
    const dangling = Array.from({ length: 60 }, (_, i) =>
      stmt(M, [encodeBase64url(new Uint8Array(32).fill(i + 1))], { op: 'leave' }, NOW + 100 + i),
    );
    await c.receive(M, {
      roomId: ROOM,
      kind: 'change',
      heads: [statementHash(addM)],
      statements: dangling,
      certificates: [M.cert],
    });
    // Each refused, reported; beyond 50 waiting for parents, the rest dropped and reported.
    expect(c.errors).toContainEqual(expect.objectContaining({ code: 'QUOTA_EXCEEDED' }));
    expect(c.errors.filter((e) => (e as LiaisonError).code === 'FORBIDDEN')).toHaveLength(junk.length);
    const removeM = stmt(A, [statementHash(addM)], { op: 'remove', contactPointId: M.cp });
    await c.receive(A, {
      roomId: ROOM,
      kind: 'change',
      heads: [statementHash(removeM)],
      statements: [removeM],
      certificates: [A.cert],
    });
    const view = await c.rooms.get(ROOM);
    expect(view?.members.map((m) => m.contactPointId)).toEqual([A.cp, B.cp, C.cp]);
    expect(view?.title).toBe('Case 1');
    // What a member (not an admin) names does not stop the others writing to the room.
    await c.rooms.send(ROOM, { text: 'still here' });
    expect(c.sent.at(-1)?.to).toEqual([A.cp, B.cp]);
  });

  it("a history request is answered once a minute per member; this contact point's own devices' requests too", async () => {
    const a = await device(A, everyone);
    const { roomId } = await a.rooms.create({ title: 'Case 2', members: [B.cp, C.cp] });
    const before = a.sent.length;
    for (let i = 0; i < 20; i++) await a.receive(B, { roomId, kind: 'history-request', heads: [] });
    await new Promise((r) => setTimeout(r, 10));
    expect(a.sent.length - before).toBe(1);
  });

  it('a message written by a non-member, naming a change it had prepared, is not shown once it is added later', async () => {
    const c = await device(C, everyone);
    const h0 = statementHash(create);
    await c.receive(A, history([create], [A.cert], [h0]));
    const prepared = stmt(M, [h0], { op: 'rename', title: 'void' });
    await c.receive(
      M,
      { roomId: ROOM, kind: 'message', heads: [statementHash(prepared)] },
      'written before I was added',
    );
    expect(c.messages).toHaveLength(0);
    const addM = stmt(A, [h0], { op: 'add', contactPointId: M.cp, role: 'member' });
    await c.receive(A, {
      roomId: ROOM,
      kind: 'change',
      heads: [statementHash(addM)],
      statements: [addM],
      certificates: [A.cert],
    });
    await c
      .receive(M, history([create, addM, prepared], [A.cert, M.cert], [statementHash(prepared), statementHash(addM)]))
      .catch(() => undefined);
    expect(c.messages.map((m) => m.text)).toEqual([]);
  });

  it('a member who knows it lacks a change refuses to send until the history arrives, so a hidden removal is not worked around', async () => {
    const c = await device(C, everyone);
    const h0 = statementHash(create);
    const addM = stmt(A, [h0], { op: 'add', contactPointId: M.cp, role: 'member' });
    await c.receive(A, history([create, addM], [A.cert], [statementHash(addM)]));
    const removeM = stmt(A, [statementHash(addM)], { op: 'remove', contactPointId: M.cp });
    await c.receive(B, { roomId: ROOM, kind: 'message', heads: [statementHash(removeM)] }, 'after removal');
    expect((await c.rooms.get(ROOM))?.complete).toBe(false);
    await expect(c.rooms.send(ROOM, { text: 'secret' })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(c.sent.some((x) => (x.content as MessageContent).text === 'secret')).toBe(false);
    // The history comes: the waiting message is shown, and sending goes to the members without M.
    await c.receive(A, history([create, addM, removeM], [A.cert], [statementHash(removeM)]));
    expect(c.messages.map((m) => m.text)).toEqual(['after removal']);
    await c.rooms.send(ROOM, { text: 'secret' });
    expect(c.sent.find((x) => (x.content as MessageContent).text === 'secret')?.to).not.toContain(M.cp);
  });

  it("a change after which the room's history would not fit in one message is refused; what is answered always fits", async () => {
    const a = await device(A, everyone);
    const { roomId } = await a.rooms.create({ title: 'Case 3', members: [B.cp, C.cp] });
    let refusal: unknown;
    for (let i = 0; i < 200 && !refusal; i++) {
      await a.rooms.rename(roomId, `${i} ${'Entraide pénale — '.repeat(10)}`.slice(0, 200).trim()).catch((error) => {
        refusal = error;
      });
    }
    expect(refusal).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    await a.receive(B, { roomId, kind: 'history-request', heads: [] });
    await new Promise((r) => setTimeout(r, 10));
    const { sealContent } = await import('../client/content.js');
    const answer = a.sent.at(-1)?.content as MessageContent;
    expect(answer.room?.kind).toBe('history');
    expect(() => sealContent(answer)).not.toThrow();
  });

  it('a room without another member, or with a title too long, is refused before anything is signed or sent', async () => {
    const a = await device(A, everyone);
    await expect(a.rooms.create({ title: 'Seul', members: [] })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(a.rooms.create({ title: 'T'.repeat(201), members: [B.cp] })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    expect(a.sent).toEqual([]);
    expect(await a.rooms.list()).toEqual([]);
  });

  it('statements without effect never block the room: heads stay within what a message may name', async () => {
    const c = await device(C, everyone);
    const h0 = statementHash(create);
    await c.receive(A, history([create], [A.cert], [h0]));
    // Seventeen concurrent renames by an admin: seventeen heads.
    const many = Array.from({ length: 17 }, (_, i) => stmt(A, [h0], { op: 'rename', title: `Case 1 (${i})` }, NOW + i));
    await c.receive(A, {
      roomId: ROOM,
      kind: 'change',
      heads: many.map(statementHash).slice(0, 16),
      statements: many,
      certificates: [A.cert],
    });
    const { sealContent } = await import('../client/content.js');
    await c.rooms.send(ROOM, { text: 'hello' });
    expect(() => sealContent(c.sent.at(-1)?.content)).not.toThrow();
  });
});
