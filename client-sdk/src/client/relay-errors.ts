import { LiaisonError } from '../errors.js';

/**
 * Errors that say what to configure (issue 19). A browser reports a relay that is down, a relay that
 * refuses the page's origin (CORS) and a blocked request alike, as a bare TypeError; the SDK tells
 * them apart where it can, so that nobody looks for a network fault when a setting is missing.
 */

interface PageLocation {
  origin: string;
}

/** The page's origin, in a browser; undefined in Node, where CORS does not apply. */
function pageOrigin(): string | undefined {
  const location = (globalThis as { location?: PageLocation }).location;
  const document = (globalThis as { document?: unknown }).document;
  return document !== undefined && location ? location.origin : undefined;
}

/**
 * The error for a request to the relay that failed without an answer. In a page on another origin
 * than the relay, the relay is asked again without CORS (an opaque answer, which the browser gives
 * whatever the relay's CORS settings): if that gets through, the relay is up and refuses this origin.
 */
export async function unreachableRelay(serverUrl: string): Promise<LiaisonError> {
  const origin = pageOrigin();
  const relayOrigin = new URL(serverUrl).origin;
  if (origin && origin !== relayOrigin) {
    const reachable = await fetch(`${serverUrl}/healthz`, { mode: 'no-cors', cache: 'no-store' } as RequestInit).then(
      () => true,
      () => false,
    );
    if (reachable) {
      return new LiaisonError(
        'CORS_REFUSED',
        `the relay at ${relayOrigin} answers, but not to pages of ${origin}: add ${origin} to the relay's LIAISON_CORS_ORIGINS`,
      );
    }
  }
  return new LiaisonError(
    'UNAVAILABLE',
    `the relay at ${serverUrl} cannot be reached (check the address, the network, and that the relay runs)`,
  );
}

/**
 * A challenge bound to another origin than the one this client addresses: the relay's public
 * origin (LIAISON_PUBLIC_ORIGIN) and the client's idea of it (serverUrl, or the relayOrigin option)
 * disagree. Both are named, and both ways to agree them.
 */
export function originMismatch(challengeOrigin: string, relayOrigin: string): LiaisonError {
  return new LiaisonError(
    'BAD_CHALLENGE',
    `the relay signs in as ${challengeOrigin}, but this client addresses it as ${relayOrigin}: add ${relayOrigin} to the relay's LIAISON_PUBLIC_ORIGIN (a comma-separated list), or give the client relayOrigin: '${challengeOrigin}'`,
  );
}
