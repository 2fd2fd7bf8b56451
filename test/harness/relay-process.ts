import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TrustedRoot } from '@liaison/protocol';

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

/**
 * A relay as its own process, run from source (tsx server/src/main.ts, no build needed) and
 * configured only through the environment: PGlite in a temporary folder unless DATABASE_URL is given.
 */
export async function spawnRelay(roots: TrustedRoot[], env: Record<string, string> = {}): Promise<RelayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'liaison-relay-'));
  const rootFiles = await Promise.all(
    roots.map(async (root, i) => {
      const path = join(dir, `root-${i}.json`);
      await writeFile(path, JSON.stringify(root));
      return path;
    }),
  );
  const port = await freePort();
  let output = '';
  let child: ChildProcess;
  const start = async () => {
    const mark = output.length;
    child = spawn(process.execPath, ['--conditions=@liaison/source', '--import', 'tsx', 'src/main.ts'], {
      cwd: serverDir,
      env: {
        ...process.env,
        PORT: String(port),
        DATA_DIR: join(dir, 'data'),
        LIAISON_TRUSTED_ROOTS: rootFiles.join(','),
        DATABASE_URL: '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const started = Date.now();
    while (!output.slice(mark).includes('relay.listening')) {
      if (Date.now() - started > 30_000 || child.exitCode !== null) {
        // A relay that did not come up in time must not outlive the test that started it.
        child.kill('SIGKILL');
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
      child.kill('SIGKILL');
      await exited();
      await start();
    },
    async kill() {
      child.kill('SIGKILL');
      await exited();
    },
    async stop() {
      child.kill('SIGTERM');
      const code = await exited();
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}
