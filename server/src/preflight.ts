import { accessSync, constants, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import pg from 'pg';
import type { Logger } from './log.js';
import { redactUrl, SettingError } from './setting-error.js';
import { SETTINGS } from './settings.js';

/**
 * What the entry point checks before it starts the relay, so that a setting that cannot work is
 * reported at once, by name, rather than as a stack trace from deep inside (or after PGlite took
 * seconds to open).
 */

/** Binds the address and lets it go: EADDRINUSE and its kin as a SettingError, before anything slow. */
export async function checkListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((done, fail) => {
    probe.once('error', (error) => fail(listenError(error, host, port) ?? error));
    probe.listen(port, host, () => probe.close(() => done()));
  });
}

/** A failure to listen, in the words of the setting that caused it; undefined for anything else. */
export function listenError(error: unknown, host: string, port: number): SettingError | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new SettingError(SETTINGS.port.name, `${port} already in use on ${host}`, 'a port nothing else listens on');
  }
  if (code === 'EACCES') {
    return new SettingError(
      SETTINGS.port.name,
      `${port}, which this process may not listen on (EACCES)`,
      'a port above 1023, or the right to bind this one',
    );
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new SettingError(SETTINGS.host.name, `${host} (${code})`, 'an address of this machine, or 0.0.0.0');
  }
  return undefined;
}

/** Creates the folder if need be and checks this process can write in it. */
export function checkFolder(variable: string, dir: string): void {
  const expected = 'a folder this process can create, or write in if it exists';
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const found = code === 'EEXIST' || code === 'ENOTDIR' ? `${dir}, which is not a folder` : `${dir} (${code})`;
    throw new SettingError(variable, found, expected);
  }
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SettingError(variable, `${dir}, which this process cannot write (${code})`, expected);
  }
}

/** Failures that waiting will not mend: the server answered, and refused. */
const FINAL = /^(28|3D)/; // invalid authorization (wrong user or password), no such database

/**
 * Connects to PostgreSQL until it answers, with backoff, for at most `waitMs`: in a deployment the
 * relay may start before its database does. A refusal that waiting will not mend (a wrong password,
 * a database that does not exist) is reported at once. Messages show the URL without its password.
 */
export async function waitForDatabase(url: string, waitMs: number, log: Logger): Promise<void> {
  const variable = SETTINGS.databaseUrl.name;
  const shown = redactUrl(url);
  const started = Date.now();
  for (let attempt = 1, delayMs = 250; ; attempt++, delayMs = Math.min(delayMs * 2, 5000)) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    // A connection that fails after connecting must not crash the process; the query reports it.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      if (attempt > 1) log.info({ event: 'database.reachable', attempts: attempt }, 'PostgreSQL answers');
      return;
    } catch (error) {
      // Not awaited: a connection that never opened may never report its end.
      void client.end().catch(() => undefined);
      const { code, message } = error as { code?: string; message?: string };
      const reason = code && !message?.includes(code) ? `${code}: ${message}` : (message ?? String(error));
      const waited = Date.now() - started;
      if (FINAL.test(code ?? '')) {
        throw new SettingError(
          variable,
          `${shown} refusing the relay (${reason})`,
          'a user, password and database the server accepts',
        );
      }
      if (waited + delayMs > waitMs) {
        const seconds = Math.round(waited / 1000);
        throw new SettingError(
          variable,
          `no PostgreSQL answering at ${shown} after ${attempt} attempts in ${seconds} s (${reason})`,
          `a reachable PostgreSQL server (or wait longer: ${SETTINGS.databaseWaitSeconds.name})`,
        );
      }
      if (attempt === 1) {
        log.warn(
          { event: 'database.waiting', variable, reason },
          `${variable}: no answer from ${shown} (${reason}); retrying for up to ${Math.round(waitMs / 1000)} s`,
        );
      }
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
