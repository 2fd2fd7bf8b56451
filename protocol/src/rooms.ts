import { z } from 'zod';
import { DeviceCertificate } from './certificates.js';
import { LIMITS } from './limits.js';
import {
  ContactPointId,
  DeviceId,
  Ed25519Signature,
  fixedBytes,
  Timestamp,
  text,
  Uuid,
  uniqueList,
} from './primitives.js';

/**
 * Case rooms: what travels inside the ciphertext between SDKs, never seen by the relay. A room's
 * membership is a history of signed statements, each naming by hash the statements its author had
 * applied (a DAG with one root, the `create`); every member's SDK folds the same history into the
 * same members (docs/rooms.md).
 */

export const ROOM_ROLES = ['admin', 'member'] as const;
export const RoomRole = z.enum(ROOM_ROLES);
export type RoomRole = z.infer<typeof RoomRole>;

/** Made by the creating SDK at random. */
export const RoomId = Uuid;

/** SHA-256 of a statement's canonical encoding followed by its signature. */
export const StatementHash = fixedBytes(32);

export const RoomTitle = text(200);
/** The case or request number the room is about, as the creating authority writes it. */
export const CaseReference = text(100);

export const RoomMember = z.strictObject({ contactPointId: ContactPointId, role: RoomRole });
export type RoomMember = z.infer<typeof RoomMember>;

export const RoomChange = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('create'),
    title: RoomTitle,
    caseReference: CaseReference.optional(),
    /** Every member, the author among them as an admin. */
    members: z
      .array(RoomMember)
      .min(2)
      .max(LIMITS.maxRoomMembers)
      .refine((m) => new Set(m.map((x) => x.contactPointId)).size === m.length, 'each contact point once'),
  }),
  z.strictObject({ op: z.literal('add'), contactPointId: ContactPointId, role: RoomRole }),
  z.strictObject({ op: z.literal('remove'), contactPointId: ContactPointId }),
  z.strictObject({ op: z.literal('set-role'), contactPointId: ContactPointId, role: RoomRole }),
  z.strictObject({ op: z.literal('rename'), title: RoomTitle, caseReference: CaseReference.optional() }),
  z.strictObject({ op: z.literal('leave') }),
]);
export type RoomChange = z.infer<typeof RoomChange>;

/**
 * One change of a room, signed by the identity key of the author's device (whose certificate,
 * signed by the author's account key, travels beside it): the relay can neither make one nor
 * alter one. `parents` are the hashes of the statements the author's SDK had as the latest of the
 * history (its heads); empty only for the `create`.
 */
export const RoomStatement = z
  .strictObject({
    roomId: RoomId,
    parents: uniqueList(StatementHash, LIMITS.maxRoomHeads),
    author: ContactPointId,
    authorDevice: DeviceId,
    change: RoomChange,
    createdAt: Timestamp,
    signature: Ed25519Signature,
  })
  .refine((s) => (s.change.op === 'create') === (s.parents.length === 0), {
    message: 'a room starts with its create, which alone names no parent',
    path: ['parents'],
  });
export type RoomStatement = z.infer<typeof RoomStatement>;
export type UnsignedRoomStatement = Omit<RoomStatement, 'signature'>;

/**
 * What a room message carries beside its text. `heads`: the latest statements the sender's SDK
 * had applied, so that a member who lacks one knows it missed a change.
 *
 * - `message`: something a person wrote, for every member;
 * - `change`: new statements (the text is empty);
 * - `history`: every statement, for a new member, a member's new device, or one that missed some;
 * - `history-request`: asks the receiving member for the history (the text is empty; no heads
 *   when the asking device has none of it).
 */
export const ROOM_MESSAGE_KINDS = ['message', 'change', 'history', 'history-request'] as const;
export const RoomMessageKind = z.enum(ROOM_MESSAGE_KINDS);
export type RoomMessageKind = z.infer<typeof RoomMessageKind>;

export const RoomContent = z
  .strictObject({
    roomId: RoomId,
    kind: RoomMessageKind,
    heads: uniqueList(StatementHash, LIMITS.maxRoomHeads),
    statements: z.array(RoomStatement).min(1).max(LIMITS.maxRoomStatements).optional(),
    /** The device certificates that signed `statements`, each once. */
    certificates: z.array(DeviceCertificate).min(1).max(LIMITS.maxRoomStatements).optional(),
  })
  .refine((r) => r.heads.length > 0 || r.kind === 'history-request', {
    message: 'a room message names the latest changes its sender had (only a device with none asks for them)',
    path: ['heads'],
  })
  .refine((r) => (r.kind === 'change' || r.kind === 'history') === (r.statements !== undefined), {
    message: 'statements travel in changes and histories, and only there',
    path: ['statements'],
  })
  .refine((r) => (r.statements === undefined) === (r.certificates === undefined), {
    message: 'statements travel with the certificates of their authors, and only with them',
    path: ['certificates'],
  })
  .refine((r) => (r.statements ?? []).every((s) => s.roomId === r.roomId), {
    message: "every statement is this room's",
    path: ['statements'],
  });
export type RoomContent = z.infer<typeof RoomContent>;
