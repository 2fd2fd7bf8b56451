import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { freePort } from './relay-process.js';

/**
 * An HTTP front at the origin a network's manifest names for its relay: every request passes to
 * the relay (Host kept, so the relay sees itself addressed) and every answer back. A test may
 * hold the next answer to a forwarded batch: the relay has stored it, the partner that sent it
 * never hears so. That is how a sender's relay is made to die between the partner's storing a
 * batch and its own deleting the batch from its outbox. Devices may connect through it too (their
 * WebSockets pass through untouched), and a test may have it answer a request itself (`answer`):
 * a relay that serves one thing while it does another; or pass a request on as another
 * (`forwardAs`), hold an answer back a while (`holdAnswer`), or send another body (`alterAnswer`).
 */
export interface RelayFront {
  url: string;
  port: number;
  /**
   * The next answer of the relay to a POST to /federation/v1/inbox is held: `meanwhile` runs
   * (kill the sender's relay, say), then the connection is cut without the answer. Resolves with
   * the status the relay answered, once `meanwhile` has run.
   */
  holdNextInboxAnswer(meanwhile: () => Promise<void>): Promise<number>;
  close(): Promise<void>;
}

export interface RelayFrontOptions {
  /**
   * A request the front answers itself, as the relay would (200, JSON), when this gives a value for
   * it: a relay that serves one thing and does another, for a test of the SDK. Undefined: passed on.
   */
  answer?: (method: string, path: string) => unknown;
  /** The path a request is passed on with, when this gives one: a relay that answers another request than the one made. */
  forwardAs?: (method: string, path: string) => string | undefined;
  /** Milliseconds the relay's answer to a request is held before it is passed back: answers that arrive out of order. */
  holdAnswer?: (method: string, path: string) => number | undefined;
  /**
   * Another body for the relay's answer, when this gives one: sent with its length stated, or
   * (`lengthStated: false`) in HTTP chunks with no length at all, with these headers added, and
   * with this status instead of the relay's.
   */
  alterAnswer?: (
    method: string,
    path: string,
    body: Buffer,
  ) => { body: Buffer; lengthStated: boolean; headers?: Record<string, string>; status?: number } | undefined;
}

export async function startRelayFront(
  relayPort: number,
  port?: number,
  options: RelayFrontOptions = {},
): Promise<RelayFront> {
  const frontPort = port ?? (await freePort());
  const open = new Set<Socket>();
  let hold:
    | { meanwhile: () => Promise<void>; done: (status: number) => void; failed: (e: unknown) => void }
    | undefined;
  const server: Server = createServer((req, res) => {
    const own = options.answer?.(req.method ?? 'GET', req.url ?? '/');
    if (own !== undefined) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(own));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = options.forwardAs?.(req.method ?? 'GET', req.url ?? '/') ?? req.url;
      const upstream = request(
        { host: '127.0.0.1', port: relayPort, method: req.method, path, headers: req.headers },
        (answer: IncomingMessage) => {
          const body: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => body.push(chunk));
          answer.on('end', () => {
            const held = req.method === 'POST' && req.url === '/federation/v1/inbox' ? hold : undefined;
            if (held) {
              hold = undefined;
              held
                .meanwhile()
                .then(() => held.done(answer.statusCode ?? 0), held.failed)
                .finally(() => req.socket.destroy());
              return;
            }
            const pass = () => {
              const altered = options.alterAnswer?.(req.method ?? 'GET', req.url ?? '/', Buffer.concat(body));
              if (!altered) {
                res.writeHead(answer.statusCode ?? 502, answer.headers);
                res.end(Buffer.concat(body));
                return;
              }
              const { 'content-length': _, ...headers } = answer.headers;
              res.writeHead(altered.status ?? answer.statusCode ?? 502, {
                ...headers,
                ...(altered.lengthStated && { 'content-length': String(altered.body.length) }),
                ...altered.headers,
              });
              // Without a stated length node sends chunked: in two writes, so the relay seems to stream it.
              res.write(altered.body.subarray(0, 1000));
              res.end(altered.body.subarray(1000));
            };
            const holdFor = options.holdAnswer?.(req.method ?? 'GET', req.url ?? '/');
            if (holdFor) setTimeout(pass, holdFor);
            else pass();
          });
        },
      );
      // The relay is down: the partner sees what it would see without a front, no connection.
      upstream.on('error', () => req.socket.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  // A WebSocket (a device's socket.io connection) passes through as bytes, after its request head.
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    const upstream = connect(relayPort, '127.0.0.1', () => {
      const headers = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${req.method} ${req.url} HTTP/${req.httpVersion}\r\n${headers.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    open.add(upstream);
    upstream.on('close', () => open.delete(upstream));
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  server.on('connection', (socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(frontPort, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${frontPort}`,
    port: frontPort,
    holdNextInboxAnswer: (meanwhile) =>
      new Promise<number>((done, failed) => {
        hold = { meanwhile, done, failed };
      }),
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
