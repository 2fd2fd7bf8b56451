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

interface ProbeSocket {
  onopen: (() => void) | null;
  onerror: (() => void) | null;
  onclose: (() => void) | null;
  close(): void;
}

/**
 * Whether the relay answers a WebSocket handshake on its socket path. WebSockets are outside CORS
 * (and the relay's Cross-Origin-Resource-Policy header, which blocks even a no-cors fetch), so this
 * reaches a relay that refuses the page's origin for HTTP requests.
 */
function answersWebSocket(serverUrl: string, timeoutMs = 5_000): Promise<boolean> {
  const WebSocketClass = (globalThis as { WebSocket?: new (url: string) => ProbeSocket }).WebSocket;
  if (!WebSocketClass) return Promise.resolve(false);
  const url = new URL('/socket.io/?EIO=4&transport=websocket', serverUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return new Promise((resolve) => {
    let socket: ProbeSocket;
    try {
      socket = new WebSocketClass(url.href);
    } catch {
      resolve(false);
      return;
    }
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (answered: boolean) => {
      clearTimeout(timer);
      socket.onopen = socket.onerror = socket.onclose = null;
      socket.close();
      resolve(answered);
    };
    socket.onopen = () => finish(true);
    socket.onerror = () => finish(false);
    socket.onclose = () => finish(false);
  });
}

/**
 * The error for a request to the relay that failed without an answer. In a page on another origin
 * than the relay, the relay is probed with a WebSocket handshake, which CORS does not govern: if it
 * answers, the relay is up and refuses this origin.
 */
export async function unreachableRelay(serverUrl: string): Promise<LiaisonError> {
  const origin = pageOrigin();
  const relayOrigin = new URL(serverUrl).origin;
  if (origin && origin !== relayOrigin) {
    if (await answersWebSocket(serverUrl)) {
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
