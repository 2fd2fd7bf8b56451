import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testNetwork } from './harness/network.js';
import { type RelayProcess, runRelayToExit, spawnRelay } from './harness/relay-process.js';

const INDEX = '<!doctype html><title>Liaison</title><script type="module" src="/assets/app-abc.js"></script>\n';
const APP = `console.log(${JSON.stringify('Liaison web app '.repeat(200))});\n`;
const CSS = 'body { margin: 0 }\n';
const SECRET = 'secret outside the web folder';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * One request with exactly this path and these headers: node:http sends the path as written (fetch
 * would resolve `..` itself) and neither asks for nor undoes compression unless told.
 */
function get(relay: RelayProcess, path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<Answer>((done, fail) => {
    const req = request({ host: '127.0.0.1', port: relay.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

const json = (answer: Answer) => JSON.parse(answer.body.toString()) as Record<string, unknown>;

describe('the relay serves the built web app at / (LIAISON_WEB_DIR)', () => {
  let dir: string;
  let web: string;
  let relay: RelayProcess;
  let net: Awaited<ReturnType<typeof testNetwork>>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'liaison-web-'));
    web = join(dir, 'dist');
    // What the web build writes: index.html, hashed assets, a .gz beside what is worth compressing.
    await mkdir(join(web, 'assets'), { recursive: true });
    await writeFile(join(web, 'index.html'), INDEX);
    await writeFile(join(web, 'index.html.gz'), gzipSync(INDEX));
    await writeFile(join(web, 'assets/app-abc.js'), APP);
    await writeFile(join(web, 'assets/app-abc.js.gz'), gzipSync(APP));
    await writeFile(join(web, 'assets/app-abc.css'), CSS);
    await writeFile(join(web, 'assets/sodium-abc.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    // What must never be served: dotfiles in the folder, anything beside or above it.
    await writeFile(join(web, '.env'), SECRET);
    await writeFile(join(web, 'assets/.hidden.js'), SECRET);
    await writeFile(join(dir, 'secret.txt'), SECRET);
    await mkdir(join(web, 'v1'));
    await writeFile(join(web, 'v1/index.html'), INDEX);
    net = await testNetwork();
    relay = await spawnRelay([net.root], {
      LIAISON_WEB_DIR: web,
      LIAISON_PUBLIC_ORIGIN: 'https://relay.example.org',
    });
  });
  afterAll(async () => {
    await relay?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('/ is index.html, revalidated on every load, with the page security headers', async () => {
    const page = await get(relay, '/');
    expect(page.status).toBe(200);
    expect(page.body.toString()).toBe(INDEX);
    expect(page.headers).toMatchObject({
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      vary: 'Accept-Encoding',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'permissions-policy': 'camera=(), microphone=(), geolocation=()',
    });
    expect(page.headers['content-encoding']).toBeUndefined();
    // libsodium's WebAssembly needs 'wasm-unsafe-eval', never 'unsafe-eval'; sockets only to the relay's own origin.
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; " +
        "connect-src 'self' https://relay.example.org wss://relay.example.org; object-src 'none'; base-uri 'none'; " +
        "frame-ancestors 'none'; form-action 'self'",
    );
    expect((await get(relay, '/index.html')).body.toString()).toBe(INDEX);
  });

  it('sends the precompressed .gz to a client that accepts gzip, the file itself otherwise', async () => {
    const zipped = await get(relay, '/assets/app-abc.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(zipped.status).toBe(200);
    expect(zipped.headers).toMatchObject({
      'content-encoding': 'gzip',
      'content-type': 'text/javascript; charset=utf-8',
      vary: 'Accept-Encoding',
    });
    expect(zipped.body.length).toBeLessThan(APP.length / 4);
    expect(gunzipSync(zipped.body).toString()).toBe(APP);

    const refusals: Record<string, string>[] = [{}, { 'accept-encoding': 'br' }, { 'accept-encoding': 'gzip;q=0, br' }];
    for (const refused of refusals) {
      const plain = await get(relay, '/assets/app-abc.js', refused);
      expect(plain.headers['content-encoding'], JSON.stringify(refused)).toBeUndefined();
      expect(plain.headers.vary).toBe('Accept-Encoding');
      expect(plain.body.toString()).toBe(APP);
    }
    // No .gz beside it: the file itself, to any client.
    const css = await get(relay, '/assets/app-abc.css', { 'accept-encoding': 'gzip' });
    expect(css.headers['content-encoding']).toBeUndefined();
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body.toString()).toBe(CSS);
    // WebAssembly.instantiateStreaming accepts nothing but this type.
    expect((await get(relay, '/assets/sodium-abc.wasm')).headers['content-type']).toBe('application/wasm');
  });

  it('caches hashed assets for a year, and answers a revalidation of index.html with 304', async () => {
    const asset = await get(relay, '/assets/app-abc.js');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const page = await get(relay, '/');
    const again = await get(relay, '/', { 'if-none-match': String(page.headers.etag) });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    const head = await get(relay, '/', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(INDEX.length));
    expect(head.body.length).toBe(0);
    // Logged as the app's, like every request, without its path.
    const logged = relay
      .output()
      .split('\n')
      .filter((l) => l.includes('"route":"web app"'));
    expect(logged.length).toBeGreaterThanOrEqual(4);
    expect(logged.join('\n')).not.toContain('app-abc');
  });

  it('/config.json: the trusted roots the relay was started with, revalidated on every load', async () => {
    const config = await get(relay, '/config.json');
    expect(config.status).toBe(200);
    expect(config.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(config.headers['cache-control']).toBe('no-cache');
    expect(config.headers['content-security-policy']).toContain("default-src 'self'");
    expect(json(config)).toEqual({ trustedRoots: [net.root] });
  });

  it('404 for unknown files and client-side paths, folders (no listing) and dotfiles', async () => {
    for (const path of [
      '/assets/missing-abc.js',
      '/conversations/th-oag.alice',
      '/assets',
      '/assets/',
      '//assets/app-abc.js',
      '/.env',
      '/%2eenv',
      '/assets/.hidden.js',
      '/%',
    ]) {
      const answer = await get(relay, path);
      expect(answer.status, path).toBe(404);
      expect(answer.headers['content-type'], path).toBe('application/json; charset=utf-8');
      expect(json(answer).error, path).toBe('NOT_FOUND');
      expect(answer.body.toString(), path).not.toContain(SECRET);
    }
  });

  it('no path, however encoded, reaches a file outside the folder', async () => {
    for (const path of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E%2Fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/..%5csecret.txt',
      '/%252e%252e/secret.txt',
      `/${'%2e%2e/'.repeat(12)}etc/passwd`,
      '/secret.txt%00.html',
    ]) {
      const answer = await get(relay, path);
      expect(answer.status, path).toBe(404);
      expect(answer.body.toString(), path).not.toContain(SECRET);
      expect(answer.body.toString(), path).not.toContain('root:');
    }
  });

  it('leaves the API alone: its answers, its errors and socket.io are the same as without the app', async () => {
    const health = await get(relay, '/healthz');
    expect(json(health)).toEqual({ status: 'ok' });
    expect(health.headers['cache-control']).toBeUndefined();
    const unknown = await get(relay, '/v1/no-such-endpoint');
    expect(unknown.status).toBe(404);
    expect(json(unknown)).toMatchObject({ error: 'NOT_FOUND', message: 'no such endpoint' });
    // An API path is never a file of the app, even when the folder holds one by that name.
    expect((await get(relay, '/v1/index.html')).status).toBe(404);
    const refused = await fetch(`${relay.url}/v1/auth/challenge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deviceId: 'not a device', purpose: 'token' }),
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'INVALID_INPUT' });
    // engine.io answers its own path (WebSocket only: polling is refused), not index.html.
    const socket = await get(relay, '/socket.io/?EIO=4&transport=polling');
    expect(socket.body.toString()).not.toContain('<!doctype html>');
    // A POST to the page is no API call and no file.
    expect((await get(relay, '/', {}, 'POST')).status).toBe(404);
  });
});

describe('without a built app, or with serving off', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'liaison-web-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('a folder without index.html (not built yet): / says so in plain text, logged once at start, and a build shows at once', async () => {
    const web = join(dir, 'empty');
    await mkdir(web);
    const relay = await spawnRelay([], { LIAISON_WEB_DIR: web });
    try {
      const page = await get(relay, '/');
      expect(page.status).toBe(404);
      expect(page.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(page.headers['cache-control']).toBe('no-cache');
      expect(page.body.toString()).toContain('The Liaison web app is not built');
      expect(page.body.toString()).toContain('npm run build');
      const warnings = relay
        .output()
        .split('\n')
        .filter((l) => l.includes('relay.web-not-built'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(web);
      // The API still works; config.json too, which a page built later reads.
      expect(json(await get(relay, '/healthz'))).toEqual({ status: 'ok' });
      expect(json(await get(relay, '/config.json'))).toEqual({ trustedRoots: [] });

      await writeFile(join(web, 'index.html'), INDEX);
      expect((await get(relay, '/')).body.toString()).toBe(INDEX);
    } finally {
      await relay.stop();
    }
  });

  it('LIAISON_WEB_DIR=off: the relay serves its API only', async () => {
    const relay = await spawnRelay([], { LIAISON_WEB_DIR: 'off' });
    try {
      for (const path of ['/', '/index.html', '/config.json']) {
        const answer = await get(relay, path);
        expect(answer.status, path).toBe(404);
        expect(json(answer).error, path).toBe('NOT_FOUND');
      }
      expect(relay.output()).toContain('"web":"off"');
      expect(relay.output()).not.toContain('relay.web-not-built');
      expect(json(await get(relay, '/healthz'))).toEqual({ status: 'ok' });
    } finally {
      await relay.stop();
    }
  });

  it('an explicit LIAISON_WEB_DIR that is missing or not a folder stops the relay with one line', async () => {
    const missing = join(dir, 'missing');
    const file = join(dir, 'file');
    await writeFile(file, 'not a folder');
    const expected = 'expected the folder of the built web app (npm run build writes web/dist), or off';
    for (const [value, found] of [
      [missing, `no folder ${missing}`],
      [file, `${file}, which is not a folder`],
    ]) {
      const exit = await runRelayToExit({ LIAISON_WEB_DIR: value });
      expect(exit.code).toBe(1);
      expect(exit.output.trim().split('\n')).toHaveLength(1);
      expect(exit.logLines[0]?.msg).toBe(`LIAISON_WEB_DIR: found ${found}; ${expected}`);
    }
  });
});
