import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, register } from './harness/device-client.js';
import { testNetwork } from './harness/network.js';
import { freePort, type RelayExit, runRelayToExit, spawnRelay } from './harness/relay-process.js';
import { startPostgresServer } from './harness/servers.js';
import { postgresService } from './harness/services.js';

const repoDir = resolve(import.meta.dirname, '..');
/** An unprivileged user, for what root would be allowed to do anyway. */
const NOBODY = 65534;

/** What an operator sees when the relay refuses to start: the exit code and its one line. */
function refusal(exit: RelayExit) {
  const fatal = exit.logLines.filter((l) => l.level === 60);
  return { code: exit.code, message: fatal.map((l) => l.msg).join('\n'), lines: exit.output.trim().split('\n').length };
}

/** No stack trace, in any form Node or the relay would print one. */
function expectNoStack(exit: RelayExit) {
  expect(exit.output).not.toMatch(/^\s+at /m);
  expect(exit.output).not.toContain('\\n    at ');
}

describe('the relay refuses a setting it cannot start with: exit code 1, one line naming it, no stack trace', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'liaison-settings-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([
    ['LIAISON_PORT', 'abc', 'LIAISON_PORT: found "abc"; expected a whole number from 0 to 65535'],
    [
      'LIAISON_LOG_LEVEL',
      'verbose',
      'LIAISON_LOG_LEVEL: found "verbose"; expected one of fatal, error, warn, info, debug, silent',
    ],
    [
      'LIAISON_DATABASE_URL',
      'notaurl',
      'LIAISON_DATABASE_URL: found "notaurl"; expected a PostgreSQL URL, like postgres://user:password@host:5432/database',
    ],
    [
      'LIAISON_DATABASE_URL',
      'mysql://relay:hunter2@db/liaison',
      'LIAISON_DATABASE_URL: found "mysql://relay:***@db/liaison"; expected a PostgreSQL URL, like postgres://user:password@host:5432/database',
    ],
    [
      'LIAISON_REDIS_URL',
      'localhost:6379',
      'LIAISON_REDIS_URL: found "localhost:6379"; expected a Redis URL, like redis://host:6379',
    ],
    [
      'LIAISON_CORS_ORIGINS',
      'app.example.org',
      'LIAISON_CORS_ORIGINS: found "app.example.org"; expected comma-separated origins (scheme, host and port, no path), like https://app.example.org',
    ],
  ])('%s=%s', async (variable, value, line) => {
    const exit = await runRelayToExit({ [variable]: value });
    expect(refusal(exit)).toEqual({ code: 1, message: line, lines: 1 });
    expect(exit.output).not.toContain('hunter2');
    expectNoStack(exit);
  });

  it('a network root file that is missing, not JSON, or not a root: names the file', async () => {
    const missing = join(dir, 'missing.root.json');
    const notJson = join(dir, 'secret.txt');
    const notRoot = join(dir, 'contact.json');
    await writeFile(notJson, 'a long demo passphrase\n');
    await writeFile(notRoot, JSON.stringify({ kind: 'contact-point' }));
    const expected = 'expected a network root file (.root.json, as liaison network init writes it)';
    const found = await Promise.all(
      [missing, notJson, notRoot].map(async (path) => {
        const exit = await runRelayToExit({ LIAISON_TRUSTED_ROOTS: path });
        expectNoStack(exit);
        return refusal(exit);
      }),
    );
    expect(found).toEqual([
      { code: 1, lines: 1, message: `LIAISON_TRUSTED_ROOTS: found no file ${missing}; ${expected}` },
      { code: 1, lines: 1, message: `LIAISON_TRUSTED_ROOTS: found ${notJson}, which is not JSON; ${expected}` },
      {
        code: 1,
        lines: 1,
        message: `LIAISON_TRUSTED_ROOTS: found ${notRoot}, JSON that is not a network root (networkId: Invalid input: expected string, received undefined); ${expected}`,
      },
    ]);
    // The file's content is not quoted: it may be a secret given by mistake.
    expect(found[1]?.message).not.toContain('demo');
  });

  it('a port in use: at once, before the database is opened', async () => {
    const port = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((done) => holder.listen(port, '127.0.0.1', done));
    try {
      const dataDir = join(dir, 'port-data');
      const exit = await runRelayToExit({ LIAISON_PORT: String(port), LIAISON_DATA_DIR: dataDir });
      expect(refusal(exit)).toEqual({
        code: 1,
        lines: 1,
        message: `LIAISON_PORT: found ${port} already in use on 127.0.0.1; expected a port nothing else listens on`,
      });
      expect(existsSync(dataDir)).toBe(false);
      expectNoStack(exit);
    } finally {
      holder.close();
    }
  });

  it('a data folder this process cannot write', async () => {
    // Root may write anywhere: the relay runs as an unprivileged user then, as in the Docker image.
    const asRoot = process.getuid?.() === 0;
    const parent = join(dir, 'readonly');
    const dataDir = join(parent, 'data');
    await mkdir(dataDir, { recursive: true });
    await chmod(dir, 0o755);
    await chmod(parent, 0o755);
    await chmod(dataDir, 0o555);
    const exit = await runRelayToExit({ LIAISON_DATA_DIR: dataDir }, asRoot ? { uid: NOBODY } : {});
    expect(refusal(exit)).toEqual({
      code: 1,
      lines: 1,
      message: `LIAISON_DATA_DIR: found ${dataDir}, which this process cannot write (EACCES); expected a folder this process can create, or write in if it exists`,
    });
    expectNoStack(exit);
  });

  it('PostgreSQL that does not answer: retried with backoff for the time given, then one line, without the password', async () => {
    const port = await freePort();
    const url = `postgres://relay:hunter2@127.0.0.1:${port}/liaison`;
    const started = Date.now();
    const exit = await runRelayToExit({ LIAISON_DATABASE_URL: url, LIAISON_DATABASE_WAIT_SECONDS: '2' });
    expect(Date.now() - started).toBeGreaterThan(1500);
    const shown = `postgres://relay:***@127.0.0.1:${port}/liaison`;
    expect(exit.logLines.map((l) => [l.level, l.event])).toEqual([
      [40, 'database.waiting'],
      [60, 'relay.start-failed'],
    ]);
    expect(refusal(exit).code).toBe(1);
    expect(refusal(exit).message).toMatch(
      new RegExp(
        `^LIAISON_DATABASE_URL: found no PostgreSQL answering at ${shown.replaceAll('*', '\\*')} after [2-9] attempts in [12] s \\(.*ECONNREFUSED.*\\); expected a reachable PostgreSQL server \\(or wait longer: LIAISON_DATABASE_WAIT_SECONDS\\)$`,
      ),
    );
    expect(exit.output).not.toContain('hunter2');
    expectNoStack(exit);
  });

  it('shows the stack trace at debug level, and only there', async () => {
    const exit = await runRelayToExit({ LIAISON_PORT: 'abc', LIAISON_LOG_LEVEL: 'debug' });
    expect(exit.code).toBe(1);
    const debug = exit.logLines.find((l) => l.level === 20);
    expect(debug?.stack).toMatch(/^SettingError: LIAISON_PORT: found "abc".*\n\s+at /s);
  });
});

postgresService.describe('the relay waits for a PostgreSQL server that starts after it', () => {
  it('retries until the server answers, then starts', async () => {
    const postgres = await startPostgresServer();
    try {
      await postgres.stop();
      let waiting: () => void = () => undefined;
      const refused = new Promise<void>((resolve) => {
        waiting = resolve;
      });
      const starting = spawnRelay(
        [],
        { LIAISON_DATABASE_URL: postgres.url, LIAISON_DATABASE_WAIT_SECONDS: '60' },
        { onOutput: (text) => text.includes('"event":"database.waiting"') && waiting() },
      );
      await Promise.race([refused, starting]);
      await postgres.start();
      const relay = await starting;
      try {
        expect(await http(relay.url, 'GET', '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
      } finally {
        expect(await relay.stop()).toBe(0);
      }
    } finally {
      postgres.destroy();
    }
  });
});

describe('old names of the settings', () => {
  it('still work, and each one read is named with its new name in a warning', async () => {
    const port = await freePort();
    const relay = await spawnRelay([], {
      LIAISON_PORT: undefined,
      PORT: String(port),
      METRICS_TOKEN: 'metrics-secret',
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      expect((await http(url, 'GET', '/readyz')).status).toBe(200);
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
      expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer metrics-secret' } })).status).toBe(200);
      const warnings = relay
        .output()
        .split('\n')
        .filter((l) => l.includes('config.deprecated'))
        .map((l) => JSON.parse(l));
      expect(warnings.map((w) => [w.level, w.variable, w.use, w.msg])).toEqual([
        [40, 'PORT', 'LIAISON_PORT', 'PORT is deprecated: name it LIAISON_PORT (the old name still works, for now)'],
        [
          40,
          'METRICS_TOKEN',
          'LIAISON_METRICS_TOKEN',
          'METRICS_TOKEN is deprecated: name it LIAISON_METRICS_TOKEN (the old name still works, for now)',
        ],
      ]);
      expect(relay.output()).not.toContain('metrics-secret');
    } finally {
      await relay.stop();
    }
  });
});

describe('npm start from the repository root', () => {
  it('reads a relative path from the directory npm start was typed in, not from server/', async () => {
    const net = await testNetwork();
    const dir = await mkdtemp(join(tmpdir(), 'liaison-npm-start-'));
    try {
      const rootFile = join(dir, 'seajust.root.json');
      await writeFile(rootFile, JSON.stringify(net.root));
      const relay = await spawnRelay(
        [],
        { LIAISON_TRUSTED_ROOTS: relative(repoDir, rootFile) },
        { npmStartIn: repoDir },
      );
      try {
        const listening = relay
          .output()
          .split('\n')
          .find((l) => l.includes('relay.listening'));
        expect(JSON.parse(listening ?? '{}')).toMatchObject({ trustedRoots: 1 });
        const device = await net.authority('th-oag', 'TH').contactPoint('somchai').addDevice();
        expect((await register(relay.url, device)).status).toBe(200);
      } finally {
        await relay.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
