import { LIMITS, type RoomChange, type RoomRole, type RoomStatement } from '@liaison/protocol';

/** A statement whose signature and author were verified, under its hash. */
export interface KnownStatement {
  hash: string;
  statement: RoomStatement;
}

/** What a statement did once the history was folded: `void` when its author had no right to it then. */
export interface AppliedStatement extends KnownStatement {
  effective: boolean;
  /** Its author had the right to it in the room as it saw it (a statement that did not is refused). */
  entitled: boolean;
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
 * received them in (docs/rooms.md, "Membership"):
 *
 * 1. A statement counts only if its author had the right to it in the room as its author saw it:
 *    the fold of its own ancestors (an admin for adding, removing, changing a role, renaming; a
 *    member for leaving). Naming old parents gains nothing: see 3.
 * 2. Statements are applied in order of depth (the longest path from the `create`), then of hash;
 *    an add, a role change that is not a demotion, and a rename also need their author to be an
 *    admin at their turn.
 * 3. Removal wins. A removal, a leave or a demotion that counts takes effect. Every other statement
 *    by the contact point it takes the right from is void unless it came after it (descends from
 *    it): an admin removed cannot act again by naming statements from before its removal. An add
 *    is void when a removal of the same contact point that the adder had not seen takes effect.
 *    Two admins who remove each other at once are both removed.
 */
export function foldMembership(history: readonly KnownStatement[]): Membership {
  return new Fold(history).state();
}

/** One fold: the graph's depths and ancestors, and the state as each statement's author saw it. */
class Fold {
  private readonly byHash: Map<string, KnownStatement>;
  private readonly depth = new Map<string, number>();
  private readonly ancestors = new Map<string, Set<string>>();
  private readonly seen = new Map<string, Membership>();
  private readonly root: KnownStatement;

  constructor(private readonly history: readonly KnownStatement[]) {
    this.byHash = new Map(history.map((s) => [s.hash, s]));
    const roots = history.filter((s) => s.statement.change.op === 'create');
    const root = roots[0];
    if (roots.length !== 1 || !root || root.statement.change.op !== 'create') {
      throw new RangeError('a room history has exactly one create');
    }
    if (!root.statement.change.members.some((m) => m.contactPointId === root.statement.author && m.role === 'admin')) {
      throw new RangeError('a room is created by one of its admins');
    }
    this.root = root;
    for (const s of history) this.visit(s);
  }

  state(): Membership {
    return this.foldOf(this.history);
  }

  private visit(s: KnownStatement): void {
    if (this.depth.has(s.hash)) return;
    let d = 0;
    const above = new Set<string>();
    for (const parentHash of s.statement.parents) {
      const parent = this.byHash.get(parentHash);
      if (!parent) throw new RangeError(`statement ${s.hash} names a missing parent`);
      this.visit(parent);
      d = Math.max(d, (this.depth.get(parentHash) ?? 0) + 1);
      above.add(parentHash);
      for (const a of this.ancestors.get(parentHash) ?? []) above.add(a);
    }
    this.depth.set(s.hash, d);
    this.ancestors.set(s.hash, above);
  }

  /** The room as the author of `s` saw it when signing: the fold of its ancestors. */
  private seenBy(s: KnownStatement): Membership {
    let state = this.seen.get(s.hash);
    if (!state) {
      const above = this.ancestors.get(s.hash) ?? new Set();
      state = this.foldOf(this.history.filter((t) => above.has(t.hash)));
      this.seen.set(s.hash, state);
    }
    return state;
  }

  /** Whether the author of `s` had the right to it in the room as it saw it. */
  private entitled(s: KnownStatement): boolean {
    if (s === this.root) return true;
    const role = this.seenBy(s).members.get(s.statement.author);
    return s.statement.change.op === 'leave' ? role !== undefined : role === 'admin';
  }

  /** Neither descends from the other. */
  private concurrent(a: KnownStatement, b: KnownStatement): boolean {
    return !this.ancestors.get(a.hash)?.has(b.hash) && !this.ancestors.get(b.hash)?.has(a.hash) && a !== b;
  }

  private foldOf(statements: readonly KnownStatement[]): Membership {
    const order = [...statements].sort(
      (a, b) =>
        (this.depth.get(a.hash) ?? 0) - (this.depth.get(b.hash) ?? 0) ||
        (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0),
    );
    const create = this.root.statement.change as Extract<RoomChange, { op: 'create' }>;
    const state: Membership = {
      roomId: this.root.statement.roomId,
      title: create.title,
      ...(create.caseReference !== undefined && { caseReference: create.caseReference }),
      members: new Map(),
      createdBy: this.root.statement.author,
      createdAt: this.root.statement.createdAt,
      heads: [],
      applied: [],
    };
    // The withdrawals that count: who loses a right, by which statement.
    const withdrawals = order
      .filter((s) => s !== this.root && withdrawn(s.statement) !== undefined && this.entitled(s))
      .map((s) => ({
        statement: s,
        target: withdrawn(s.statement) as string,
        removal: s.statement.change.op !== 'set-role',
      }));
    for (const s of order) {
      let effective: boolean;
      if (s === this.root) {
        for (const m of create.members) state.members.set(m.contactPointId, m.role);
        effective = true;
      } else if (withdrawals.some((w) => w.statement === s)) {
        effective = withdraw(state, s.statement);
      } else {
        const author = s.statement.author;
        effective =
          this.entitled(s) &&
          state.members.get(author) === 'admin' &&
          !withdrawals.some((w) => w.target === author && this.concurrent(w.statement, s)) &&
          grant(state, s.statement, (target) =>
            withdrawals.some((w) => w.removal && w.target === target && this.concurrent(w.statement, s)),
          );
      }
      state.applied.push({ ...s, effective, entitled: this.entitled(s) });
    }
    const named = new Set(statements.flatMap((s) => s.statement.parents));
    state.heads = statements
      .filter((s) => !named.has(s.hash))
      .sort(
        (a, b) =>
          (this.depth.get(b.hash) ?? 0) - (this.depth.get(a.hash) ?? 0) ||
          (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0),
      )
      .slice(0, LIMITS.maxRoomHeads)
      .map((s) => s.hash)
      .sort();
    return state;
  }
}

/** The contact point a statement takes a right from (removed, left, or demoted), if it does. */
function withdrawn(statement: RoomStatement): string | undefined {
  const change = statement.change;
  if (change.op === 'remove') return change.contactPointId;
  if (change.op === 'leave') return statement.author;
  if (change.op === 'set-role' && change.role === 'member') return change.contactPointId;
  return undefined;
}

function withdraw(state: Membership, statement: RoomStatement): boolean {
  const change = statement.change;
  const target = withdrawn(statement) as string;
  if (!state.members.has(target)) return false;
  if (change.op === 'set-role') state.members.set(target, 'member');
  else state.members.delete(target);
  return true;
}

/** Adds, promotes or renames; `removedUnseen` says whether a removal the author had not seen takes the target out. */
function grant(state: Membership, statement: RoomStatement, removedUnseen: (target: string) => boolean): boolean {
  const change = statement.change;
  switch (change.op) {
    case 'add':
      if (state.members.has(change.contactPointId) || removedUnseen(change.contactPointId)) return false;
      if (state.members.size >= LIMITS.maxRoomMembers) return false;
      state.members.set(change.contactPointId, change.role);
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
    default:
      return false;
  }
}
