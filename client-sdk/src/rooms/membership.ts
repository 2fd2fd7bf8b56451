import { LIMITS, type RoomChange, type RoomRole, type RoomStatement } from '@liaison/protocol';

/** A statement whose signature and author were verified, under its hash. */
export interface KnownStatement {
  hash: string;
  statement: RoomStatement;
}

/** What a statement did once the history was folded: `void` when its author had no right to it then. */
export interface AppliedStatement extends KnownStatement {
  effective: boolean;
}

/** A room's state: what every member's SDK computes from the same statements. */
export interface Membership {
  roomId: string;
  title: string;
  caseReference?: string;
  /** In the order they joined. */
  members: Map<string, RoomRole>;
  createdBy: string;
  createdAt: number;
  /** Statements no other statement names: what the next change or message names as its parents. */
  heads: string[];
  /** Every statement in the order it was applied. */
  applied: AppliedStatement[];
}

/**
 * Folds a complete history (one `create`, every parent present) into the room's state. The rule,
 * the same in every SDK, so that members who hold the same statements agree whatever order they
 * received them in:
 *
 * 1. Statements are applied in order of depth (the longest path from the `create`), then of hash:
 *    a statement always comes after those it names.
 * 2. Each is checked against the state at its turn: adding, removing, changing a role and renaming
 *    take an admin; leaving takes a member; a statement that fails is void (kept, without effect).
 * 3. Removal wins: adding a contact point is void when a removal of it (or its leaving) that the
 *    adder had not seen takes effect, whichever of the two comes first. An admin who adds a member
 *    back after seeing the removal does add them.
 *
 * Two admins who act at once both take effect unless one undoes the other's right first (one
 * removes the other, say): then the one applied first wins, by the order above.
 */
export function foldMembership(history: readonly KnownStatement[]): Membership {
  const byHash = new Map(history.map((s) => [s.hash, s]));
  const roots = history.filter((s) => s.statement.change.op === 'create');
  const root = roots[0];
  if (roots.length !== 1 || !root || root.statement.change.op !== 'create') {
    throw new RangeError('a room history has exactly one create');
  }
  const depth = new Map<string, number>();
  const ancestors = new Map<string, Set<string>>();
  const visit = (s: KnownStatement): void => {
    if (depth.has(s.hash)) return;
    let d = 0;
    const above = new Set<string>();
    for (const parentHash of s.statement.parents) {
      const parent = byHash.get(parentHash);
      if (!parent) throw new RangeError(`statement ${s.hash} names a missing parent`);
      visit(parent);
      d = Math.max(d, (depth.get(parentHash) ?? 0) + 1);
      above.add(parentHash);
      for (const a of ancestors.get(parentHash) ?? []) above.add(a);
    }
    depth.set(s.hash, d);
    ancestors.set(s.hash, above);
  };
  for (const s of history) visit(s);
  const order = [...history].sort(
    (a, b) => (depth.get(a.hash) ?? 0) - (depth.get(b.hash) ?? 0) || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0),
  );

  const create = root.statement.change;
  const state: Membership = {
    roomId: root.statement.roomId,
    title: create.title,
    ...(create.caseReference !== undefined && { caseReference: create.caseReference }),
    members: new Map(create.members.map((m) => [m.contactPointId, m.role])),
    createdBy: root.statement.author,
    createdAt: root.statement.createdAt,
    heads: [],
    applied: [],
  };
  const creatorIsAdmin = state.members.get(root.statement.author) === 'admin';
  if (!creatorIsAdmin) throw new RangeError('a room is created by one of its admins');
  const removals: { target: string; hash: string }[] = [];
  for (const s of order) {
    const effective = s === root || apply(state, s, removals, ancestors.get(s.hash) ?? new Set());
    state.applied.push({ ...s, effective });
  }
  const named = new Set(history.flatMap((s) => s.statement.parents));
  state.heads = history
    .map((s) => s.hash)
    .filter((h) => !named.has(h))
    .sort();
  return state;
}

function apply(
  state: Membership,
  { hash, statement }: KnownStatement,
  removals: { target: string; hash: string }[],
  seen: ReadonlySet<string>,
): boolean {
  const change: RoomChange = statement.change;
  const authorRole = state.members.get(statement.author);
  if (change.op === 'leave') {
    if (authorRole === undefined) return false;
    state.members.delete(statement.author);
    removals.push({ target: statement.author, hash });
    return true;
  }
  if (authorRole !== 'admin') return false;
  switch (change.op) {
    case 'create':
      return false;
    case 'add': {
      const removedUnseen = removals.some((r) => r.target === change.contactPointId && !seen.has(r.hash));
      if (state.members.has(change.contactPointId) || removedUnseen) return false;
      if (state.members.size >= LIMITS.maxRoomMembers) return false;
      state.members.set(change.contactPointId, change.role);
      return true;
    }
    case 'remove':
      if (!state.members.delete(change.contactPointId)) return false;
      removals.push({ target: change.contactPointId, hash });
      return true;
    case 'set-role':
      if (!state.members.has(change.contactPointId)) return false;
      state.members.set(change.contactPointId, change.role);
      return true;
    case 'rename':
      state.title = change.title;
      if (change.caseReference === undefined) delete state.caseReference;
      else state.caseReference = change.caseReference;
      return true;
  }
}
