import { type DeviceCertificate, LIMITS, type RoomChange, type RoomStatement } from '@liaison/protocol';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOW } from '../__fixtures__/devices.js';
import { network, valid } from '../__fixtures__/network.js';
import { type RoomActor, roomActor, statementBody } from '../__fixtures__/room-statements.js';
import type { IdentityKeyPair } from '../crypto/keys.js';
import { ready } from '../crypto/sodium.js';
import { isLiaisonError } from '../errors.js';
import { certifyDevice } from '../trust/issue.js';
import { verifiedDevice } from '../trust/verify.js';
import { roomIdFor, signStatement, statementHash, verifyStatement } from './statements.js';

/**
 * A room statement travels through the relay, and through other members who forward a room's
 * history: whatever any of them changes in it, or whoever else signs it, the receiving SDK refuses
 * it, with the code the application is told.
 */

const ROOM = '0b7f6a3e-2c4d-4e8f-9a1b-3c5d7e9f1a2b';
const OTHER_ROOM = '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const HASH_A = 'b77DjCM0dBmugl4-KiPUkJQsecWtZP92b9YqYtMVpaM';
const HASH_B = '7fqHkRIccGP5IfdYCUynoSYWm6wPeursQbuV_6N71Z4';

let somchai: RoomActor;
/** Somchai's second device: the same account key certified it. */
let somchaiPhone: RoomActor;
let lan: RoomActor;
let net: ReturnType<typeof network>;

beforeAll(async () => {
  await ready();
  net = network('seajust', 'TH', 'th-oag');
  somchai = roomActor('th-oag.somchai');
  const phone = roomActor('th-oag.somchai');
  somchaiPhone = {
    ...phone,
    accountKeys: somchai.accountKeys,
    certificate: certifyDevice(somchai.accountKeys, {
      contactPointId: somchai.id,
      deviceId: phone.certificate.deviceId,
      deviceName: 'Phone',
      ...valid,
    }),
  };
  lan = roomActor('vn-spp.lan');
});

/** Signed by `author`'s device; a create opens the room its content names. */
const signed = (author: RoomActor, change: RoomChange, parents = [HASH_A, HASH_B], createdAt = NOW + 60_000) => {
  const body = statementBody(author, ROOM, parents, change, createdAt);
  return signStatement(author.deviceKeys, change.op === 'create' ? { ...body, roomId: roomIdFor(body) } : body);
};
const add: RoomChange = { op: 'add', contactPointId: 'kh-moj.dara', role: 'member' };

/**
 * The code a statement is refused with, or 'accepted', checked as the client does: the statement
 * against the certificate given for its device, then that certificate's chain at the statement's
 * time, under a designation of the author with `accountKeys`.
 */
function outcome(statement: RoomStatement, certificate: DeviceCertificate, accountKeys: IdentityKeyPair): string {
  try {
    verifyStatement(statement, certificate);
    const contactPoint = net.designate(statement.author, accountKeys);
    verifiedDevice(
      { authority: net.authority, contactPoint, device: certificate },
      { trustedRoots: [net.root] },
      statement.createdAt,
    );
    return 'accepted';
  } catch (error) {
    if (!isLiaisonError(error)) throw error;
    return error.code;
  }
}
const bySomchai = (statement: RoomStatement, certificate = somchai.certificate) =>
  outcome(statement, certificate, somchai.accountKeys);

describe('room statements: what was signed is what is accepted', () => {
  it("a statement as its author's device signed it is accepted, under a hash that names it alone", () => {
    const statement = signed(somchai, add);
    expect(bySomchai(statement)).toBe('accepted');
    expect(statementHash(statement)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statementHash(structuredClone(statement))).toBe(statementHash(statement));
    // Somchai's other device, certified by the same account key, signs for him too.
    expect(bySomchai(signed(somchaiPhone, add), somchaiPhone.certificate)).toBe('accepted');
  });

  const create: RoomChange = {
    op: 'create',
    title: 'JIT Mekong',
    caseReference: 'JIT-2026-014',
    members: [
      { contactPointId: 'th-oag.somchai', role: 'admin' },
      { contactPointId: 'vn-spp.lan', role: 'member' },
    ],
  };
  const rename: RoomChange = { op: 'rename', title: 'JIT Mekong', caseReference: 'JIT-2026-014' };
  /** One field changed after signing, the signature kept: what was signed (its change, its parents) and the edit. */
  const tamperings: [string, { change: RoomChange; parents?: string[] }, (s: RoomStatement) => RoomStatement][] = [];
  const tamper = (what: string, change: RoomChange, edit: (s: RoomStatement) => RoomStatement, parents?: string[]) => {
    tamperings.push([what, { change, ...(parents && { parents }) }, edit]);
  };
  tamper('another room', add, (s) => ({ ...s, roomId: OTHER_ROOM }));
  tamper('a parent added', add, (s) => ({ ...s, parents: [...s.parents, HASH_B.replace('7', '8')] }));
  tamper('a parent left out', add, (s) => ({ ...s, parents: s.parents.slice(1) }));
  tamper('the parents reordered', add, (s) => ({ ...s, parents: [...s.parents].reverse() }));
  tamper('a parent replaced', add, (s) => ({ ...s, parents: [HASH_A.replace('b', 'c'), HASH_B] }));
  tamper('a millisecond later', add, (s) => ({ ...s, createdAt: s.createdAt + 1 }));
  tamper('an hour later', add, (s) => ({ ...s, createdAt: s.createdAt + 3_600_000 }));
  tamper('another contact point added', add, (s) => ({ ...s, change: { ...add, contactPointId: 'la-opp.noy' } }));
  tamper('added as an admin', add, (s) => ({ ...s, change: { ...add, role: 'admin' } }));
  tamper('an add made a role change', add, (s) => ({ ...s, change: { ...add, op: 'set-role' } }));
  tamper('a removal made a leave', { op: 'remove', contactPointId: 'vn-spp.lan' }, (s) => ({
    ...s,
    change: { op: 'leave' },
  }));
  tamper('another title', rename, (s) => ({ ...s, change: { ...rename, title: 'JIT Mekong (closed)' } }));
  tamper('the case reference left out', rename, (s) => ({ ...s, change: { op: 'rename', title: 'JIT Mekong' } }));
  tamper('a case reference added', { op: 'rename', title: 'JIT Mekong' }, (s) => ({ ...s, change: rename }));
  tamper(
    'a member added to the create',
    create,
    (s) => ({
      ...s,
      change: {
        ...create,
        members: [...(create.op === 'create' ? create.members : []), { contactPointId: 'kh-moj.dara', role: 'member' }],
      },
    }),
    [],
  );
  tamper(
    'the create members reordered',
    create,
    (s) => ({ ...s, change: { ...create, members: [...(create.op === 'create' ? create.members : [])].reverse() } }),
    [],
  );
  tamper(
    'a member of the create made an admin',
    create,
    (s) => ({
      ...s,
      change: {
        ...create,
        members: (create.op === 'create' ? create.members : []).map((m) => ({ ...m, role: 'admin' as const })),
      },
    }),
    [],
  );
  tamper('the signature altered by one bit', add, (s) => {
    const bytes = Buffer.from(s.signature, 'base64url');
    bytes[10] = (bytes[10] as number) ^ 1;
    return { ...s, signature: bytes.toString('base64url') };
  });

  it.each(tamperings)('%s: BAD_SIGNATURE, under another hash', (_, { change, parents }, edit) => {
    const statement = signed(somchai, change, parents);
    expect(bySomchai(statement)).toBe('accepted');
    const altered = edit(structuredClone(statement));
    expect(bySomchai(altered)).toBe('BAD_SIGNATURE');
    expect(statementHash(altered)).not.toBe(statementHash(statement));
  });

  it('any field changed at random: refused, under another hash (property)', () => {
    const slug = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,20}[a-z0-9]$/);
    const change: fc.Arbitrary<RoomChange> = fc.oneof(
      fc.record({
        op: fc.constant('add' as const),
        contactPointId: slug,
        role: fc.constantFrom('admin' as const, 'member' as const),
      }),
      fc.record({ op: fc.constant('remove' as const), contactPointId: slug }),
      fc.record({
        op: fc.constant('set-role' as const),
        contactPointId: slug,
        role: fc.constantFrom('admin' as const, 'member' as const),
      }),
      fc.record({ op: fc.constant('rename' as const), title: fc.string({ minLength: 1, maxLength: 30 }) }),
      fc.constant({ op: 'leave' as const }),
    );
    const edit = fc.oneof(
      fc.record({ field: fc.constant('roomId' as const), value: fc.uuid() }),
      fc.record({ field: fc.constant('createdAt' as const), value: fc.integer({ min: -50_000, max: 50_000 }) }),
      fc.record({ field: fc.constant('parents' as const), value: fc.nat({ max: 2 }) }),
      fc.record({ field: fc.constant('change' as const), value: change }),
      fc.record({ field: fc.constant('author' as const), value: slug }),
      fc.record({ field: fc.constant('signature' as const), value: fc.tuple(fc.nat({ max: 63 }), fc.nat({ max: 7 })) }),
    );
    fc.assert(
      fc.property(change, edit, (original, e) => {
        const statement = signed(somchai, original);
        let altered: RoomStatement;
        switch (e.field) {
          case 'roomId':
            altered = { ...statement, roomId: e.value };
            break;
          case 'createdAt':
            altered = { ...statement, createdAt: statement.createdAt + e.value };
            break;
          case 'parents':
            altered = {
              ...statement,
              parents: [[HASH_A], [HASH_B, HASH_A], [HASH_A, HASH_B, HASH_A.replace('b', 'x')]][e.value] as string[],
            };
            break;
          case 'change':
            altered = { ...statement, change: e.value };
            break;
          case 'author':
            altered = { ...statement, author: e.value };
            break;
          case 'signature': {
            const bytes = Buffer.from(statement.signature, 'base64url');
            const [at, bit] = e.value;
            bytes[at] = (bytes[at] as number) ^ (1 << bit);
            altered = { ...statement, signature: bytes.toString('base64url') };
            break;
          }
        }
        fc.pre(JSON.stringify(altered) !== JSON.stringify(statement));
        expect(bySomchai(altered)).toMatch(/^(BAD_SIGNATURE|UNTRUSTED_IDENTITY)$/);
        expect(statementHash(altered)).not.toBe(statementHash(statement));
      }),
      { numRuns: 300 },
    );
  });
});

describe('room statements: who signed', () => {
  it('signed by another device than the one it names (his own other device, or a stranger’s): BAD_SIGNATURE', () => {
    for (const signer of [somchaiPhone, lan]) {
      const body = statementBody(somchai, ROOM, [HASH_A], add, NOW + 60_000);
      expect(bySomchai(signStatement(signer.deviceKeys, body))).toBe('BAD_SIGNATURE');
    }
  });

  it("naming his other device, signed by it, but checked against this device's certificate: UNTRUSTED_IDENTITY", () => {
    expect(bySomchai(signed(somchaiPhone, add), somchai.certificate)).toBe('UNTRUSTED_IDENTITY');
  });

  it('another contact point named as the author: UNTRUSTED_IDENTITY', () => {
    // Lan's own device signs, naming Somchai as the author: the certificate is Lan's.
    const statement = signStatement(lan.deviceKeys, {
      ...statementBody(lan, ROOM, [HASH_A], add, NOW + 60_000),
      author: somchai.id,
    });
    expect(outcome(statement, lan.certificate, somchai.accountKeys)).toBe('UNTRUSTED_IDENTITY');
    expect(outcome(statement, lan.certificate, lan.accountKeys)).toBe('UNTRUSTED_IDENTITY');
  });

  it("a certificate for the author's name, signed by another account key than the author's: BAD_SIGNATURE", () => {
    // Lan certifies her own device key as Somchai's, and signs as Somchai with it.
    const borrowed = certifyDevice(lan.accountKeys, {
      contactPointId: somchai.id,
      deviceId: lan.certificate.deviceId,
      deviceName: 'Office laptop',
      ...valid,
    });
    const statement = signStatement(
      lan.deviceKeys,
      statementBody({ ...lan, id: somchai.id, certificate: borrowed }, ROOM, [HASH_A], add, NOW + 60_000),
    );
    expect(bySomchai(statement, borrowed)).toBe('BAD_SIGNATURE');
    // Checked against the key the certificate was signed with, it would pass: the account key is what counts.
    expect(outcome(statement, borrowed, lan.accountKeys)).toBe('accepted');
  });

  it('his genuine certificate, altered (a longer validity, another name): BAD_SIGNATURE', () => {
    const statement = signed(somchai, add);
    for (const altered of [
      { ...somchai.certificate, notAfter: somchai.certificate.notAfter + 1 },
      { ...somchai.certificate, deviceName: 'Phone' },
    ])
      expect(bySomchai(statement, altered)).toBe('BAD_SIGNATURE');
  });
});

describe("room statements: signed within the device certificate's validity", () => {
  const { notBefore, notAfter } = valid;
  it.each([
    ['at the last millisecond of the certificate', 'accepted', notAfter - 1],
    ['when the certificate ended', 'EXPIRED', notAfter],
    ['a year after the certificate ended', 'EXPIRED', notAfter + 365 * 86_400_000],
    ['before the certificate, within the clock skew allowed', 'accepted', notBefore - LIMITS.maxClockSkewMs],
    ['before the certificate, beyond the clock skew allowed', 'NOT_YET_VALID', notBefore - LIMITS.maxClockSkewMs - 1],
    ['long before the certificate', 'NOT_YET_VALID', 0],
  ])('signed %s: %s', (_, expected, createdAt) => {
    expect(bySomchai(signed(somchai, add, [HASH_A], createdAt))).toBe(expected);
  });
});
