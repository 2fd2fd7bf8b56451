import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { RelayError } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * The embedded PGlite behind Kysely (kysely-pglite-dialect calls only `query` and `close`),
 * replaced by a new instance on the same folder when it dies.
 *
 * PostgreSQL answers an error it cannot undo (a PANIC: a WAL segment that could not be created
 * for lack of space is one) by stopping the server. In PGlite 0.4 the PANIC is answered once; the
 * next query then spins forever in PGlite's protocol loop (`execProtocolRawSync` swallows the
 * exit of the WASM instance and tries again), holding the event loop at 100% CPU: /healthz no
 * longer answers, and nothing recovers without a restart. So after a PANIC this instance is never
 * called again; queries fail with UNAVAILABLE until `reopen()` starts a new instance on the same
 * folder, which recovers everything committed from the WAL (measured: 0.4 s). The dead instance
 * cannot be closed (closing is a query) and is left to the garbage collector.
 */
export class ReplaceablePglite {
  private instance: PGlite;
  private dead = false;

  constructor(
    private readonly options: PGliteOptions,
    private readonly log: Logger,
  ) {
    this.instance = new PGlite(options);
  }

  /** The instance met a PANIC: call `reopen()` when the cause is gone (with no connection held). */
  get lost(): boolean {
    return this.dead;
  }

  async query<T>(sql: string, params?: unknown[]) {
    if (this.dead) throw new RelayError('UNAVAILABLE', 'the embedded database is restarting');
    try {
      return await this.instance.query<T>(sql, params);
    } catch (error) {
      if ((error as { severity?: unknown }).severity === 'PANIC') {
        this.dead = true;
        this.log.error(
          { event: 'database.lost', err: (error as Error).message },
          'embedded database stopped (PANIC); restarting it once its disk has space',
        );
      }
      throw error;
    }
  }

  async reopen(): Promise<void> {
    const next = new PGlite(this.options);
    await next.waitReady;
    this.instance = next;
    this.dead = false;
  }

  async close(): Promise<void> {
    if (!this.dead) await this.instance.close();
  }
}
