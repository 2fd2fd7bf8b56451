import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './relay-process.js';

/**
 * Servers a fault test can stop and start: a redis-server and a PostgreSQL cluster of its own,
 * and a TCP load balancer. All on loopback; all gone when the test stops them.
 */

async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

export interface RestartableServer {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startRedisServer(): Promise<RestartableServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server: RestartableServer = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(
        'redis-server',
        ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      await waitFor(() => portOpen(port), 'redis-server');
    },
    async stop() {
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((done) => child?.once('exit', done));
      child.kill('SIGKILL');
      await exited;
      await waitFor(async () => !(await portOpen(port)), 'redis-server to stop');
    },
  };
  await server.start();
  return server;
}

/** The newest installed PostgreSQL's bin folder (Debian's layout), or undefined when none is installed. */
export function postgresBin(): string | undefined {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort() : [];
  const bin = versions.length > 0 ? join('/usr/lib/postgresql', versions.at(-1) as string, 'bin') : undefined;
  return bin && existsSync(join(bin, 'initdb')) ? bin : undefined;
}

export interface PostgresServer extends RestartableServer {
  /** `pg_ctl stop -m fast` (an ordinary restart: sessions are told and closed) or `-m immediate` (as a crash). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops the cluster if it runs and removes its files. */
  destroy(): void;
}

/**
 * A throwaway PostgreSQL cluster (initdb), run as the postgres user when this process is root.
 * `parent`: the folder to make the cluster's folder in (a small file system, to fill it);
 * `walElsewhere`: its WAL in a folder of its own under the system's temporary folder instead.
 */
export async function startPostgresServer(
  options: { parent?: string; walElsewhere?: boolean } = {},
): Promise<PostgresServer> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed (/usr/lib/postgresql/*/bin)');
  const dir = mkdtempSync(join(options.parent ?? tmpdir(), 'liaison-pg-'));
  const walDir = options.walElsewhere ? mkdtempSync(join(tmpdir(), 'liaison-pg-wal-')) : undefined;
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    for (const owned of [dir, walDir]) if (owned) chownSync(owned, uid, gid);
  }
  const run = (command: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : command, asRoot ? ['-u', 'postgres', '--', command, ...args] : args, {
      stdio: 'ignore',
    });
  const data = join(dir, 'data');
  run(join(bin, 'initdb'), [
    '-D',
    data,
    ...(walDir ? ['-X', join(walDir, 'wal')] : []),
    '-U',
    'liaison',
    '-A',
    'trust',
    '-E',
    'UTF8',
    '--no-locale',
  ]);
  const port = await freePort();
  const server = {
    url: `postgres://liaison@127.0.0.1:${port}/postgres`,
    async start() {
      run(join(bin, 'pg_ctl'), [
        '-D',
        data,
        '-l',
        join(dir, 'log'),
        '-w',
        '-o',
        `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off`,
        'start',
      ]);
    },
    async stop(mode: 'fast' | 'immediate' = 'fast') {
      run(join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop']);
    },
    destroy() {
      if (existsSync(join(data, 'postmaster.pid')))
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
      if (walDir) rmSync(walDir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

/**
 * A TCP load balancer: each connection goes to the next backend in turn, skipping ones that
 * refuse. Enough for websocket-only clients, whose every connection is one TCP stream. With
 * `failover`, each connection goes to the first backend that accepts (a primary and its backups),
 * so a test knows which node a client is on until that node dies.
 */
export async function startLoadBalancer(
  backends: number[],
  { failover = false } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  let next = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.pause();
    const attempt = (tries: number) => {
      if (tries >= backends.length) return client.destroy();
      const port = backends[failover ? tries : next++ % backends.length] as number;
      const upstream = connect(port, '127.0.0.1');
      upstream.once('connect', () => {
        open.add(upstream);
        upstream.on('close', () => open.delete(upstream));
        client.pipe(upstream).pipe(client);
        client.resume();
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      upstream.once('error', () => attempt(tries + 1));
    };
    attempt(0);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
