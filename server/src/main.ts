// The relay's entry point: the only place that reads the environment. A setting or file the relay
// cannot start with ends the process (exit code 1) with one log line that names it, what was found
// and what is expected; the stack trace only at debug level.
import { configFromEnv, startupLogLevel } from './env.js';
import { createLogger } from './log.js';
import { missingNodeFlags } from './node-flags.js';
import { checkFolder, checkListen, listenError, waitForDatabase } from './preflight.js';
import { startRelay } from './relay.js';
import { SettingError } from './setting-error.js';
import { SETTINGS } from './settings.js';
import { stopOnSignals } from './signals.js';

const level = startupLogLevel(process.env);
// Even `silent` says why the relay did not start: an exit code alone explains nothing.
const log = createLogger(level === 'silent' ? 'fatal' : level);
// Under npm (`npm start` runs in server/), the directory npm was started in: where the user typed
// the command, and what a relative path they gave means.
const startDir = process.env.INIT_CWD || process.cwd();

try {
  const { config, databaseWaitMs, deprecations } = configFromEnv(process.env, startDir);
  for (const { variable, use, message } of deprecations)
    log.warn({ event: 'config.deprecated', variable, use }, message);
  const missing = missingNodeFlags(process.execArgv);
  if (missing.length > 0) {
    log.warn(
      { event: 'relay.node-options', missing },
      `node was started without ${missing.join(' ')}: the relay runs, but attachments cost it about twice the CPU (docs/relay.md, "Running it in production")`,
    );
  }
  // Before anything slow (PGlite takes seconds to open): a port in use is reported at once.
  await checkListen(config.host, config.port);
  if (config.database.kind === 'pglite' && config.database.dataDir) {
    checkFolder(SETTINGS.dataDir.name, config.database.dataDir);
  }
  if (config.blobStore.kind === 'folder') checkFolder(SETTINGS.blobDir.name, config.blobStore.dir);
  if (config.database.kind === 'postgres') await waitForDatabase(config.database.url, databaseWaitMs, log);
  const relay = startRelay(config);
  // Signals are handled from the first moment: one during start-up stops the relay once it is up.
  stopOnSignals(relay, log);
  try {
    await relay;
  } catch (error) {
    // The port may have been taken since it was checked.
    throw listenError(error, config.host, config.port) ?? error;
  }
} catch (error) {
  const message =
    error instanceof SettingError ? error.message : `the relay could not start: ${(error as Error)?.message ?? error}`;
  log.fatal(
    { event: 'relay.start-failed', ...(error instanceof SettingError && { variable: error.variable }) },
    message,
  );
  log.debug({ event: 'relay.start-failed', stack: (error as Error)?.stack }, 'stack trace of the failed start');
  process.exit(1);
}
