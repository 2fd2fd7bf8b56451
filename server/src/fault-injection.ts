import { writeSync } from 'node:fs';

/**
 * Where a node may be made to die, for the fault tests only: `commit`, right after the commit of a
 * batch of sends (before any sender is answered or anyone told); `notice`, after its senders were
 * answered and before the batch's envelopes are pushed or other nodes told.
 */
export interface CrashPlan {
  point: 'commit' | 'notice';
  /** The batch of normal sends, counted from 1 among those that stored something on this node. */
  batch: number;
}

/**
 * A fault-injection switch used only by tests (LIAISON_FAULT_CRASH, refused with
 * NODE_ENV=production; off by default): the process kills itself with SIGKILL at a planned point
 * of a planned batch, as a crash would, with no cleanup. A window of a few microseconds between a
 * commit and what follows it is then hit every time, in a real process.
 */
export class CrashSwitch {
  private batches = 0;

  constructor(private readonly plan: CrashPlan | undefined) {}

  /** A batch was committed: its number, after dying here if that is the plan. */
  committed(): number {
    const batch = ++this.batches;
    this.reached('commit', batch);
    return batch;
  }

  /** The batch's senders were answered; its envelopes are about to be pushed and announced. */
  noticing(batch: number): void {
    this.reached('notice', batch);
  }

  private reached(point: CrashPlan['point'], batch: number): void {
    if (this.plan?.point !== point || this.plan.batch !== batch) return;
    // Written synchronously, so that the test can tell this death from any other.
    writeSync(2, `${JSON.stringify({ event: 'fault.crash', point, batch })}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}

/** Reads LIAISON_FAULT_CRASH (`commit:N` or `notice:N`); refused where the relay runs for real. */
export function crashPlanFromEnv(env: NodeJS.ProcessEnv): CrashPlan | undefined {
  const value = env.LIAISON_FAULT_CRASH;
  if (!value) return undefined;
  if (env.NODE_ENV === 'production') {
    throw new Error('LIAISON_FAULT_CRASH is a fault-injection switch for tests; refused with NODE_ENV=production');
  }
  const match = /^(commit|notice):([1-9]\d*)$/.exec(value);
  if (!match) throw new Error('LIAISON_FAULT_CRASH must be commit:N or notice:N (N from 1)');
  return { point: match[1] as CrashPlan['point'], batch: Number(match[2]) };
}
