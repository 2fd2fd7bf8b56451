import { randomUUID } from 'node:crypto';
import { BLOB_CHUNK_BYTES, LIMITS } from '@liaison/protocol';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { requestOrigin } from '../auth/addressed-origin.js';
import { asBuffer } from '../bytes.js';
import { RelayError, reportFailure } from '../errors.js';
import { federationRoutes } from '../federation/routes.js';
import type { RelayDeps } from '../relay-deps.js';
import { sameSecret } from '../sodium.js';
import { isReady } from '../storage/migrations.js';
import { clientAddress } from './client-address.js';
import { ROUTES } from './routes.js';
import { webApp } from './web-app.js';

/** An id a load balancer or client already gave the request is kept if it is plain; otherwise a new one. */
const REQUEST_ID = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * The express app: request ids and one log line per request, security headers, CORS as
 * configured, bounded JSON bodies, the route table, one error handler.
 */
export function createHttpApp(deps: RelayDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = requestId;
    res.set('x-request-id', requestId);
    const started = performance.now();
    res.on('finish', () => {
      // The route's template, not the path: ids in paths stay out of the logs.
      deps.log.info(
        {
          event: 'http.request',
          requestId,
          method: req.method,
          route: req.route?.path ?? res.locals.route ?? 'unmatched',
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'request',
      );
    });
    next();
  });
  app.use(helmet());
  if (deps.config.corsOrigins.length > 0) app.use(cors({ origin: deps.config.corsOrigins }));
  // Partner relays: signed over their raw bodies, which are larger (a batch of messages).
  if (deps.federation) app.use('/federation/v1', federationRoutes(deps, deps.federation));
  app.use(express.json({ limit: LIMITS.maxHttpBodyBytes, strict: true }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const full = deps.storage.shortage();
    const detail = full
      ? `storage full: ${full}`
      : (await isReady(deps.db))
        ? deps.clusterProblem()
        : 'database unreachable or not migrated';
    res.status(detail ? 503 : 200).json(detail ? { status: 'not-ready', detail } : { status: 'ready' });
  });

  app.get('/metrics', async (req, res) => {
    // Constant-time, so the token cannot be guessed byte by byte from response times.
    if (deps.config.metricsToken && !sameSecret(req.get('authorization') ?? '', `Bearer ${deps.config.metricsToken}`)) {
      throw new RelayError('UNAUTHENTICATED', 'a metrics bearer token is required');
    }
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  // No cache, a browser's disk or a proxy that ignores Authorization, keeps an API answer: attachment
  // ciphertext, directory entries, urgent states. Errors and unknown /v1 paths included.
  app.use('/v1', (_req, res, next) => {
    res.set('cache-control', 'no-store');
    next();
  });

  // One attachment chunk at a time, never a whole file.
  const chunkBody = express.raw({ type: 'application/octet-stream', limit: BLOB_CHUNK_BYTES });
  for (const route of ROUTES) {
    app[route.method](
      route.path,
      ...(route.source === 'bytes' ? [chunkBody] : []),
      async (req: Request, res: Response) => {
        const identity = !route.authenticated
          ? undefined
          : route.checksDevice
            ? await deps.auth.tokenIdentity(bearer(req))
            : await deps.auth.resolveToken(bearer(req));
        if (route.limit) {
          const { name, perMinute } = route.limit(deps.config);
          // By device, or by the client's address (behind load balancers, the one they report).
          const who = identity?.deviceId ?? `ip:${clientAddress(req, deps.config.trustProxyHops)}`;
          await deps.limits.take(`${name}:${who}`, perMinute);
        }
        const input =
          route.source === 'body' || route.source === 'bytes'
            ? req.body
            : route.source === 'query'
              ? { ...req.query }
              : undefined;
        const params = Object.fromEntries(Object.entries(req.params).map(([k, v]) => [k, String(v)]));
        const addressedOrigin = requestOrigin(req.protocol, req.get('host'));
        const result = await route.handle({ input, params, identity, addressedOrigin, deps });
        if (result instanceof Uint8Array) {
          // Not res.send: it hashes the body for an ETag (SHA-1 of 4 MiB per attachment chunk) no client uses.
          res.type('application/octet-stream').set('content-length', String(result.byteLength));
          res.end(asBuffer(result));
        } else {
          res.json(result);
        }
      },
    );
  }

  // After the API: no file of the web app can stand in for an endpoint.
  const { webDir, trustedRoots, publicOrigins } = deps.config;
  if (webDir) app.use(webApp({ dir: webDir, trustedRoots, publicOrigins }));

  app.use(() => {
    throw new RelayError('NOT_FOUND', 'no such endpoint');
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const requestId = res.locals.requestId as string;
    const failure = reportFailure(deps, error, {
      event: 'http.error',
      requestId,
      method: req.method,
      route: req.route?.path ?? 'unmatched',
    });
    res.status(failure.status).json({ ...failure.body(), requestId });
  });
  return app;
}

function bearer(req: Request): string {
  const header = req.get('authorization') ?? '';
  const match = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(header);
  if (!match?.[1]) throw new RelayError('UNAUTHENTICATED', 'a bearer token is required (POST /v1/auth/token)');
  return match[1];
}
