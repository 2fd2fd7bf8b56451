import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Relay, type RelayConfig, relayConfig, startRelay } from '@liaison/server';
import { freshPostgresDatabase, type TestDatabase } from './databases.js';
import { describeWith, postgresService, type Service } from './services.js';

export type Backend = 'pglite' | 'postgres';

/** Every table of the relay's schema, for tests that inspect all stored data. */
export const RELAY_TABLES = [
  'contact_points',
  'devices',
  'signed_prekeys',
  'one_time_prekeys',
  'one_time_kem_prekeys',
  'last_resort_kem_prekeys',
  'messages',
  'message_recipients',
  'envelopes',
  'receipts',
  'revocations',
  'urgent_messages',
  'urgent_levels',
  'webhooks',
  'webhook_alerts',
  'blobs',
  'blob_readers',
  'blob_chunks',
  'relay_keys',
  'foreign_contact_points',
  'foreign_devices',
  'federation_outbox',
  'federation_peers',
  'federation_receipts_seen',
  'foreign_urgent_states',
  'message_forwards',
  'federation_nonces',
] as const;

/**
 * The suite once per backend, as describe.each would (`%s` in the title is the backend): PGlite
 * always; PostgreSQL when the test service is there (required in CI), and otherwise registered as
 * skipped with the reason, so that a run without it reports every test it did not run.
 */
export function describeEachBackend(title: string, body: (backend: Backend) => void): void {
  describeEachBackendWith([], title, body);
}

/** describeEachBackend for a suite that needs other services too (Redis), in both variants. */
export function describeEachBackendWith(needs: Service[], title: string, body: (backend: Backend) => void): void {
  describeWith(needs, title.replace('%s', 'pglite'), () => body('pglite'));
  describeWith([postgresService, ...needs], title.replace('%s', 'postgres'), () => body('postgres'));
}

export interface TestRelay {
  relay: Relay;
  url: string;
  /** The clock the relay reads; tests move it. */
  clock: { now: number };
  /** PGlite's data folder when the relay was started persistent. */
  dataDir: string | undefined;
  /** Stops the relay process state and starts it again on the same database and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * An in-process relay on a free loopback port, on a database of its own: a fresh PostgreSQL
 * database, or PGlite in memory (or in a temporary folder with `persistent`, to survive restarts).
 */
export async function startTestRelay(
  backend: Backend,
  overrides: Partial<RelayConfig> = {},
  options: { persistent?: boolean } = {},
): Promise<TestRelay> {
  const clock = { now: Date.now() };
  let database: TestDatabase | undefined;
  if (backend === 'postgres') database = await freshPostgresDatabase();
  const dataDir =
    backend === 'pglite' && options.persistent ? await mkdtemp(join(tmpdir(), 'liaison-pglite-')) : undefined;
  const config = relayConfig({
    database: database?.url ? { kind: 'postgres', url: database.url } : { kind: 'pglite', dataDir },
    now: () => clock.now,
    sweepIntervalMs: 3_600_000,
    ...overrides,
  });
  const handle: TestRelay = {
    relay: await startRelay(config),
    url: '',
    clock,
    dataDir,
    async restart() {
      await handle.relay.stop();
      handle.relay = await startRelay({ ...config, port: handle.relay.port });
    },
    async stop() {
      await handle.relay.stop();
      await database?.drop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  handle.url = handle.relay.url;
  return handle;
}
