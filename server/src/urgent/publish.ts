import type { RelayDeps } from '../relay-deps.js';
import { urgentStates } from '../storage/urgent.js';

/**
 * Tells everyone an urgent message concerns of its new state: every device of the sender's
 * contact point and of each contact point it has reached. Metadata only.
 */
export async function publishUrgent(deps: Pick<RelayDeps, 'db' | 'hub'>, messageIds: readonly string[]): Promise<void> {
  for (const state of await urgentStates(deps.db, messageIds)) {
    const reached = state.levels.filter((l) => l.releasedAt !== undefined).map((l) => l.contactPointId);
    deps.hub.urgent([state.senderContactPoint, ...reached], state);
  }
}
