import { randomUUID } from 'node:crypto';
import { BLOB_CHUNK_BYTES, type ErrorBody, LIMITS, parseInput } from '@liaison/protocol';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { RelayError, statusOf, toErrorBody } from '../errors.js';
import type { RelayDeps } from '../relay-deps.js';
import { sameSecret } from '../sodium.js';
import { isReady } from '../storage/migrations.js';
import { clientAddress } from './client-address.js';
import { ROUTES } from './routes.js';

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
          route: req.route?.path ?? 'unmatched',
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
      res
        .status(401)
        .json({ error: 'UNAUTHENTICATED', message: 'a metrics bearer token is required' } satisfies ErrorBody);
      return;
    }
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  // One attachment chunk at a time, never a whole file.
  const chunkBody = express.raw({ type: 'application/octet-stream', limit: BLOB_CHUNK_BYTES });
  for (const route of ROUTES) {
    app[route.method](
      route.path,
      ...(route.source === 'bytes' ? [chunkBody] : []),
      async (req: Request, res: Response) => {
        const identity = route.authenticated ? await deps.auth.resolveToken(bearer(req)) : undefined;
        if (route.limit) {
          const { name, perMinute } = route.limit(deps.config);
          // By device, or by the client's address (behind load balancers, the one they report).
          const who = identity?.deviceId ?? `ip:${clientAddress(req, deps.config.trustProxyHops)}`;
          await deps.limits.take(`${name}:${who}`, perMinute);
        }
        const raw =
          route.source === 'body' || route.source === 'bytes'
            ? req.body
            : route.source === 'query'
              ? { ...req.query }
              : undefined;
        let input: unknown;
        if (route.source !== 'none') {
          const parsed = parseInput(route.input, raw);
          if (!parsed.ok) throw new RelayError(parsed.error.error, parsed.error.message, parsed.error.details);
          input = parsed.value;
        }
        const params = Object.fromEntries(Object.entries(req.params).map(([k, v]) => [k, String(v)]));
        const result = await route.handle({ input, params, identity, deps });
        if (result instanceof Uint8Array) {
          res.type('application/octet-stream').send(Buffer.from(result.buffer, result.byteOffset, result.byteLength));
        } else {
          res.json(result);
        }
      },
    );
  }

  app.use((_req, res) => {
    res.status(404).json({ error: 'NOT_FOUND', message: 'no such endpoint' } satisfies ErrorBody);
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const requestId = res.locals.requestId as string;
    const body = { ...(frameworkError(error) ?? toErrorBody(error)), requestId };
    deps.metrics.errors.inc({ code: body.error });
    if (body.error === 'INTERNAL' || body.error === 'UNAVAILABLE') {
      deps.log.error(
        {
          event: 'http.error',
          requestId,
          method: req.method,
          route: req.route?.path ?? 'unmatched',
          err: describe(error),
        },
        'request failed',
      );
    }
    res.status(statusOf(body)).json(body);
  });
  return app;
}

function bearer(req: Request): string {
  const header = req.get('authorization') ?? '';
  const match = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(header);
  if (!match?.[1]) throw new RelayError('UNAUTHENTICATED', 'a bearer token is required (POST /v1/auth/token)');
  return match[1];
}

/**
 * Failures raised by express itself (body parsing, a path that does not decode), as stable codes.
 * They carry a 4xx status; anything else is the relay's own error.
 */
function frameworkError(error: unknown): ErrorBody | undefined {
  const { type, status, limit } = (error ?? {}) as { type?: string; status?: number; limit?: number };
  if (type === 'entity.too.large') return { error: 'PAYLOAD_TOO_LARGE', message: `body over ${limit} bytes` };
  if (type === 'entity.parse.failed') return { error: 'INVALID_INPUT', message: 'body is not valid JSON' };
  if (error instanceof RelayError || typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  return { error: 'INVALID_INPUT', message: 'malformed request' };
}

/** The error's kind and message for the log: never request data. */
function describe(error: unknown): { name?: string; message?: string; code?: unknown } {
  const e = error as { name?: string; message?: string; code?: unknown };
  return { name: e?.name, message: e?.message, code: e?.code };
}
