import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TrustedRoot } from '@liaison/protocol';
import { RELAY_NODE_FLAGS, settingVariables } from '@liaison/server';

const serverDir = resolve(import.meta.dirname, '../../server');

export function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

export interface RelayProcess {
  url: string;
  port: number;
  /** True while the process runs. */
  alive(): boolean;
  /** The current process's id (it changes on restart). */
  pid(): number;
  /** Everything the process printed. */
  output(): string;
  /** SIGKILL, then start again on the same port and data. */
  restart(): Promise<void>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface LaunchOptions {
  /**
   * Start it as `npm start` typed in this directory (npm runs the relay in server/, and tells it
   * where it was typed), rather than as `node` in server/.
   */
  npmStartIn?: string;
  /** Run it as this user (and group) id: an unprivileged user when the tests run as root. */
  uid?: number;
  /** The port to listen on (a relay named in a federation manifest is known by its origin before it starts); default a free one. */
  port?: number;
  /** Called with what the process prints as it prints it, before it is up too. */
  onOutput?: (text: string) => void;
}

/**
 * Environment variables for a relay process; one given as undefined is not set at all (to start it
 * with an old name instead of the one the harness sets, say).
 */
export type RelayEnv = Record<string, string | undefined>;

/**
 * Starts the relay's entry point with `env` as its settings: none of the caller's own relay
 * settings (old names included) nor npm's INIT_CWD are inherited, so a developer's environment
 * cannot change what a test starts.
 */
function launch(env: RelayEnv, options: LaunchOptions): ChildProcess {
  const inherited = { ...process.env };
  for (const name of [...settingVariables(), 'INIT_CWD']) delete inherited[name];
  const common = {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
    ...(options.uid !== undefined && { uid: options.uid, gid: options.uid }),
  };
  // npm runs the relay as a child of its own: a process group of their own lets a signal reach both.
  if (options.npmStartIn) return spawn('npm', ['start'], { ...common, cwd: options.npmStartIn, detached: true });
  return spawn(process.execPath, [...RELAY_NODE_FLAGS, 'dist/main.js'], { ...common, cwd: serverDir });
}

/** Signals the relay, and npm around it when npm started it. */
function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (child.spawnargs[0] === 'npm') process.kill(-(child.pid as number), name);
  else child.kill(name);
}

function collect(child: ChildProcess, sink: (text: string) => void): void {
  child.stdout?.on('data', (chunk: Buffer) => sink(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => sink(chunk.toString()));
}

/**
 * A relay as its own process, run as production runs it (`node server/dist/main.js`, built by the
 * tests' globalSetup or by `buildBeforeRun` in build.ts; or through `npm start`, which builds), and
 * configured only through the environment: PGlite in a temporary folder unless
 * LIAISON_DATABASE_URL is given.
 */
export async function spawnRelay(
  roots: TrustedRoot[],
  env: RelayEnv = {},
  options: LaunchOptions = {},
): Promise<RelayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'liaison-relay-'));
  const rootFiles = await Promise.all(
    roots.map(async (root, i) => {
      const path = join(dir, `root-${i}.json`);
      await writeFile(path, JSON.stringify(root));
      return path;
    }),
  );
  const port = options.port ?? (await freePort());
  let output = '';
  let child: ChildProcess;
  const start = async () => {
    const mark = output.length;
    child = launch(
      {
        LIAISON_PORT: String(port),
        LIAISON_DATA_DIR: join(dir, 'data'),
        LIAISON_TRUSTED_ROOTS: rootFiles.join(','),
        ...env,
      },
      options,
    );
    collect(child, (text) => {
      output += text;
      options.onOutput?.(text);
    });
    const started = Date.now();
    while (!output.slice(mark).includes('relay.listening')) {
      if (Date.now() - started > 30_000 || child.exitCode !== null) {
        // A relay that did not come up in time must not outlive the test that started it.
        signal(child, 'SIGKILL');
        throw new Error(`relay did not start:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const exited = () =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve(child.exitCode)
      : new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  await start();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    alive: () => child.exitCode === null && child.signalCode === null,
    pid: () => child.pid as number,
    output: () => output,
    async restart() {
      signal(child, 'SIGKILL');
      await exited();
      await start();
    },
    async kill() {
      signal(child, 'SIGKILL');
      await exited();
    },
    async stop() {
      signal(child, 'SIGTERM');
      const code = await exited();
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}

export interface RelayExit {
  code: number | null;
  /** Everything the process printed. */
  output: string;
  /** The relay's own log lines, parsed (npm's lines, when npm started it, left out). */
  logLines: Record<string, unknown>[];
}

/**
 * Starts the relay's entry point with settings it should refuse, and waits for it to end. On a
 * free port, with PGlite in a temporary folder, unless `env` says otherwise.
 */
export async function runRelayToExit(
  env: RelayEnv,
  options: LaunchOptions = {},
  timeoutMs = 60_000,
): Promise<RelayExit> {
  const dir = await mkdtemp(join(tmpdir(), 'liaison-refused-'));
  let output = '';
  const child = launch(
    { LIAISON_PORT: String(await freePort()), LIAISON_DATA_DIR: join(dir, 'data'), ...env },
    options,
  );
  collect(child, (text) => {
    output += text;
  });
  const timer = setTimeout(() => signal(child, 'SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
  clearTimeout(timer);
  await rm(dir, { recursive: true, force: true });
  if (child.signalCode === 'SIGKILL') throw new Error(`relay still running after ${timeoutMs} ms:\n${output}`);
  const logLines = output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { code, output, logLines };
}
