import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { RELAY_NODE_FLAGS } from '@liaison/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient } from './harness/clients.js';
import { freshEnv, runCommand } from './harness/commands.js';
import { parseDockerfile, parseEnv, type Stage } from './harness/dockerfile.js';
import { testNetwork } from './harness/network.js';
import { freePort } from './harness/relay-process.js';
import { until } from './harness/until.js';

const repo = resolve(import.meta.dirname, '..');
/** The official node image's user `node`. */
const NODE_USER = { name: 'node', uid: 1000, gid: 1000 };
/** The web package (web/) is in this tree: the image must hold its build. */
const hasWebApp = existsSync(join(repo, 'web/package.json'));
/** Packages that belong to development only, and must not be in the image. */
const DEV_ONLY = ['typescript', 'tsx', 'vitest', '@biomejs/biome', 'fast-check', 'esbuild'];

/** A stage replayed here: its filesystem root is a folder, absolute paths of the stage lie under it. */
interface Replayed {
  root: string;
  workdir: string;
  env: Record<string, string>;
  user?: string;
  cmd?: string[];
  /** RUN commands of the stage, replayed or not. */
  runs: string[];
}

/** The build context: what `docker build .` sends, i.e. the files git knows or would, minus ignored ones. */
function contextFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repo })
    .toString()
    .split('\0')
    .filter((f) => f.length > 0);
}

/**
 * Replays one stage. RUN commands run in the stage's working folder when `runRuns` (the build
 * stage: npm and the compiler, relative paths only); the runtime stage's RUN makes system folders
 * and owners, which the test checks and does itself.
 */
async function replay(
  stage: Stage,
  root: string,
  stages: Map<string, Replayed>,
  runRuns: boolean,
  timings: Record<string, number>,
): Promise<Replayed> {
  const done: Replayed = { root, workdir: '/', env: {}, runs: [] };
  const here = (path: string) => join(root, posix.resolve(done.workdir, path));
  for (const { op, args } of stage.instructions) {
    if (op === 'WORKDIR') {
      done.workdir = posix.resolve(done.workdir, args);
      await mkdir(here('.'), { recursive: true });
    } else if (op === 'COPY') {
      const [, from, src = '', dest = ''] = /^(?:--from=(\S+)\s+)?(\S+)\s+(\S+)$/.exec(args) ?? [];
      if (from) {
        const source = stages.get(from);
        if (!source) throw new Error(`COPY --from=${from}: no such stage`);
        await cp(join(source.root, src), here(dest), { recursive: true });
      } else if (src === '.') {
        for (const file of contextFiles()) {
          await cp(join(repo, file), join(here(dest), file), { force: true }).catch((error) => {
            if (error.code !== 'ENOENT') throw error; // deleted, not yet committed
          });
        }
      } else {
        throw new Error(`COPY ${args}: not replayed by this test`);
      }
    } else if (op === 'RUN') {
      done.runs.push(args);
      if (runRuns) {
        const started = Date.now();
        await runCommand('sh', ['-c', args], here('.'), done.env);
        timings[args] = Date.now() - started;
      }
    } else if (op === 'ENV') {
      Object.assign(done.env, parseEnv(args));
    } else if (op === 'USER') {
      done.user = args;
    } else if (op === 'CMD') {
      done.cmd = JSON.parse(args);
    } else if (op !== 'EXPOSE') {
      throw new Error(`${op} ${args}: not replayed by this test; teach it`);
    }
  }
  return done;
}

/** Every file under a folder, relative to it. */
async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(folder.length + 1));
}

describe('the relay image, built by replaying the Dockerfile in a temporary folder (no Docker engine runs here)', () => {
  let dir: string;
  let image: Replayed;
  let relay: ChildProcess | undefined;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    const stages = parseDockerfile(await readFile(join(repo, 'Dockerfile'), 'utf8'));
    expect(stages.map((s) => s.from)).toEqual(['node:20-bookworm-slim', 'node:20-bookworm-slim']);
    dir = await mkdtemp(join(tmpdir(), 'liaison-image-'));
    // The relay runs as the image's user below: it must be able to reach its folders.
    await chmod(dir, 0o755);
    const replayed = new Map<string, Replayed>();
    const [build, runtime] = stages as [Stage, Stage];
    const started = Date.now();
    replayed.set(build.name ?? '0', await replay(build, join(dir, 'build'), replayed, true, timings));
    image = await replay(runtime, join(dir, 'image'), replayed, false, timings);
    timings.total = Date.now() - started;
  }, 900_000);
  afterAll(async () => {
    if (relay?.exitCode === null) relay.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    console.error(`image build steps (ms): ${JSON.stringify(timings)}`);
  });

  it('holds the compiled relay with production dependencies only, and no source', async () => {
    const app = join(image.root, image.workdir);
    const files = await filesUnder(app);
    expect(files).toContain('server/dist/main.js');
    expect(files).toContain('protocol/dist/index.js');
    expect(files.filter((f) => !f.startsWith('node_modules/') && /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([]);
    // The web app's built files where the relay looks for them by default, and nothing else of web/.
    if (hasWebApp) expect(files).toContain('web/dist/index.html');
    expect(files.filter((f) => f.startsWith('web/') && !f.startsWith('web/dist/'))).toEqual([]);
    for (const name of DEV_ONLY) {
      await expect(stat(join(app, 'node_modules', name)), name).rejects.toThrow();
    }
  });

  it('runs node itself, not npm, as the non-root user that owns its data folder', () => {
    expect(image.cmd).toEqual(['node', ...RELAY_NODE_FLAGS, 'server/dist/main.js']);
    expect(image.user).toBe(NODE_USER.name);
    const dataFolder = dirname(image.env.LIAISON_DATA_DIR ?? '');
    expect(dataFolder).toMatch(/^\/var\/lib\//);
    // The runtime stage's RUN is not replayed (it makes system folders): it must make this one the user's.
    expect(image.runs.join('\n')).toMatch(
      new RegExp(`mkdir -p [^&]*${dataFolder}[^&]*&& chown ${NODE_USER.name}:${NODE_USER.name} ${dataFolder}`),
    );
  });

  it('starts from the result: ready, serving devices, and stopping with exit 0 on SIGTERM', async () => {
    const net = await testNetwork();
    // What the runtime stage's RUN does, and what the deployment mounts (docker-compose.yml).
    const data = join(image.root, dirname(image.env.LIAISON_DATA_DIR as string));
    await mkdir(data, { recursive: true });
    const asRoot = process.getuid?.() === 0;
    if (asRoot) await chown(data, NODE_USER.uid, NODE_USER.gid);
    const rootFile = join(image.root, 'etc/liaison/roots/seajust.root.json');
    await mkdir(dirname(rootFile), { recursive: true });
    await writeFile(rootFile, JSON.stringify(net.root));

    const port = await freePort();
    const [command, ...args] = image.cmd as string[];
    relay = spawn(command === 'node' ? process.execPath : (command as string), args, {
      cwd: join(image.root, image.workdir),
      env: freshEnv({
        ...image.env,
        // Paths of the image's filesystem, here; loopback on this shared machine, not 0.0.0.0.
        LIAISON_DATA_DIR: join(image.root, image.env.LIAISON_DATA_DIR as string),
        LIAISON_TRUSTED_ROOTS: rootFile,
        LIAISON_HOST: '127.0.0.1',
        LIAISON_PORT: String(port),
        LIAISON_DATABASE_URL: '',
        LIAISON_REDIS_URL: '',
      }),
      // As the image's user when this test can: the code is root's, the data folder the user's.
      ...(asRoot && { uid: NODE_USER.uid, gid: NODE_USER.gid }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    relay.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    relay.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((done) => relay?.once('exit', (code) => done(code)));
    const url = `http://127.0.0.1:${port}`;
    await until(
      async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200 || relay?.exitCode !== null,
      'the relay to be ready',
      60_000,
    );
    expect(relay.exitCode, output).toBeNull();
    expect(output).toContain(`"database":"pglite ${join(image.root, image.env.LIAISON_DATA_DIR as string)}"`);

    const alice = await startClient(url, await net.authority('th-oag', 'TH').contactPoint('alice').addDevice(), [
      net.root,
    ]);
    const bob = await startClient(url, await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice(), [net.root]);
    await alice.client.send('vn-spp.bob', { text: 'from the image' });
    expect((await bob.waitForMessages(1))[0]?.text).toBe('from the image');
    await Promise.all([alice.client.close(), bob.client.close()]);
    // The web app at /; a tree without the web package gives the page saying it is not built.
    const page = await fetch(`${url}/`);
    if (hasWebApp) expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    else expect(await page.text()).toContain('The Liaison web app is not built');

    relay.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('relay stopped');
  });
});
