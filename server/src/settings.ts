import { z } from 'zod';
import { DEFAULTS } from './config.js';
import { redactUrl, SettingError } from './setting-error.js';

/**
 * Every environment variable the relay reads, declared once: its name, how its text is read, its
 * default and one line of documentation. This table drives parsing (env.ts), the error messages,
 * and the settings table of docs/relay.md (settings-doc.ts; a test checks the docs match).
 */

/** How a variable's text is read: a schema over the text, and what it must be, in words. */
export interface Kind<T> {
  readonly schema: z.ZodType<T>;
  readonly expected: string;
}

export interface Setting<T, D extends T | undefined = T | undefined> {
  readonly name: `LIAISON_${string}`;
  /** The name before every variable took the prefix: still read, with a warning. */
  readonly alias?: string;
  readonly kind: Kind<T>;
  /** The value when the variable is unset or empty; undefined: none. */
  readonly default: D;
  /** What the docs show as the default, when it is not a plain value. */
  readonly defaultDoc?: string;
  /** One line for the docs. */
  readonly doc: string;
  /** How a value found is printed in an error: never a secret, never a password. */
  readonly show?: (text: string) => string;
}

const integer = (min: number, max?: number): Kind<number> => ({
  schema: z.coerce
    .number()
    .int()
    .min(min)
    .max(max ?? Number.MAX_SAFE_INTEGER),
  expected: max === undefined ? `a whole number, at least ${min}` : `a whole number from ${min} to ${max}`,
});
const positive: Kind<number> = { schema: z.coerce.number().positive().finite(), expected: 'a number above 0' };
const text: Kind<string> = { schema: z.string(), expected: 'text' };
const oneOf = <const T extends readonly [string, ...string[]]>(values: T): Kind<T[number]> => ({
  schema: z.enum(values),
  expected: `one of ${values.join(', ')}`,
});
const flag: Kind<boolean> = {
  schema: z.enum(['1', '0', 'true', 'false']).transform((v) => v === '1' || v === 'true'),
  expected: '1 (on) or 0 (off)',
};
const isUrl = (value: string, protocols: string[]) =>
  URL.canParse(value) && protocols.includes(new URL(value).protocol);
const url = (protocols: string[], expected: string): Kind<string> => ({
  schema: z.string().refine((v) => isUrl(v, protocols)),
  expected,
});
const items = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
const paths: Kind<string[]> = { schema: z.string().transform(items), expected: 'comma-separated paths' };
/** An origin as a browser sends it: scheme, host and port, written any way a URL may be, no path. */
const isOrigin = (value: string) => {
  if (!isUrl(value, ['http:', 'https:'])) return false;
  const { pathname, search, hash, username, password } = new URL(value);
  return pathname === '/' && !search && !hash && !username && !password;
};
const origins: Kind<string[]> = {
  schema: z
    .string()
    .transform(items)
    .refine((list) => list.every(isOrigin))
    .transform((list) => list.map((o) => new URL(o).origin)),
  expected: 'comma-separated origins (scheme, host and port, no path), like https://app.example.org',
};

const DAY_MS = 86_400_000;
const MIB = 1024 ** 2;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] as const;

/** A setting whose value type is taken from its kind, and made optional when it has no default. */
const define = <T, D extends T | undefined>(setting: Setting<T, D>): Setting<T, D> => setting;

export const SETTINGS = {
  port: define({
    name: 'LIAISON_PORT',
    alias: 'PORT',
    kind: integer(0, 65535),
    default: DEFAULTS.port,
    doc: 'port to listen on (0: any free port)',
  }),
  host: define({
    name: 'LIAISON_HOST',
    alias: 'HOST',
    kind: text,
    default: DEFAULTS.host,
    doc: 'address to listen on (`0.0.0.0`: every interface)',
  }),
  publicOrigin: define({
    name: 'LIAISON_PUBLIC_ORIGIN',
    alias: 'PUBLIC_ORIGIN',
    kind: {
      schema: origins.schema,
      expected:
        'comma-separated origins (scheme, host and port, no path), like https://relay.example.org,https://relay.agency.example',
    },
    default: [],
    defaultDoc: '`http://HOST:PORT`',
    doc: "the relay's public URL, bound into every authentication challenge; a list when clients reach it by several names (each challenge names the one the client addressed, else the first); in a cluster, the same for every node (the load balancer's)",
  }),
  databaseUrl: define({
    name: 'LIAISON_DATABASE_URL',
    alias: 'DATABASE_URL',
    kind: url(['postgres:', 'postgresql:'], 'a PostgreSQL URL, like postgres://user:password@host:5432/database'),
    default: undefined,
    defaultDoc: 'none: embedded PGlite',
    doc: 'PostgreSQL; without it, embedded PGlite in `LIAISON_DATA_DIR`',
    show: (value) => JSON.stringify(redactUrl(value)),
  }),
  databaseWaitSeconds: define({
    name: 'LIAISON_DATABASE_WAIT_SECONDS',
    kind: integer(0),
    default: 30,
    doc: 'how long a relay starting retries a PostgreSQL server that does not answer, before it gives up and says why',
  }),
  dataDir: define({
    name: 'LIAISON_DATA_DIR',
    alias: 'DATA_DIR',
    kind: text,
    default: undefined,
    defaultDoc: '`server/data/relay` in the repository',
    doc: "PGlite's data folder, created on first start",
  }),
  redisUrl: define({
    name: 'LIAISON_REDIS_URL',
    alias: 'REDIS_URL',
    kind: url(['redis:', 'rediss:'], 'a Redis URL, like redis://host:6379'),
    default: undefined,
    defaultDoc: 'none: a single node',
    doc: 'Redis: run as one node of a cluster (docs/cluster.md)',
    show: (value) => JSON.stringify(redactUrl(value)),
  }),
  trustedRoots: define({
    name: 'LIAISON_TRUSTED_ROOTS',
    kind: paths,
    default: [],
    defaultDoc: 'none: nobody can register, and the relay says so at start',
    doc: 'network root files (`liaison network init` writes them)',
  }),
  relayKey: define({
    name: 'LIAISON_RELAY_KEY',
    kind: text,
    default: undefined,
    defaultDoc: 'none: the relay neither federates nor signs "stored at" receipts',
    doc: "this relay's signing key file (`liaison relay key` writes it): it signs the relay's requests to partner relays and the \"stored at\" receipt of every send, once our network's manifest names it (docs/federation.md)",
  }),
  networkManifests: define({
    name: 'LIAISON_NETWORK_MANIFESTS',
    kind: paths,
    default: [],
    defaultDoc: 'none: the relay neither federates nor signs "stored at" receipts',
    doc: "our network's manifest, alone (the relay signs its receipts and federates with nobody) or with each partner network's (`liaison network manifest`; docs/federation.md)",
  }),
  federationRetryMaxSeconds: define({
    name: 'LIAISON_FEDERATION_RETRY_MAX_SECONDS',
    kind: integer(1, 3600),
    default: 60,
    doc: 'longest wait between attempts at a partner relay that does not answer',
  }),
  federationBatchesPerMinute: define({
    name: 'LIAISON_FEDERATION_BATCHES_PER_MINUTE',
    kind: integer(1),
    default: DEFAULTS.federationBatchesPerMinute,
    doc: "batches of messages, receipts and urgent states one partner network's relays may deliver per minute",
  }),
  federationLookupsPerMinute: define({
    name: 'LIAISON_FEDERATION_LOOKUPS_PER_MINUTE',
    kind: integer(1),
    default: DEFAULTS.federationLookupsPerMinute,
    doc: "lookups (contact points, prekey bundles, directory, attachments) one partner network's relays may make per minute; counted apart from its batches, which they never hold up",
  }),
  remoteBlobRequestsPerMinute: define({
    name: 'LIAISON_REMOTE_BLOB_REQUESTS_PER_MINUTE',
    kind: integer(1),
    default: DEFAULTS.remoteBlobRequestsPerMinute,
    doc: 'requests one device may make per minute about attachments not stored on this relay (each asks partner relays: one per 4 MiB chunk)',
  }),
  corsOrigins: define({
    name: 'LIAISON_CORS_ORIGINS',
    alias: 'CORS_ORIGINS',
    kind: origins,
    default: [],
    defaultDoc: 'none (same origin only)',
    doc: 'browser origins allowed to call the API',
  }),
  webDir: define({
    name: 'LIAISON_WEB_DIR',
    kind: text,
    default: undefined,
    defaultDoc: '`web/dist` in the repository (not built yet: `/` says so)',
    doc: 'the built web app, served at `/` with `/config.json` (see "The web app" below); `off`: the API only',
  }),
  logLevel: define({
    name: 'LIAISON_LOG_LEVEL',
    alias: 'LOG_LEVEL',
    kind: oneOf(LOG_LEVELS),
    default: 'info' as const, // as const: a plain string would not narrow to a level
    doc: 'least severe level logged (`silent`: nothing but why the relay could not start); `debug` adds the stack trace of a failed start',
  }),
  envelopeTtlDays: define({
    name: 'LIAISON_ENVELOPE_TTL_DAYS',
    alias: 'ENVELOPE_TTL_DAYS',
    kind: positive,
    default: DEFAULTS.envelopeTtlMs / DAY_MS,
    doc: 'how long an undelivered envelope is kept',
  }),
  receiptRetentionDays: define({
    name: 'LIAISON_RECEIPT_RETENTION_DAYS',
    alias: 'RECEIPT_RETENTION_DAYS',
    kind: positive,
    default: DEFAULTS.receiptRetentionMs / DAY_MS,
    doc: 'how long delivery metadata (receipts) is kept',
  }),
  catchUpIntervalMs: define({
    name: 'LIAISON_CATCH_UP_INTERVAL_MS',
    alias: 'CATCH_UP_INTERVAL_MS',
    kind: integer(100),
    default: DEFAULTS.catchUpIntervalMs,
    doc: "how often connected devices' queues are read again",
  }),
  redeliverAfterMs: define({
    name: 'LIAISON_REDELIVER_AFTER_MS',
    alias: 'REDELIVER_AFTER_MS',
    kind: integer(100),
    default: DEFAULTS.redeliverAfterMs,
    doc: 'an envelope pushed and not acknowledged this long is pushed again on the next pass (an acknowledgement may have been lost)',
  }),
  metricsToken: define({
    name: 'LIAISON_METRICS_TOKEN',
    alias: 'METRICS_TOKEN',
    kind: text,
    default: undefined,
    defaultDoc: 'none (open)',
    doc: 'when set, `GET /metrics` requires it as a bearer token',
    show: () => '(hidden)',
  }),
  authAttemptsPerMinute: define({
    name: 'LIAISON_AUTH_ATTEMPTS_PER_MINUTE',
    alias: 'AUTH_ATTEMPTS_PER_MINUTE',
    kind: integer(1),
    default: DEFAULTS.authAttemptsPerMinute,
    doc: 'unauthenticated calls one client address may make per minute',
  }),
  sendsPerMinute: define({
    name: 'LIAISON_SENDS_PER_MINUTE',
    alias: 'SENDS_PER_MINUTE',
    kind: integer(1),
    default: DEFAULTS.sendsPerMinute,
    doc: 'sends one device may make per minute',
  }),
  bundleFetchesPerMinute: define({
    name: 'LIAISON_BUNDLE_FETCHES_PER_MINUTE',
    alias: 'BUNDLE_FETCHES_PER_MINUTE',
    kind: integer(1),
    default: DEFAULTS.bundleFetchesPerMinute,
    doc: 'prekey bundle fetches one device may make per minute',
  }),
  directorySearchesPerMinute: define({
    name: 'LIAISON_DIRECTORY_SEARCHES_PER_MINUTE',
    alias: 'DIRECTORY_SEARCHES_PER_MINUTE',
    kind: integer(1),
    default: DEFAULTS.directorySearchesPerMinute,
    doc: 'directory searches one device may make per minute',
  }),
  maxQueuedEnvelopes: define({
    name: 'LIAISON_MAX_QUEUED_ENVELOPES',
    alias: 'MAX_QUEUED_ENVELOPES',
    kind: integer(1),
    default: DEFAULTS.maxQueuedEnvelopes,
    doc: 'undelivered envelopes one device may hold; a send to a full queue is refused',
  }),
  urgentAckMinSeconds: define({
    name: 'LIAISON_URGENT_ACK_MIN_SECONDS',
    alias: 'URGENT_ACK_MIN_SECONDS',
    kind: integer(1),
    default: DEFAULTS.urgentAcknowledgeWithinMs.min / 1000,
    doc: 'shortest time to acknowledge a sender may give each level of an urgent message',
  }),
  urgentAckMaxSeconds: define({
    name: 'LIAISON_URGENT_ACK_MAX_SECONDS',
    alias: 'URGENT_ACK_MAX_SECONDS',
    kind: integer(1),
    default: DEFAULTS.urgentAcknowledgeWithinMs.max / 1000,
    doc: 'longest time to acknowledge a sender may give each level of an urgent message',
  }),
  urgentSendsPerHour: define({
    name: 'LIAISON_URGENT_SENDS_PER_HOUR',
    alias: 'URGENT_SENDS_PER_HOUR',
    kind: integer(1),
    default: DEFAULTS.urgentSendsPerHour,
    doc: 'urgent messages one contact point may send per hour',
  }),
  escalationPollMs: define({
    name: 'LIAISON_ESCALATION_POLL_MS',
    alias: 'ESCALATION_POLL_MS',
    kind: integer(50),
    default: DEFAULTS.escalationPollMs,
    doc: 'how often each node looks for due escalation steps',
  }),
  webhookAllowHttp: define({
    name: 'LIAISON_WEBHOOK_ALLOW_HTTP',
    alias: 'WEBHOOK_ALLOW_HTTP',
    kind: flag,
    default: DEFAULTS.allowHttpWebhooks,
    doc: 'accept plain-http webhook URLs (development and tests only)',
  }),
  trustProxyHops: define({
    name: 'LIAISON_TRUST_PROXY_HOPS',
    alias: 'TRUST_PROXY_HOPS',
    kind: integer(0),
    default: DEFAULTS.trustProxyHops,
    defaultDoc: '0 (1 in docker-compose.yml, behind nginx)',
    doc: "load balancers in front of the relay whose `X-Forwarded-For` is believed; 0 means the peer address is the client's (a client cannot choose its own)",
  }),
  headersTimeoutMs: define({
    name: 'LIAISON_HTTP_HEADERS_TIMEOUT_MS',
    alias: 'HTTP_HEADERS_TIMEOUT_MS',
    kind: integer(100),
    default: DEFAULTS.headersTimeoutMs,
    doc: "time a client has to send a request's headers",
  }),
  requestTimeoutMs: define({
    name: 'LIAISON_HTTP_REQUEST_TIMEOUT_MS',
    alias: 'HTTP_REQUEST_TIMEOUT_MS',
    kind: integer(100),
    default: DEFAULTS.requestTimeoutMs,
    doc: 'time a client has to send a whole request, body included',
  }),
  idleTimeoutMs: define({
    name: 'LIAISON_HTTP_IDLE_TIMEOUT_MS',
    alias: 'HTTP_IDLE_TIMEOUT_MS',
    kind: integer(100),
    default: DEFAULTS.idleTimeoutMs,
    doc: 'longest a connection may move no byte either way (WebSockets excepted)',
  }),
  storageReserveMb: define({
    name: 'LIAISON_STORAGE_RESERVE_MB',
    alias: 'STORAGE_RESERVE_MB',
    kind: integer(0),
    default: DEFAULTS.storageReserveBytes / MIB,
    doc: "PGlite: writes are refused (`STORAGE_FULL`) while the data folder's disk has less free than this, so PostgreSQL never runs out of room for its write-ahead log",
  }),
  maxConnectionsPerAddress: define({
    name: 'LIAISON_MAX_CONNECTIONS_PER_ADDRESS',
    alias: 'MAX_CONNECTIONS_PER_ADDRESS',
    kind: integer(1),
    default: DEFAULTS.maxConnectionsPerAddress,
    doc: 'connections one client address may hold at once (see "Connections" below)',
  }),
  blobStore: define({
    name: 'LIAISON_BLOB_STORE',
    alias: 'BLOB_STORE',
    kind: oneOf(['folder', 'database']),
    default: undefined,
    defaultDoc: '`database` with `LIAISON_DATABASE_URL` (every node of a cluster serves every blob), else `folder`',
    doc: 'where attachment ciphertext is kept (docs/attachments.md)',
  }),
  blobDir: define({
    name: 'LIAISON_BLOB_DIR',
    alias: 'BLOB_DIR',
    kind: text,
    default: undefined,
    defaultDoc: '`blobs` beside `LIAISON_DATA_DIR`',
    doc: 'the folder, when `LIAISON_BLOB_STORE` is `folder`',
  }),
  maxBlobMb: define({
    name: 'LIAISON_MAX_BLOB_MB',
    alias: 'MAX_BLOB_MB',
    kind: integer(1),
    default: DEFAULTS.maxBlobBytes / MIB,
    doc: 'largest attachment, in MiB of ciphertext',
  }),
  blobQuotaMb: define({
    name: 'LIAISON_BLOB_QUOTA_MB',
    alias: 'BLOB_QUOTA_MB',
    kind: integer(1),
    default: DEFAULTS.blobQuotaBytes / MIB,
    doc: 'attachment ciphertext one device may have stored at once, in MiB',
  }),
  blobCreationsPerMinute: define({
    name: 'LIAISON_BLOB_CREATIONS_PER_MINUTE',
    alias: 'BLOB_CREATIONS_PER_MINUTE',
    kind: integer(1),
    default: DEFAULTS.blobCreationsPerMinute,
    doc: 'attachment uploads one device may start per minute',
  }),
  blobRetentionDays: define({
    name: 'LIAISON_BLOB_RETENTION_DAYS',
    alias: 'BLOB_RETENTION_DAYS',
    kind: positive,
    default: DEFAULTS.blobRetentionMs / DAY_MS,
    doc: 'days a blob is kept at most',
  }),
};

type Value<S> = S extends { kind: Kind<infer T>; default: infer D } ? (undefined extends D ? T | undefined : T) : never;
export type SettingValues = { -readonly [K in keyof typeof SETTINGS]: Value<(typeof SETTINGS)[K]> };

/** An old name that was read, or ignored, and the name to use instead. */
export interface Deprecation {
  variable: string;
  use: string;
  message: string;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * One setting from the environment: its own name first (present, even empty, it wins), then its
 * old name. Unset or empty, the default. Text that does not fit is a SettingError naming the
 * variable that held it.
 */
export function readSetting<T, D extends T | undefined>(
  env: Environment,
  setting: Setting<T, D>,
  deprecations: Deprecation[] = [],
): T | D {
  const own = env[setting.name];
  const old = setting.alias ? env[setting.alias] : undefined;
  let variable: string = setting.name;
  let value = own;
  if (setting.alias && old) {
    const message =
      own === undefined
        ? `${setting.alias} is deprecated: name it ${setting.name} (the old name still works, for now)`
        : `${setting.alias} is ignored: ${setting.name} is set`;
    deprecations.push({ variable: setting.alias, use: setting.name, message });
    if (own === undefined) {
      variable = setting.alias;
      value = old;
    }
  }
  if (value === undefined || value.trim() === '') return setting.default;
  const parsed = setting.kind.schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new SettingError(variable, setting.show?.(value) ?? JSON.stringify(value), setting.kind.expected);
}

/** Every setting, read at once: the first one that does not fit throws. */
export function readSettings(env: Environment): { values: SettingValues; deprecations: Deprecation[] } {
  const deprecations: Deprecation[] = [];
  const values = Object.fromEntries(
    Object.entries(SETTINGS).map(([key, setting]) => [
      key,
      readSetting(env, setting as Setting<unknown>, deprecations),
    ]),
  ) as SettingValues;
  return { values, deprecations };
}

/** Every variable the relay reads, old names included (tests start relays without inheriting them). */
export function settingVariables(): string[] {
  return Object.values(SETTINGS).flatMap((s: Setting<unknown>) => (s.alias ? [s.name, s.alias] : [s.name]));
}
