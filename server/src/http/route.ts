import { z } from 'zod';
import type { DeviceIdentity } from '../auth/authenticator.js';
import { RelayError } from '../errors.js';
import type { RelayDeps } from '../relay-deps.js';

/**
 * One HTTP endpoint, as data: the authorization and fuzz suites enumerate the route table, so an
 * endpoint cannot be added without being tested against wrong identities and bad input.
 */
export interface Route {
  method: 'get' | 'post' | 'put';
  path: string;
  /** Whether a bearer token is required. */
  authenticated: boolean;
  /**
   * Where the input comes from, checked against `input` before the handler runs. `bytes`: an
   * `application/octet-stream` body of at most one attachment chunk.
   */
  source: 'body' | 'query' | 'none' | 'bytes';
  input: z.ZodType;
  /** The rate limit this endpoint counts against, if any: by device when authenticated, else by address. */
  limit?: (config: RelayDeps['config']) => { name: string; perMinute: number };
  /** What it resolves to is sent as JSON, or as `application/octet-stream` when it is bytes. */
  handle(ctx: RouteContext): Promise<unknown>;
}

export interface RouteContext {
  input: unknown;
  params: Record<string, string>;
  identity: DeviceIdentity | undefined;
  deps: RelayDeps;
}

export const None = z.unknown();

export function me(ctx: RouteContext): DeviceIdentity {
  if (!ctx.identity) throw new RelayError('UNAUTHENTICATED', 'a bearer token is required');
  return ctx.identity;
}

export function param<T>(ctx: RouteContext, name: string, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(ctx.params[name]);
  if (!parsed.success) throw new RelayError('INVALID_INPUT', `${name}: not a valid id`);
  return parsed.data;
}
