import { failureForLog } from './errors.js';
import type { Logger } from './log.js';

/**
 * Runs a piece of background work now and every `intervalMs`, one run at a time. `runNow()` lets
 * tests run it without waiting for the next tick: it runs after the run in progress, so it sees
 * what was made due before the call. A tick while a run is under way is skipped.
 */
export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(
    private readonly name: string,
    private readonly intervalMs: number,
    private readonly work: () => Promise<void>,
    private readonly track: <T>(work: Promise<T>) => Promise<T>,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.tick();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  runNow(): Promise<void> {
    this.queued++;
    const run = this.tail.then(() => this.work()).finally(() => this.queued--);
    this.tail = run.catch(() => undefined);
    return this.track(run);
  }

  /** Runs it soon, unless a run is already waiting to start: new work joins that run. */
  wake(): void {
    if (this.queued > 1) return;
    this.tick(true);
  }

  private tick(force = false): void {
    if (this.queued > 0 && !force) return;
    void this.runNow().catch((error) =>
      this.log.error({ event: `${this.name}.error`, err: failureForLog(error) }, `${this.name} failed`),
    );
  }
}
