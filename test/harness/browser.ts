import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { type Browser, chromium, type Page } from 'playwright-core';
import { machineRequirement } from './services.js';

/**
 * Real Chromium for the browser tests (issue 19): Debian's `chromium` package (no browser can be
 * downloaded here; .ci/run installs it), driven by playwright-core. Pages are served on loopback by
 * the test itself, with a bundle of the SDK built by esbuild as an integrator's bundler would.
 */

const root = resolve(import.meta.dirname, '../..');

/** Where the browser tests save screenshots of their pages (git-ignored; docs/browser.md). */
export const SCREENSHOTS = resolve(root, 'test-results/screenshots');

/** The Chromium binary: LIAISON_CHROMIUM, or Debian's. */
export function chromiumPath(): string {
  const path = process.env.LIAISON_CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(path)) throw new Error(missingChromium() as string);
  return path;
}

function missingChromium(): string | undefined {
  const path = process.env.LIAISON_CHROMIUM ?? '/usr/bin/chromium';
  return existsSync(path)
    ? undefined
    : `no Chromium at ${path}: install Debian's chromium package (apt-get install chromium), or set LIAISON_CHROMIUM`;
}

/** Groups of browser tests: skipped with the reason without Chromium, failing in CI (.ci/run installs it). */
export const withChromium = machineRequirement(missingChromium);

export async function launchChromium(args: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    // --no-sandbox: the tests may run as root in a container, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', '--disable-dev-shm-usage', ...args],
  });
}

export interface Bundle {
  code: string;
  metafile: Metafile;
}

/**
 * How a web application bundles the SDK: its source (through the `@liaison/source` condition) and
 * its dependencies, for `platform: 'browser'`, minified as an application ships it. A Node
 * built-in reached from the browser entries fails the build.
 */
export function browserBuild(entry: string) {
  return {
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@liaison/source'],
    minify: true,
    metafile: true,
    logLevel: 'silent',
  } satisfies BuildOptions;
}

/** Bundles a page script for the browser (browserBuild). */
export async function bundle(entry: string, options: { minify?: boolean } = {}): Promise<Bundle> {
  const result = await build({ ...browserBuild(entry), minify: options.minify ?? true });
  const [output] = result.outputFiles;
  if (!output) throw new Error(`esbuild wrote nothing for ${entry}`);
  return { code: output.text, metafile: result.metafile };
}

export interface PageServer {
  /** http://127.0.0.1:PORT, the pages' origin. */
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves a page that loads `script` as a module, at every path, on a loopback port. `headers`
 * are sent with the page (a Content-Security-Policy, say).
 */
export async function servePage(script: string, headers: Record<string, string> = {}): Promise<PageServer> {
  const html =
    '<!doctype html><html><head><meta charset="utf-8"><title>Liaison browser test</title></head>' +
    '<body><h1>Liaison browser test</h1><pre id="log"></pre><script type="module" src="/page.js"></script></body></html>';
  const server: Server = createServer((request, response) => {
    if (request.url?.startsWith('/page.js')) {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      response.end(script);
      return;
    }
    if (request.url === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...headers });
    response.end(html);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Opens the page and waits until its script has set `window.ready`. */
export async function openPage(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true, undefined, {
    timeout: 30_000,
  });
}

/** Saves a screenshot of the page as test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = resolve(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Bytes of the page's JavaScript heap in use, as Chromium counts it (garbage collected first). */
export async function heapUsed(page: Page): Promise<number> {
  const session = await page.context().newCDPSession(page);
  await session.send('HeapProfiler.collectGarbage');
  const { usedSize } = (await session.send('Runtime.getHeapUsage')) as { usedSize: number };
  await session.detach();
  return usedSize;
}

/** What `watchMemory` needs of the browser: `gc()` in its pages (launchChromium's `args`). */
export const EXPOSE_GC = '--js-flags=--expose-gc';

/**
 * Watches the page's memory while something runs: the JavaScript heap and the ArrayBuffers'
 * backing stores (where a file read whole would land), sampled after a garbage collection every
 * `everyMs`. `baseline` is the first sample; `stop()` resolves with the largest, in bytes. The
 * browser must be launched with EXPOSE_GC.
 *
 * Each sample is taken with the page's JavaScript paused (Debugger.pause), so that it counts what
 * the page holds at one point of its code. Between collections asked for one by one, a page
 * sealing chunks went on and dropped buffers that were still counted when read (44 MiB measured
 * under load for an upload holding 20); and V8 collects with the page paused only when asked by
 * the page's own `gc()` (HeapProfiler.collectGarbage waits for it to run again).
 */
export async function watchMemory(page: Page, everyMs = 250): Promise<{ baseline: number; stop(): Promise<number> }> {
  if (!(await page.evaluate(() => typeof (globalThis as { gc?: unknown }).gc === 'function'))) {
    throw new Error(`watchMemory needs the browser launched with ${EXPOSE_GC}`);
  }
  const session = await page.context().newCDPSession(page);
  await session.send('Debugger.enable');
  let onPause: (() => void) | undefined;
  // A pause asked for while the page was idle comes when it next runs, after its sample: let go.
  session.on('Debugger.paused', () => {
    if (onPause) onPause();
    else void session.send('Debugger.resume').catch(() => undefined);
  });
  let peak = 0;
  let running = true;
  const sample = async () => {
    const paused = new Promise<boolean>((resolve) => {
      onPause = () => resolve(true);
      // An idle page runs nothing to pause, and allocates nothing either: it is read as it is.
      setTimeout(() => resolve(false), 50);
    });
    await session.send('Debugger.pause');
    const held = await paused;
    onPause = undefined;
    try {
      // Twice: ArrayBuffers found dead by the first collection are freed after it, not during it.
      await session.send('Runtime.evaluate', { expression: 'gc(); gc()' });
      const usage = (await session.send('Runtime.getHeapUsage')) as { usedSize: number; backingStorageSize?: number };
      const used = usage.usedSize + (usage.backingStorageSize ?? 0);
      peak = Math.max(peak, used);
      return used;
    } finally {
      if (held) await session.send('Debugger.resume');
    }
  };
  const baseline = await sample();
  const loop = (async () => {
    while (running) {
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      await sample();
    }
  })();
  return {
    baseline,
    async stop() {
      running = false;
      await loop;
      await session.send('Debugger.disable');
      await session.detach();
      return peak;
    },
  };
}
