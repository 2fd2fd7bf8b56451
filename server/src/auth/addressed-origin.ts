import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';

/**
 * The origin an HTTP request addressed (its scheme and Host header), for the challenge to name the
 * relay's public origin the client knows it by, when the relay has several (LIAISON_PUBLIC_ORIGIN
 * as a list: `http://localhost:8080` and `http://127.0.0.1:8080`, say). Carried in async-local
 * storage from the HTTP app down to the authenticator, which has no request of its own.
 *
 * Only a listed origin is ever used: the Host header is the client's to choose, so it can pick one
 * of the origins the operator allowed, nothing else.
 */
const addressed = new AsyncLocalStorage<string | undefined>();

/** Express middleware: what follows it (the route handlers) runs knowing the addressed origin. */
export function withAddressedOrigin(req: Request, _res: Response, next: NextFunction): void {
  const host = req.get('host');
  let origin: string | undefined;
  if (host && URL.canParse(`${req.protocol}://${host}`)) origin = new URL(`${req.protocol}://${host}`).origin;
  addressed.run(origin, next);
}

export const addressedOrigin = (): string | undefined => addressed.getStore();

/**
 * The public origin a challenge names: the one addressed when it is listed, else the first listed
 * (behind a load balancer, the Host a node sees may be an internal one). Undefined when none is set.
 */
export function publicOrigin(listed: readonly string[], addressedOrigin: string | undefined): string | undefined {
  if (addressedOrigin !== undefined && listed.includes(addressedOrigin)) return addressedOrigin;
  return listed[0];
}
