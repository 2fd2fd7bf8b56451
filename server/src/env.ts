import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { decodeBase64url, NetworkManifest, RelayKeyFile, TrustedRoot } from '@liaison/protocol';
import type { z } from 'zod';
import { DEFAULTS, type RelayConfig } from './config.js';
import { crashPlanFromEnv } from './fault-injection.js';
import type { FederationConfig } from './federation/partners.js';
import { SettingError } from './setting-error.js';
import { type Deprecation, type Environment, readSetting, readSettings, SETTINGS } from './settings.js';

/** Where PGlite keeps its data unless told: beside the server's code, wherever the command was started. */
const DEFAULT_DATA_DIR = resolve(import.meta.dirname, '../data/relay');
/** The web package's build output, found from the server's code (src/ or dist/ alike), as the image lays it out too. */
const DEFAULT_WEB_DIR = resolve(import.meta.dirname, '../../web/dist');

export interface EnvConfig {
  config: RelayConfig;
  /** How long a start waits for PostgreSQL to answer (main.ts). */
  databaseWaitMs: number;
  /** Old names that were read or ignored, for the entry point to warn about. */
  deprecations: Deprecation[];
}

/**
 * The relay's configuration from the environment (the variables are declared in settings.ts).
 * Relative paths resolve from `startDir`, the directory the command was started in; network
 * root files are read and checked here, so that a bad one stops the start with its path.
 */
export function configFromEnv(env: Environment, startDir: string): EnvConfig {
  const { values: s, deprecations } = readSettings(env);
  const path = (p: string) => resolve(startDir, p);
  if (s.urgentAckMinSeconds > s.urgentAckMaxSeconds) {
    throw new SettingError(
      SETTINGS.urgentAckMinSeconds.name,
      String(s.urgentAckMinSeconds),
      `at most ${SETTINGS.urgentAckMaxSeconds.name} (${s.urgentAckMaxSeconds})`,
    );
  }
  const dataDir = s.dataDir ? path(s.dataDir) : DEFAULT_DATA_DIR;
  const blobStore = s.blobStore ?? (s.databaseUrl ? 'database' : 'folder');
  const config: RelayConfig = {
    ...DEFAULTS,
    host: s.host,
    port: s.port,
    publicOrigins: s.publicOrigin,
    database: s.databaseUrl ? { kind: 'postgres', url: s.databaseUrl } : { kind: 'pglite', dataDir },
    blobStore:
      blobStore === 'database'
        ? { kind: 'database' }
        : { kind: 'folder', dir: s.blobDir ? path(s.blobDir) : join(dirname(dataDir), 'blobs') },
    maxBlobBytes: s.maxBlobMb * 1024 ** 2,
    blobQuotaBytes: s.blobQuotaMb * 1024 ** 2,
    blobCreationsPerMinute: s.blobCreationsPerMinute,
    blobRetentionMs: s.blobRetentionDays * 86_400_000,
    redisUrl: s.redisUrl,
    metricsToken: s.metricsToken,
    trustedRoots: s.trustedRoots.map((p) => readJsonFile(SETTINGS.trustedRoots.name, path(p), TrustedRoot, ROOT_FILE)),
    federation: federation(s.relayKey && path(s.relayKey), s.networkManifests.map(path)),
    federationPollMs: DEFAULTS.federationPollMs,
    federationTimeoutMs: DEFAULTS.federationTimeoutMs,
    federationRetryMaxMs: s.federationRetryMaxSeconds * 1000,
    federationBatchesPerMinute: s.federationBatchesPerMinute,
    federationLookupsPerMinute: s.federationLookupsPerMinute,
    remoteBlobRequestsPerMinute: s.remoteBlobRequestsPerMinute,
    corsOrigins: s.corsOrigins,
    webDir: webDir(s.webDir, path),
    logLevel: s.logLevel,
    envelopeTtlMs: s.envelopeTtlDays * 86_400_000,
    receiptRetentionMs: s.receiptRetentionDays * 86_400_000,
    catchUpIntervalMs: s.catchUpIntervalMs,
    redeliverAfterMs: s.redeliverAfterMs,
    urgentAcknowledgeWithinMs: { min: s.urgentAckMinSeconds * 1000, max: s.urgentAckMaxSeconds * 1000 },
    authAttemptsPerMinute: s.authAttemptsPerMinute,
    sendsPerMinute: s.sendsPerMinute,
    bundleFetchesPerMinute: s.bundleFetchesPerMinute,
    directorySearchesPerMinute: s.directorySearchesPerMinute,
    maxQueuedEnvelopes: s.maxQueuedEnvelopes,
    urgentSendsPerHour: s.urgentSendsPerHour,
    escalationPollMs: s.escalationPollMs,
    allowHttpWebhooks: s.webhookAllowHttp,
    trustProxyHops: s.trustProxyHops,
    headersTimeoutMs: s.headersTimeoutMs,
    requestTimeoutMs: s.requestTimeoutMs,
    idleTimeoutMs: s.idleTimeoutMs,
    maxConnectionsPerAddress: s.maxConnectionsPerAddress,
    storageReserveBytes: s.storageReserveMb * 1024 ** 2,
    crashPlan: crashPlanFromEnv(env),
    now: Date.now,
  };
  return { config, databaseWaitMs: s.databaseWaitSeconds * 1000, deprecations };
}

/** The log level to report a failed start at: the one asked for if it is valid, else the default. */
export function startupLogLevel(env: Environment): RelayConfig['logLevel'] {
  try {
    return readSetting(env, SETTINGS.logLevel);
  } catch {
    return SETTINGS.logLevel.default;
  }
}

const WEB_DIR = 'the folder of the built web app (npm run build writes web/dist), or off';

/**
 * Where the web app is served from. The default folder may not exist yet (the web app not built):
 * the relay starts and `/` says so. A folder named explicitly must exist, or the operator's
 * setting points nowhere and would silently serve nothing.
 */
function webDir(value: string | undefined, path: (p: string) => string): string | undefined {
  if (value === undefined) return DEFAULT_WEB_DIR;
  if (value.trim().toLowerCase() === 'off') return undefined;
  const dir = path(value);
  const variable = SETTINGS.webDir.name;
  let isFolder: boolean;
  try {
    isFolder = statSync(dir).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SettingError(variable, code === 'ENOENT' ? `no folder ${dir}` : `${dir} (${code})`, WEB_DIR);
  }
  if (!isFolder) throw new SettingError(variable, `${dir}, which is not a folder`, WEB_DIR);
  return dir;
}

/** What each kind of file is, and where it comes from: the words of a SettingError about it. */
const ROOT_FILE = {
  what: 'a network root',
  expected: 'a network root file (.root.json, as liaison network init writes it)',
};
const MANIFEST_FILE = {
  what: 'a network manifest',
  expected: 'a network manifest (as liaison network manifest writes it)',
};
const RELAY_KEY_FILE = { what: 'a relay key', expected: 'a relay signing key file (as liaison relay key writes it)' };

/** This relay's federation settings: both or neither of its signing key and the manifests. */
function federation(keyPath: string | undefined, manifestPaths: string[]): FederationConfig | undefined {
  if (keyPath === undefined && manifestPaths.length === 0) return undefined;
  if (keyPath === undefined) {
    throw new SettingError(
      SETTINGS.relayKey.name,
      'nothing',
      `${RELAY_KEY_FILE.expected}, since ${SETTINGS.networkManifests.name} is set`,
    );
  }
  if (manifestPaths.length === 0) {
    throw new SettingError(
      SETTINGS.networkManifests.name,
      'nothing',
      `${MANIFEST_FILE.expected}, since ${SETTINGS.relayKey.name} is set`,
    );
  }
  const key = readJsonFile(SETTINGS.relayKey.name, keyPath, RelayKeyFile, RELAY_KEY_FILE);
  return {
    signingSeed: decodeBase64url(key.seed) as Uint8Array,
    manifests: manifestPaths.map((p) =>
      readJsonFile(SETTINGS.networkManifests.name, p, NetworkManifest, MANIFEST_FILE),
    ),
  };
}

/** A JSON file the relay is configured with, or a SettingError that names its path and what is wrong with it. */
function readJsonFile<S extends z.ZodType>(
  variable: string,
  path: string,
  schema: S,
  { what, expected }: { what: string; expected: string },
): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const found = code === 'ENOENT' ? `no file ${path}` : `${path}, which cannot be read (${code})`;
    throw new SettingError(variable, found, expected);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not the parser's message: it quotes the file, which may be a key or a passphrase given by mistake.
    throw new SettingError(variable, `${path}, which is not JSON`, expected);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new SettingError(variable, `${path}, JSON that is not ${what} (${where}${issue?.message})`, expected);
  }
  return parsed.data;
}
