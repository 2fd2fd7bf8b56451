import { type DeviceCertificate, LIMITS, type RoomChange, type RoomMember } from '@liaison/protocol';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOW } from '../__fixtures__/devices.js';
import { known, type RoomActor, roomActor, statementBody } from '../__fixtures__/room-statements.js';
import { ready } from '../crypto/sodium.js';
import { foldMembership, type Membership } from './membership.js';
import { coveringCertificate, RoomRecord, type VerifiedStatement } from './room-record.js';
import { roomIdFor, signStatement, statementHash, verifyStatement } from './statements.js';

/**
 * The fold every member's SDK runs over the same signed statements, and the record that gathers
 * them as they arrive: members who end up holding the same statements must show the same room,
 * whatever order the relay delivered them in, and no statement may do what its author had no
 * right to do. Statements are real ones, signed by certified device keys.
 */

const ROOM = '0b7f6a3e-2c4d-4e8f-9a1b-3c5d7e9f1a2b';

let admins: RoomActor[];
let plain: RoomActor[];
let outsiders: RoomActor[];
let stranger: RoomActor;

beforeAll(async () => {
  await ready();
  admins = ['th-oag.somchai', 'vn-spp.lan', 'ph-doj.maria'].map((id) => roomActor(id));
  plain = ['id-ago.budi', 'my-agc.aisyah'].map((id) => roomActor(id));
  outsiders = ['kh-moj.dara', 'la-opp.noy', 'mm-uag.aung', 'bn-agc.hafiz'].map((id) => roomActor(id));
  stranger = roomActor('sg-agc.tan');
});

const newRecord = () => new RoomRecord({ roomId: ROOM, statements: [], pending: [], certificates: [], waiting: [] });
/** What a member is shown: who is in (in order, with their role), the title, the case reference, and the heads its next message names. */
const shown = (m: Membership | undefined) =>
  m && {
    members: [...m.members].map(([id, role]) => `${id}:${role}`),
    title: m.title,
    caseReference: m.caseReference,
    heads: m.heads,
  };
const memberIds = (m: Membership) => [...m.members.keys()].sort();
const createOf = (author: RoomActor, members: RoomMember[], title = 'JIT Mekong') =>
  known(author, ROOM, [], {
    op: 'create',
    title,
    caseReference: 'JIT-2026-014',
    members: [{ contactPointId: author.id, role: 'admin' }, ...members],
  });
const asMembers = (actors: RoomActor[], role: 'admin' | 'member') =>
  actors.map((a) => ({ contactPointId: a.id, role }) as RoomMember);
/** A record holding these statements, added in this order. */
const recordOf = (...statements: VerifiedStatement[]) => {
  const record = newRecord();
  for (const s of statements) record.add([s]);
  return record;
};
/**
 * `make(t)` signed at NOW + t for the first t that puts its hash before (or after) `other`'s: two
 * statements of the same depth are applied in the order of their hashes, and a test of "either
 * order" must see both.
 */
const hashed = (
  make: (t: number) => VerifiedStatement,
  other: VerifiedStatement,
  before: boolean,
): VerifiedStatement => {
  for (let t = 1; ; t++) {
    const s = make(t);
    if (s.hash < other.hash === before) return s;
  }
};

/** Mulberry32: a delivery order reproducible from the seed fast-check reports. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One change a random author makes, naming random statements made before it as its parents. */
interface Step {
  author: number;
  op: 'add' | 'remove' | 'set-role' | 'rename' | 'leave';
  target: number;
  admin: boolean;
  parents: number[];
  title: number;
}
const step: fc.Arbitrary<Step> = fc.record({
  author: fc.nat({ max: 99 }),
  // Adds and removals most, as the conflicts that matter are between them.
  op: fc.oneof(
    { weight: 3, arbitrary: fc.constant('add' as const) },
    { weight: 3, arbitrary: fc.constant('remove' as const) },
    { weight: 1, arbitrary: fc.constant('set-role' as const) },
    { weight: 1, arbitrary: fc.constant('rename' as const) },
    { weight: 1, arbitrary: fc.constant('leave' as const) },
  ),
  target: fc.nat({ max: 99 }),
  admin: fc.boolean(),
  parents: fc.array(fc.nat({ max: 999 }), { minLength: 1, maxLength: 3 }),
  title: fc.nat({ max: 3 }),
});

/**
 * A history: the create, then one statement per step, by `authors[step.author]`, about one of
 * `targets`, naming 1 to 3 statements among those already made (so several authors act on
 * different, older views at once). `canBeAdmin` says which targets a step may make admins.
 */
function history(
  create: VerifiedStatement,
  steps: readonly Step[],
  authors: readonly RoomActor[],
  targets: readonly RoomActor[],
  canBeAdmin: (target: RoomActor) => boolean,
  made: VerifiedStatement[] = [create],
): VerifiedStatement[] {
  const all = [...made];
  steps.forEach((s, i) => {
    const author = authors[s.author % authors.length] as RoomActor;
    const target = targets[s.target % targets.length] as RoomActor;
    const role = s.admin && canBeAdmin(target) ? 'admin' : 'member';
    const parents = [...new Set(s.parents.map((p) => (all[p % all.length] as VerifiedStatement).hash))];
    const change: RoomChange =
      s.op === 'add'
        ? { op: 'add', contactPointId: target.id, role }
        : s.op === 'remove'
          ? { op: 'remove', contactPointId: target.id }
          : s.op === 'set-role'
            ? { op: 'set-role', contactPointId: target.id, role }
            : s.op === 'rename'
              ? {
                  op: 'rename',
                  title: `Title ${s.title}`,
                  ...(s.title % 2 === 0 && { caseReference: `REF-${s.title}` }),
                }
              : { op: 'leave' };
    all.push(known(author, ROOM, parents, change, NOW + all.length + i));
  });
  return all;
}

/**
 * One member device receiving `statements` from the relay: shuffled, some twice, in batches (a
 * statement whose parents are missing waits in the record), with the device restarting from its
 * stored form now and then. Checks the cap on members at every step.
 */
function deliver(statements: readonly VerifiedStatement[], seed: number): RoomRecord {
  const next = random(seed);
  const copies = statements.flatMap((s) => (next() < 0.3 ? [s, s] : [s]));
  const queue = copies
    .map((s) => ({ s, key: next() }))
    .sort((a, b) => a.key - b.key)
    .map(({ s }) => s);
  let record = newRecord();
  while (queue.length > 0) {
    const batch = queue.splice(0, 1 + Math.floor(next() * 4));
    record.add(batch);
    const membership = record.membership;
    if (membership) expect(membership.members.size).toBeLessThanOrEqual(LIMITS.maxRoomMembers);
    if (next() < 0.15) record = new RoomRecord(JSON.parse(JSON.stringify(record.toStored())));
  }
  return record;
}

/** Every statement's ancestors, from the parents it names. */
function ancestry(statements: readonly VerifiedStatement[]): Map<string, Set<string>> {
  const byHash = new Map(statements.map((s) => [s.hash, s]));
  const found = new Map<string, Set<string>>();
  const of = (hash: string): Set<string> => {
    const done = found.get(hash);
    if (done) return done;
    const above = new Set<string>();
    for (const p of byHash.get(hash)?.statement.parents ?? []) {
      above.add(p);
      for (const a of of(p)) above.add(a);
    }
    found.set(hash, above);
    return above;
  };
  for (const s of statements) of(s.hash);
  return found;
}

/**
 * Removal wins: whoever is a member at the end was brought in (by the create or an add) by a
 * statement that took effect and had seen every removal of them (or their leaving) that took effect.
 */
function expectRemovalWins(statements: readonly VerifiedStatement[], membership: Membership): void {
  const above = ancestry(statements);
  for (const id of membership.members.keys()) {
    const effective = membership.applied.filter((s) => s.effective);
    const introducers = effective.filter(({ statement: { change } }) =>
      change.op === 'create'
        ? change.members.some((m) => m.contactPointId === id)
        : change.op === 'add' && change.contactPointId === id,
    );
    const removals = effective.filter(
      ({ statement: { change, author } }) =>
        (change.op === 'remove' && change.contactPointId === id) || (change.op === 'leave' && author === id),
    );
    expect(
      introducers.some((i) => removals.every((r) => above.get(i.hash)?.has(r.hash))),
      `${id} is a member though a removal of them that took effect was not seen by what brought them in`,
    ).toBe(true);
  }
}

describe('membership: replicas that hold the same statements agree (property)', () => {
  it('two or three admins change the room at once; every replica ends with the same members, title and heads', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 3 }),
        fc.array(step, { minLength: 1, maxLength: 25 }),
        fc.array(fc.integer(), { minLength: 3, maxLength: 3 }),
        (adminCount, steps, seeds) => {
          const acting = admins.slice(0, adminCount);
          const [first, ...others] = acting as [RoomActor, ...RoomActor[]];
          const create = createOf(first, [...asMembers(others, 'admin'), ...asMembers(plain, 'member')]);
          // Targets: few, so that changes collide; the admins among them (they remove and demote each other).
          const targets = [...acting, ...plain, outsiders[0] as RoomActor, outsiders[1] as RoomActor];
          const statements = history(create, steps, acting, targets, () => true);
          // What a device holding every statement at once keeps: those its author had the right to.
          const reference = recordOf(...statements);
          const expected = reference.membership as Membership;
          const replicas = seeds.map((seed) => deliver(statements, seed));
          for (const replica of replicas) {
            expect(replica.missing()).toEqual([]);
            expect(shown(replica.membership)).toEqual(shown(expected));
            expect(replica.history().statements.length).toBe(reference.history().statements.length);
          }
          // A device that gets one replica's history as a new member would, folds it alike.
          const forwarded = (replicas[0] as RoomRecord).history().statements;
          const newcomer = newRecord();
          const { certificates } = (replicas[0] as RoomRecord).history();
          newcomer.add(
            forwarded.map((statement) => ({
              statement,
              hash: statementHash(statement),
              certificate: coveringCertificate(certificates, statement) as DeviceCertificate,
            })),
          );
          expect(shown(newcomer.membership)).toEqual(shown(expected));
          expectRemovalWins(statements, expected);
          expect(expected.members.size).toBeLessThanOrEqual(LIMITS.maxRoomMembers);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('statements by contact points that were never admins change nothing, wherever they attach', () => {
    fc.assert(
      fc.property(
        fc.array(step, { minLength: 0, maxLength: 15 }),
        fc.array(step, { minLength: 1, maxLength: 15 }),
        (adminSteps, forgedSteps) => {
          const [first, second] = admins as [RoomActor, RoomActor];
          const create = createOf(first, [...asMembers([second], 'admin'), ...asMembers(plain, 'member')]);
          // The admins never make the plain members or the first two outsiders admins.
          const promotable = new Set([first.id, second.id, outsiders[2]?.id, outsiders[3]?.id]);
          const targets = [first, second, ...plain, ...outsiders];
          const genuine = history(create, adminSteps, [first, second], targets, (t) => promotable.has(t.id));
          // Members, outsiders (some added as members meanwhile) and a stranger sign what only admins may;
          // they do not leave (a member may), but the stranger, who was never in, tries that too.
          const forgers = [...plain, outsiders[0] as RoomActor, outsiders[1] as RoomActor, stranger];
          const all = history(
            create,
            forgedSteps.map((s) => ({
              ...s,
              op: s.op === 'leave' && s.author % forgers.length !== 4 ? 'rename' : s.op,
            })),
            forgers,
            targets,
            () => true,
            genuine,
          );
          const forged = all.slice(genuine.length);
          const withForged = foldMembership(all);
          const without = foldMembership(genuine);
          expect(shown(withForged)?.members).toEqual(shown(without)?.members);
          expect([withForged.title, withForged.caseReference]).toEqual([without.title, without.caseReference]);
          const voided = new Set(withForged.applied.filter((s) => !s.effective).map((s) => s.hash));
          expect(forged.every((s) => voided.has(s.hash))).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('admins adding at once never take a room past 50 members, at any replica at any moment', () => {
    const crowd = Array.from({ length: 50 }, (_, i) => roomActor(`cp-${i}`));
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), fc.integer(), (steps, seed) => {
        const [first, second] = admins as [RoomActor, RoomActor];
        // 48 at the start: two adds reach the limit, the rest must not pass it.
        const create = createOf(first, [...asMembers([second], 'admin'), ...asMembers(crowd.slice(0, 46), 'member')]);
        const adds = steps.map((s) => ({ ...s, op: s.op === 'rename' || s.op === 'leave' ? ('add' as const) : s.op }));
        // Targets near the edge: two members and eight who are not (yet).
        const targets = [...crowd.slice(44), ...outsiders];
        const statements = history(create, adds, [first, second], targets, () => false);
        const replica = deliver(statements, seed);
        expect(replica.membership?.members.size).toBeLessThanOrEqual(LIMITS.maxRoomMembers);
        expect(shown(replica.membership)).toEqual(shown(recordOf(...statements).membership));
      }),
      { numRuns: 100 },
    );
  });
});

describe('membership: removal wins', () => {
  /** Somchai and Lan are admins, Budi a member; Somchai adds Dara, then removes her. */
  function scene() {
    const [somchai, lan] = admins as [RoomActor, RoomActor];
    const dara = outsiders[0] as RoomActor;
    const create = createOf(somchai, [...asMembers([lan], 'admin'), ...asMembers(plain, 'member')]);
    const add = known(somchai, ROOM, [create.hash], { op: 'add', contactPointId: dara.id, role: 'member' }, NOW + 1);
    const removal = known(somchai, ROOM, [add.hash], { op: 'remove', contactPointId: dara.id }, NOW + 2);
    return { somchai, lan, dara, create, add, removal };
  }

  /** Lan, who had not seen Somchai's add or removal, adds Dara too: applied before the removal, beside it, after it. */
  const concurrentAdds: [string, (s: ReturnType<typeof scene>) => VerifiedStatement[]][] = [
    [
      'before the removal (a shorter path from the create)',
      ({ lan, dara, create }) => [
        known(lan, ROOM, [create.hash], { op: 'add', contactPointId: dara.id, role: 'member' }, NOW + 3),
      ],
    ],
    ...[true, false].map((before): [string, (s: ReturnType<typeof scene>) => VerifiedStatement[]] => [
      `at the same depth, its hash ${before ? 'before' : 'after'} the removal's`,
      ({ lan, dara, create, removal }) => {
        const rename = known(lan, ROOM, [create.hash], { op: 'rename', title: 'JIT Mekong (2)' }, NOW + 3);
        const add = hashed(
          (t) => known(lan, ROOM, [rename.hash], { op: 'add', contactPointId: dara.id, role: 'member' }, NOW + 3 + t),
          removal,
          before,
        );
        return [rename, add];
      },
    ]),
    [
      'after the removal (a longer path from the create)',
      ({ lan, dara, create }) => {
        const r1 = known(lan, ROOM, [create.hash], { op: 'rename', title: 'JIT Mekong (2)' }, NOW + 3);
        const r2 = known(lan, ROOM, [r1.hash], { op: 'rename', title: 'JIT Mekong (3)' }, NOW + 4);
        return [r1, r2, known(lan, ROOM, [r2.hash], { op: 'add', contactPointId: dara.id, role: 'admin' }, NOW + 5)];
      },
    ],
  ];

  it.each(concurrentAdds)(
    'an add concurrent with the removal, applied %s, leaves her out, in either delivery order',
    (_, adds) => {
      const s = scene();
      const lans = adds(s);
      const removed = [s.create, s.add, s.removal];
      for (const order of [
        [...removed, ...lans],
        [...lans, ...removed],
        [s.create, ...lans, s.add, s.removal],
      ]) {
        const record = recordOf(...order);
        expect(record.membership?.members.has(s.dara.id)).toBe(false);
        expect(memberIds(record.membership as Membership)).toEqual(
          [s.somchai.id, s.lan.id, ...plain.map((p) => p.id)].sort(),
        );
      }
    },
  );

  it('leaving wins over an add its author had not seen', () => {
    const s = scene();
    const budi = plain[0] as RoomActor;
    const leave = known(budi, ROOM, [s.create.hash], { op: 'leave' }, NOW + 1);
    const r1 = known(s.lan, ROOM, [s.create.hash], { op: 'rename', title: 'x' }, NOW + 2);
    // Lan had seen Budi as a member, so her add did nothing; then she adds him "back", not having seen him leave.
    const addBack = known(s.lan, ROOM, [r1.hash], { op: 'add', contactPointId: budi.id, role: 'member' }, NOW + 3);
    for (const order of [
      [s.create, leave, r1, addBack],
      [s.create, r1, addBack, leave],
    ])
      expect(recordOf(...order).membership?.members.has(budi.id)).toBe(false);
  });

  it('an admin who had seen the removal adds her back, in either delivery order', () => {
    const s = scene();
    const [lanAdd] = concurrentAdds[0]?.[1](s) ?? [];
    const back = known(s.lan, ROOM, [s.removal.hash, (lanAdd as VerifiedStatement).hash], {
      op: 'add',
      contactPointId: s.dara.id,
      role: 'member',
    });
    for (const order of [
      [s.create, s.add, s.removal, lanAdd as VerifiedStatement, back],
      [back, lanAdd as VerifiedStatement, s.removal, s.add, s.create],
    ]) {
      const membership = recordOf(...order).membership as Membership;
      expect(membership.members.get(s.dara.id)).toBe('member');
      expect(membership.heads).toEqual([back.hash]);
    }
  });
});

describe('membership: only admins change a room', () => {
  function scene() {
    const [somchai, lan] = admins as [RoomActor, RoomActor];
    const budi = plain[0] as RoomActor;
    const create = createOf(somchai, [...asMembers([lan], 'admin'), ...asMembers(plain, 'member')]);
    return { somchai, lan, budi, create };
  }
  const adminChanges = (target: string): RoomChange[] => [
    { op: 'add', contactPointId: outsiders[0]?.id as string, role: 'admin' },
    { op: 'remove', contactPointId: target },
    { op: 'set-role', contactPointId: target, role: 'member' },
    { op: 'rename', title: 'Taken over', caseReference: 'NONE' },
  ];

  it.each([
    ['a member', () => plain[0] as RoomActor],
    ['a contact point never in the room', () => stranger],
  ])('%s signs an add, a removal, a role change or a rename: refused, nothing changes', (_, who) => {
    const { somchai, create } = scene();
    const before = shown(foldMembership([create]));
    for (const change of adminChanges(somchai.id)) {
      const forged = known(who(), ROOM, [create.hash], change, NOW + 1);
      const record = recordOf(create);
      expect(record.add([forged]).refused).toEqual([forged.statement]);
      expect(shown(record.membership)).toEqual(before);
      expect(record.history().statements).toEqual([create.statement]);
    }
  });

  it('a stranger cannot leave a room it is not in, and a member can', () => {
    const { create, budi } = scene();
    expect(
      memberIds(recordOf(create, known(stranger, ROOM, [create.hash], { op: 'leave' })).membership as Membership),
    ).toEqual(memberIds(foldMembership([create])));
    expect(recordOf(create, known(budi, ROOM, [create.hash], { op: 'leave' })).membership?.members.has(budi.id)).toBe(
      false,
    );
  });

  it.each([
    ['removed', (s: ReturnType<typeof scene>) => ({ op: 'remove', contactPointId: s.lan.id }) as RoomChange],
    [
      'made a member',
      (s: ReturnType<typeof scene>) => ({ op: 'set-role', contactPointId: s.lan.id, role: 'member' }) as RoomChange,
    ],
  ])('an admin %s, acting after seeing it, changes nothing', (_, demotion) => {
    const s = scene();
    const demoted = known(s.somchai, ROOM, [s.create.hash], demotion(s), NOW + 1);
    const before = shown(recordOf(s.create, demoted).membership);
    for (const change of adminChanges(s.somchai.id)) {
      const after = known(s.lan, ROOM, [demoted.hash], change, NOW + 2);
      const membership = recordOf(s.create, demoted, after).membership as Membership;
      expect(shown(membership)).toEqual(before);
    }
  });

  it('an admin removed while it changed the room (neither had seen the other): every replica shows the same room, without it', () => {
    const s = scene();
    const removesLan = known(s.somchai, ROOM, [s.create.hash], { op: 'remove', contactPointId: s.lan.id }, NOW + 1);
    for (const before of [true, false]) {
      const lansAdd = hashed(
        (t) =>
          known(
            s.lan,
            ROOM,
            [s.create.hash],
            { op: 'add', contactPointId: outsiders[1]?.id as string, role: 'member' },
            NOW + t,
          ),
        removesLan,
        before,
      );
      const a = recordOf(s.create, removesLan, lansAdd).membership as Membership;
      const b = recordOf(lansAdd, s.create, removesLan).membership as Membership;
      expect(shown(a)).toEqual(shown(b));
      expect(a.members.has(s.lan.id)).toBe(false);
    }
  });
});

describe('membership: one create per room', () => {
  it('a second create (another author, other members) is refused: the room stays as created, and what names it waits', () => {
    const [somchai, lan] = admins as [RoomActor, RoomActor];
    const budi = plain[0] as RoomActor;
    const create = createOf(somchai, asMembers([lan, budi], 'member'));
    const second = createOf(budi, asMembers([...outsiders], 'member'), 'Not the room');
    const record = recordOf(create);
    const before = shown(record.membership);
    expect(record.add([second]).joined).toEqual([]);
    expect(shown(record.membership)).toEqual(before);
    const child = known(budi, ROOM, [second.hash], { op: 'add', contactPointId: stranger.id, role: 'admin' });
    expect(record.add([child]).joined).toEqual([]);
    expect(shown(record.membership)).toEqual(before);
    // Kept, through a restart, out of the history a new member would be sent.
    const restarted = new RoomRecord(JSON.parse(JSON.stringify(record.toStored())));
    expect(shown(restarted.membership)).toEqual(before);
    expect(restarted.history().statements.map((s) => s.change.op)).toEqual(['create']);
  });

  it('the same create again is no second create', () => {
    const [somchai, lan] = admins as [RoomActor, RoomActor];
    const create = createOf(somchai, asMembers([lan], 'member'));
    const record = recordOf(create, create);
    expect(record.add([create]).joined).toEqual([]);
    expect(record.history().statements.length).toBe(1);
  });

  it('a fold of a history with two creates is refused, not guessed', () => {
    const [somchai, lan] = admins as [RoomActor, RoomActor];
    const a = createOf(somchai, asMembers([lan], 'member'));
    const b = createOf(lan, asMembers([somchai], 'member'));
    expect(() => foldMembership([a, b])).toThrow(RangeError);
  });
});

describe('membership: at most 50 members', () => {
  it('an add to a full room takes no effect; after a removal, the next does', () => {
    const [somchai] = admins as [RoomActor];
    const crowd = Array.from({ length: 49 }, (_, i) => roomActor(`cp-full-${i}`));
    const create = createOf(somchai, asMembers(crowd, 'member'));
    const full = known(somchai, ROOM, [create.hash], { op: 'add', contactPointId: stranger.id, role: 'member' });
    const record = recordOf(create, full);
    expect(record.membership?.members.size).toBe(50);
    expect(record.membership?.members.has(stranger.id)).toBe(false);
    const removal = known(somchai, ROOM, [full.hash], { op: 'remove', contactPointId: crowd[0]?.id as string });
    const retry = known(somchai, ROOM, [removal.hash], { op: 'add', contactPointId: stranger.id, role: 'member' });
    record.add([removal, retry]);
    expect(record.membership?.members.size).toBe(50);
    expect(record.membership?.members.has(stranger.id)).toBe(true);
  });
});

describe('membership: a removed admin cannot act in the past', () => {
  it('a removed admin who names older statements as its parents (backdating) gets nothing back: it stays out, adds nobody', () => {
    const [somchai, lan] = admins as [RoomActor, RoomActor];
    const accomplice = outsiders[0] as RoomActor;
    const create = createOf(somchai, [...asMembers([lan], 'admin'), ...asMembers(plain, 'member')]);
    const rename = known(somchai, ROOM, [create.hash], { op: 'rename', title: 'JIT Mekong — phase 2' }, NOW + 1);
    const removesLan = known(somchai, ROOM, [rename.hash], { op: 'remove', contactPointId: lan.id }, NOW + 2);
    // Lan's SDK holds her removal; she signs anyway, naming only the create, as if she had not seen it.
    const addsAccomplice = known(
      lan,
      ROOM,
      [create.hash],
      { op: 'add', contactPointId: accomplice.id, role: 'admin' },
      NOW + 3,
    );
    const renames = known(lan, ROOM, [create.hash], { op: 'rename', title: 'Taken over' }, NOW + 4);
    const promotesBudi = known(
      lan,
      ROOM,
      [create.hash],
      { op: 'set-role', contactPointId: plain[0]?.id as string, role: 'admin' },
      NOW + 5,
    );
    for (const order of [
      [create, rename, removesLan, addsAccomplice, renames, promotesBudi],
      [create, addsAccomplice, renames, promotesBudi, rename, removesLan],
    ]) {
      const record = recordOf(...order);
      expect(memberIds(record.membership as Membership)).toEqual([somchai.id, ...plain.map((p) => p.id)].sort());
      expect(record.membership?.members.get(plain[0]?.id as string)).toBe('member');
      expect(record.membership?.title).toBe('JIT Mekong — phase 2');
    }
  });

  it('a removed admin who backdates a removal takes that member out with it, as two admins removing each other at once (docs/rooms.md)', () => {
    const [somchai, lan] = admins as [RoomActor, RoomActor];
    const create = createOf(somchai, [...asMembers([lan], 'admin'), ...asMembers(plain, 'member')]);
    const removesLan = known(somchai, ROOM, [create.hash], { op: 'remove', contactPointId: lan.id }, NOW + 1);
    const removesSomchai = known(lan, ROOM, [create.hash], { op: 'remove', contactPointId: somchai.id }, NOW + 2);
    const record = recordOf(create, removesLan, removesSomchai);
    expect(memberIds(record.membership as Membership)).toEqual(plain.map((p) => p.id).sort());
  });
});

describe('membership: a create forged for a known room', () => {
  it("is refused before it reaches the history: a room's id is bound to its genuine create", () => {
    const [somchai, lan] = admins as [RoomActor, RoomActor];
    const budi = plain[0] as RoomActor;
    const [dara, accomplice] = outsiders as [RoomActor, RoomActor];
    const body = statementBody(somchai, '', [], {
      op: 'create',
      title: 'JIT Mekong',
      members: [
        { contactPointId: somchai.id, role: 'admin' },
        { contactPointId: lan.id, role: 'admin' },
        { contactPointId: budi.id, role: 'member' },
      ],
    });
    const genuine = signStatement(somchai.deviceKeys, { ...body, roomId: roomIdFor(body) });
    expect(() => verifyStatement(genuine, somchai.certificate)).not.toThrow();
    // Budi, a member, knows the room's id: he signs a create of his own for it, with Dara and his accomplice.
    const forged = signStatement(budi.deviceKeys, {
      ...statementBody(budi, genuine.roomId, [], {
        op: 'create',
        title: 'JIT Mekong',
        members: [
          { contactPointId: budi.id, role: 'admin' },
          { contactPointId: dara.id, role: 'member' },
          { contactPointId: accomplice.id, role: 'admin' },
        ],
      }),
    });
    expect(() => verifyStatement(forged, budi.certificate)).toThrow(
      expect.objectContaining({ code: 'UNTRUSTED_IDENTITY' }),
    );
  });
});

describe('membership: statements without effect, in bulk', () => {
  it("a member's void statements, however many, do not crowd out an admin's next change", () => {
    const [somchai, lan] = admins as [RoomActor, RoomActor];
    const budi = plain[0] as RoomActor;
    const create = createOf(somchai, [...asMembers([lan], 'admin'), ...asMembers(plain, 'member')]);
    const record = recordOf(create);
    // Budi signs renames he has no right to, as many as two full histories, in messages of 100.
    for (let batch = 0; batch < 2; batch++) {
      const junk = Array.from({ length: LIMITS.maxRoomStatements }, (_, i) =>
        known(budi, ROOM, [create.hash], { op: 'rename', title: `junk ${batch}.${i}` }, NOW + 1 + batch * 1000 + i),
      );
      record.add(junk);
    }
    expect(record.membership?.title).toBe('JIT Mekong');
    const invite = known(
      somchai,
      ROOM,
      [create.hash],
      { op: 'add', contactPointId: stranger.id, role: 'member' },
      NOW + 5000,
    );
    record.add([invite]);
    expect(record.membership?.members.has(stranger.id)).toBe(true);
  });
});
