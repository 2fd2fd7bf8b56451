/**
 * The public origin a challenge names, when the relay has several (LIAISON_PUBLIC_ORIGIN as a list:
 * `http://localhost:8080` and `http://127.0.0.1:8080`, say): the one the client addressed.
 *
 * Only a listed origin is ever used: the Host header is the client's to choose, so it can pick one
 * of the origins the operator allowed, nothing else.
 */

/** The origin an HTTP request addressed: its scheme and Host header. */
export function requestOrigin(protocol: string, host: string | undefined): string | undefined {
  if (!host || !URL.canParse(`${protocol}://${host}`)) return undefined;
  return new URL(`${protocol}://${host}`).origin;
}

/**
 * The addressed origin when it is listed, else the first listed (behind a load balancer, the Host a
 * node sees may be an internal one). Undefined when none is set.
 */
export function publicOrigin(listed: readonly string[], addressedOrigin: string | undefined): string | undefined {
  if (addressedOrigin !== undefined && listed.includes(addressedOrigin)) return addressedOrigin;
  return listed[0];
}
