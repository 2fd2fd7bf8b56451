import type { RelayDeps } from '../relay-deps.js';
import { hmacSha256Hex } from '../sodium.js';
import { type AttemptOutcome, claimDueAlerts, type DueAlert, recordAttempt } from '../storage/webhooks.js';

const BATCH = 20;
/** How long a claimed alert is left to the node that claimed it before another may try it. */
const LEASE_MS = 30_000;
const TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 3600_000;

/**
 * Sends the webhook alerts that are due, each signed with its authority's secret, and writes every
 * attempt into the delivery log. A failing webhook only delays its own alerts: escalation never
 * waits for it.
 */
export async function sendWebhookAlerts(deps: RelayDeps): Promise<void> {
  for (;;) {
    const due = await claimDueAlerts(deps.db, deps.config.now(), BATCH, LEASE_MS);
    if (due.length === 0) return;
    await Promise.all(
      due.map(async (item) => {
        const outcome = await attempt(deps, item);
        deps.metrics.webhookAttempts.inc({ outcome: outcome.outcome });
        await recordAttempt(deps.db, item.alert.alertId, outcome, deps.config.now());
      }),
    );
    if (due.length < BATCH) return;
  }
}

async function attempt(deps: RelayDeps, { alert, url, secret, attempts }: DueAlert): Promise<AttemptOutcome> {
  const body = JSON.stringify(alert);
  const t = deps.config.now();
  let result: string;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'liaison-alert-id': String(alert.alertId),
        'liaison-signature': `t=${t},v1=${hmacSha256Hex(secret, `${t}.${body}`)}`,
      },
      body,
      // A webhook answers; it does not send the relay elsewhere.
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.ok) return { outcome: 'delivered', result: String(response.status) };
    result = String(response.status);
  } catch (error) {
    result = (error as Error)?.name === 'TimeoutError' ? 'timeout' : 'network error';
  }
  if (attempts >= deps.config.webhookMaxAttempts) return { outcome: 'failed', result };
  return {
    outcome: 'retry',
    result,
    nextAttemptAt: deps.config.now() + Math.min(1000 * 2 ** (attempts - 1), MAX_BACKOFF_MS),
  };
}
