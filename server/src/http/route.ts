import {
  ENDPOINTS,
  type Endpoint,
  type EndpointInput,
  type EndpointName,
  type EndpointOutput,
  type EndpointParams,
  type Endpoints,
} from '@liaison/protocol';
import type { z } from 'zod';
import type { DeviceIdentity } from '../auth/authenticator.js';
import { checked, RelayError } from '../errors.js';
import type { RelayDeps } from '../relay-deps.js';

/**
 * One HTTP endpoint as the relay mounts it: its definition from the protocol (ENDPOINTS) with its
 * handler. The authorization and fuzz suites enumerate the route table, so an endpoint cannot be
 * added without being tested against wrong identities and bad input.
 */
export interface Route {
  method: Endpoint['method'];
  path: string;
  /** Whether a bearer token is required. */
  authenticated: boolean;
  source: Endpoint['source'];
  /** What the input (of `source`) is checked against before the handler runs. */
  input: z.ZodType;
  /** The rate limit this endpoint counts against, if any: by device when authenticated, else by address. */
  limit?: RouteLimit;
  /** The handler checks that the token's device may still act (see Handler); the token is only looked up. */
  checksDevice: boolean;
  /**
   * Checks the input and the path's parameters against the definition, then runs the handler. What
   * it resolves to is sent as JSON, or as `application/octet-stream` when it is bytes.
   */
  handle(request: RouteRequest): Promise<unknown>;
}

export type RouteLimit = (config: RelayDeps['config']) => { name: string; perMinute: number };

/** A request as it arrives: the input of the route's source and the path's parameters, unchecked. */
export interface RouteRequest {
  input: unknown;
  params: Record<string, string>;
  identity: DeviceIdentity | undefined;
  /** The origin the request addressed (its scheme and Host header): the client's to choose. */
  addressedOrigin: string | undefined;
  deps: RelayDeps;
}

/** What a handler gets: input and parameters as the endpoint's schemas made them. */
export interface RouteContext<E extends Endpoint> {
  input: EndpointInput<E>;
  params: EndpointParams<E>;
  identity: DeviceIdentity | undefined;
  addressedOrigin: string | undefined;
  deps: RelayDeps;
}

export interface Handler<E extends Endpoint> {
  limit?: RouteLimit;
  /**
   * The handler itself refuses a device revoked or expired since its token was minted, with
   * `deviceNoLongerValid()`, before it reads or changes anything: so that a request that runs one
   * statement anyway (an attachment chunk, by the hundred per gigabyte) does not run a second one
   * for the token. Without it, the token's device is checked before the handler runs.
   */
  checksDevice?: true;
  handle(ctx: RouteContext<E>): Promise<EndpointOutput<E>>;
}

/** A handler for each of these endpoints: a definition without its handler does not compile. */
export type Handlers<N extends EndpointName> = { [K in N]: Handler<Endpoints[K]> };

/** The route table: every endpoint of the protocol, in its order, with its handler. */
export function routeTable(handlers: Handlers<EndpointName>): Route[] {
  const named = <K extends EndpointName>(name: K) => mount<Endpoints[K]>(ENDPOINTS[name], handlers[name]);
  return (Object.keys(ENDPOINTS) as EndpointName[]).map(named);
}

function mount<E extends Endpoint>(endpoint: E, handler: Handler<E>): Route {
  return {
    method: endpoint.method,
    path: endpoint.path,
    authenticated: endpoint.authenticated,
    source: endpoint.source,
    input: endpoint.input,
    ...(handler.limit && { limit: handler.limit }),
    checksDevice: handler.checksDevice === true,
    handle: async ({ input, params, ...rest }) => {
      let valid: Pick<RouteContext<E>, 'input' | 'params'>;
      try {
        valid = {
          input: checked<E['input']>(endpoint.input, input),
          params: checked<E['params']>(endpoint.params, params),
        };
      } catch (error) {
        // A device no longer valid learns that first, as on every other route, not what its input lacks.
        if (handler.checksDevice && rest.identity) await rest.deps.auth.stillValid(rest.identity);
        throw error;
      }
      return handler.handle({ ...valid, ...rest });
    },
  };
}

export function me(ctx: { identity: DeviceIdentity | undefined }): DeviceIdentity {
  if (!ctx.identity) throw new RelayError('UNAUTHENTICATED', 'a bearer token is required');
  return ctx.identity;
}
