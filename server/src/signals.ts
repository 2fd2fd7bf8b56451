import type { Logger } from './log.js';
import type { Relay } from './relay.js';

/** Docker and Kubernetes kill 10 s (by default) after SIGTERM; give up before, saying why. */
export const STOP_DEADLINE_MS = 8000;

/**
 * SIGTERM or SIGINT stops the relay gracefully and the process exits 0, whoever sent it: Docker,
 * systemd, npm (which passes both on to the relay, run by `exec`), or a terminal. The handlers stay
 * installed: Ctrl-C reaches npm and the relay alike and npm forwards it again, and a repeat must not
 * fall through to Node's default, which exits at once. A stop that outlasts the deadline (a database
 * that stopped answering) exits 1; what was acknowledged was committed before, so nothing is lost.
 */
export function stopOnSignals(relay: Promise<Relay>, log: Logger, deadlineMs = STOP_DEADLINE_MS): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'relay.stopping', signal }, `${signal}: stopping`);
    setTimeout(() => {
      log.error({ event: 'relay.stop-timeout', deadlineMs }, 'the relay did not stop in time; exiting');
      process.exit(1);
    }, deadlineMs).unref();
    relay
      .then((r) => r.stop())
      .then(
        () => process.exit(0),
        (error) => {
          log.error({ event: 'relay.stop-error', err: (error as Error)?.message }, 'the relay failed to stop');
          process.exit(1);
        },
      );
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, stop);
}
