import { type Relay, type RelayConfig, relayConfig, startRelay } from '@liaison/server';
import { freshPostgresDatabase, type TestDatabase } from './databases.js';
import { postgresService } from './services.js';

export type Backend = 'pglite' | 'postgres';

/** PGlite always; PostgreSQL when the test service is there (required in CI). */
export const BACKENDS: Backend[] = postgresService.url ? ['pglite', 'postgres'] : ['pglite'];

export interface TestRelay {
  relay: Relay;
  url: string;
  /** The clock the relay reads; tests move it. */
  clock: { now: number };
  stop(): Promise<void>;
}

/** An in-process relay on a free loopback port, on a database of its own. */
export async function startTestRelay(backend: Backend, overrides: Partial<RelayConfig> = {}): Promise<TestRelay> {
  const clock = { now: Date.now() };
  let database: TestDatabase | undefined;
  if (backend === 'postgres') database = await freshPostgresDatabase();
  const relay = await startRelay(
    relayConfig({
      database: database?.url ? { kind: 'postgres', url: database.url } : { kind: 'pglite', dataDir: undefined },
      now: () => clock.now,
      sweepIntervalMs: 3_600_000,
      ...overrides,
    }),
  );
  return {
    relay,
    url: relay.url,
    clock,
    async stop() {
      await relay.stop();
      await database?.drop();
    },
  };
}
