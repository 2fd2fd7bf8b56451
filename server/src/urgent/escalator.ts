import type { RelayDeps } from '../relay-deps.js';
import { runDueEscalations } from '../storage/urgent.js';
import { publishUrgent } from './publish.js';

/** Due steps taken in one transaction; a backlog is worked through in passes of this size. */
const BATCH = 500;

/**
 * Runs every escalation step that is due. Every node runs this on a poll; the database hands each
 * due step to one of them (see runDueEscalations), so a node lost or restarted delays steps by at
 * most one poll on the others, or on itself when it is back, and never drops or doubles them.
 */
export async function runEscalations(deps: RelayDeps): Promise<void> {
  const { db, config, metrics, hub } = deps;
  for (;;) {
    const pass = await runDueEscalations(db, config.now(), BATCH);
    if (pass.changed.length === 0) return;
    metrics.escalationSteps.inc(pass.changed.length);
    for (const ms of pass.lateness) metrics.escalationLateness.observe(ms / 1000);
    hub.envelopesStored(pass.releasedDevices);
    await publishUrgent(deps, pass.changed);
    if (pass.changed.length < BATCH) return;
  }
}
