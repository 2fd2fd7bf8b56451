import { stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { TrustedRoot } from '@liaison/protocol';
import express, { type NextFunction, type Request, type Response } from 'express';

/**
 * The practitioner's web app (web/), served from the folder its build wrote: files only, read from
 * disk on each request (a build while the relay runs is picked up), never its code imported.
 * docs/relay.md, "The web app", says what is served with which headers, and why.
 */

/** Paths that belong to the API (and to engine.io, in front of express): never a file of the web app. */
const API_PATHS = /^\/(v1|socket\.io|healthz|readyz|metrics)(\/|$)/i;

/** Hashed build outputs: their name changes whenever their content does. */
const ASSETS = 'assets/';
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Anything else (index.html, config.json) is checked with the relay on each use: a new build shows at once. */
const REVALIDATE = 'no-cache';

export const NOT_BUILT =
  'The Liaison web app is not built.\n\n' +
  'Build it with `npm run build` at the root of the repository (or `npm run build -w @liaison/web`),\n' +
  'then reload this page. The relay serves it from LIAISON_WEB_DIR (default: web/dist).\n';

/**
 * The Content-Security-Policy of every web app response. Script only from the relay, plus
 * 'wasm-unsafe-eval' because libsodium compiles its WebAssembly at start (not 'unsafe-eval': no
 * string of JavaScript is ever evaluated). connect-src is the relay itself: its public origins
 * and their WebSocket schemes when LIAISON_PUBLIC_ORIGIN is set, else any WebSocket, since the
 * names clients reach it by are then unknown ('self' covers ws: only in CSP Level 3 browsers).
 */
export function webAppCsp(publicOrigins: readonly string[]): string {
  const sockets = (origin: string) => [origin, origin.replace(/^http/, 'ws')];
  const connect = publicOrigins.length > 0 ? publicOrigins.flatMap(sockets) : ['ws:', 'wss:'];
  return [
    "default-src 'self'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ${connect.join(' ')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

/**
 * The relative path of the file a request names, or undefined for anything that cannot be one of
 * the app's files: undecodable, a folder (no listings), a dotfile, `..` however it is encoded.
 */
export function webFile(path: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  if (decoded === '/') return 'index.html';
  const segments = decoded.slice(1).split('/');
  const refused = (s: string) => s === '' || s.startsWith('.') || s.includes('\\') || s.includes('\0');
  return decoded.startsWith('/') && !segments.some(refused) ? segments.join('/') : undefined;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

export interface WebAppOptions {
  /** The built app: index.html, assets/, and a `.gz` beside each file worth compressing. */
  dir: string;
  trustedRoots: readonly TrustedRoot[];
  publicOrigins: readonly string[];
}

/** GET and HEAD of `/`, `/config.json` and the app's files; everything else goes on to the API's 404. */
export function webApp({ dir, trustedRoots, publicOrigins }: WebAppOptions): express.Router {
  const headers = {
    'Content-Security-Policy': webAppCsp(publicOrigins),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
  };
  // Over helmet's defaults, which suit JSON answers but not a page (its CSP would block libsodium).
  const secure = (res: Response) => {
    res.set(headers);
    res.locals.route = 'web app'; // the log line's route: a file name is no template
  };
  const config = { trustedRoots };
  const router = express.Router();

  // Made by the relay from its own settings: a static deployment writes this file by hand.
  router.get('/config.json', (_req, res) => {
    secure(res);
    res.set('Cache-Control', REVALIDATE).json(config);
  });

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || API_PATHS.test(req.path)) return next();
    const file = webFile(req.path);
    if (!file) return next();
    if (!(await isFile(join(dir, file)))) {
      if (file !== 'index.html') return next();
      secure(res);
      res.status(404).set('Cache-Control', REVALIDATE).type('text/plain').send(NOT_BUILT);
      return;
    }
    // The build wrote a compressed copy beside the file: sent as is, never compressed per request.
    const gzip = req.acceptsEncodings('gzip') === 'gzip' && (await isFile(join(dir, `${file}.gz`)));
    secure(res);
    res.vary('Accept-Encoding');
    res.set('Cache-Control', file.startsWith(ASSETS) ? IMMUTABLE : REVALIDATE);
    // From the file's own name, also when its .gz is sent (sendFile keeps a type already set).
    res.type(extname(file) || 'application/octet-stream');
    if (gzip) res.set('Content-Encoding', 'gzip');
    res.sendFile(gzip ? `${file}.gz` : file, { root: dir, cacheControl: false }, (error?: NodeJS.ErrnoException) => {
      if (!error || res.headersSent) return; // sent, or the client went away
      // Gone between the look and the read: a 404 like any missing file.
      if ((error as { status?: number }).status === 404) {
        for (const name of ['Content-Encoding', 'Cache-Control', 'Content-Type']) res.removeHeader(name);
        return next();
      }
      next(error);
    });
  });
  return router;
}
