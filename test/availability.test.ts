import { Agent, METHODS, request } from 'node:http';
import { type Socket, connect as tcp } from 'node:net';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relayCounter } from './harness/metrics.js';
import { testNetwork } from './harness/network.js';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';
import { until } from './harness/until.js';

/**
 * Denial of service by unauthenticated clients (issue 16, "Availability"), against the relay as a
 * process: requests to socket.io's path, connections that go silent or trickle, connections
 * piled up from one address, and a flood of revocations. Every client here is on loopback; the
 * many client addresses are other addresses of 127.0.0.0/8.
 */

type Answer = { status: number; body: string; reused: boolean } | 'closed';

/** One HTTP request through node:http, which lets a test choose the source address and keep one connection. */
function call(
  url: string,
  method: string,
  path: string,
  options: { agent?: Agent; from?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, {
      method,
      agent: options.agent ?? false,
      headers: options.headers,
      ...(options.from && { localAddress: options.from }),
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }));
    });
    req.on('error', () => resolve('closed'));
    req.end();
  });
}

/** A raw connection that sends `opening`, then with `trickle` one byte every 200 ms, and never closes its side itself. */
interface Held {
  socket: Socket;
  received: string;
  /** The relay closed or reset the connection. */
  closedByRelay: boolean;
}

function hold(port: number, from: string, opening = '', trickle = false): Promise<Held> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: a FIN from the relay does not make this side close, as with a client that went silent.
    const socket = tcp({ port, host: '127.0.0.1', localAddress: from, allowHalfOpen: true });
    const held: Held = { socket, received: '', closedByRelay: false };
    let timer: NodeJS.Timeout | undefined;
    const closed = () => {
      held.closedByRelay = true;
      clearInterval(timer);
    };
    socket.on('data', (chunk: Buffer) => {
      held.received += chunk.toString();
    });
    socket.on('end', closed);
    socket.on('close', closed);
    socket.on('error', closed);
    socket.once('connect', () => {
      if (opening) socket.write(opening);
      let sent = 0;
      if (trickle) {
        timer = setInterval(() => {
          if (held.closedByRelay || ++sent > 300) return clearInterval(timer);
          socket.write('x');
        }, 200);
      }
      resolve(held);
    });
    socket.once('error', reject);
  });
}

const errorLines = (output: string) =>
  output.split('\n').filter((line) => /"level":(50|60)/.test(line) || line.includes('ERR_HTTP_HEADERS_SENT'));

describe("socket.io's path belongs to engine.io alone", () => {
  let relay: RelayProcess;
  let net: Awaited<ReturnType<typeof testNetwork>>;

  beforeAll(async () => {
    net = await testNetwork();
    relay = await spawnRelay([net.root], { LOG_LEVEL: 'info' });
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('answers every method at /socket.io/, with and without each transport, and stays up on the same connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const methods = METHODS.filter((m) => m !== 'CONNECT');
    for (const method of methods) {
      for (const transport of ['', 'polling', 'websocket', 'webtransport']) {
        const path = `/socket.io/?EIO=4${transport && `&transport=${transport}`}`;
        const answer = await call(relay.url, method, path, { agent });
        expect(relay.alive(), `${method} ${path} ended the relay:\n${relay.output().slice(-2000)}`).toBe(true);
        expect(answer, `${method} ${path}`).toMatchObject({ status: 400 });
        // The answer did not break the connection: the next request goes over the same one. (Not
        // after HEAD: Node's client gives up a connection whose HEAD answer has no Content-Length.)
        expect(await call(relay.url, 'GET', '/healthz', { agent }), `after ${method} ${path}`).toMatchObject({
          status: 200,
          reused: method !== 'HEAD',
        });
      }
    }
    agent.destroy();
    // CONNECT is no request to a path: Node closes the connection, and nothing else happens.
    const connect = await hold(relay.port, '127.0.0.1', 'CONNECT /socket.io/ HTTP/1.1\r\nHost: relay\r\n\r\n');
    await until(() => connect.closedByRelay, 'CONNECT to be refused');
    expect((await call(relay.url, 'GET', '/healthz')) as object).toMatchObject({ status: 200 });
    expect(errorLines(relay.output())).toEqual([]);
    expect(await relayCounter(relay.url, 'liaison_errors_total', 'code="INTERNAL"')).toBe(0);
  });

  it('speaks socket.io over WebSocket only: a long-polling client is refused, a WebSocket client reaches authentication', async () => {
    const polling = io(relay.url, { transports: ['polling'], reconnection: false });
    const refused = await new Promise<Error>((resolve) => polling.once('connect_error', resolve));
    polling.close();
    expect(refused.message).toMatch(/xhr poll error/);
    expect(relay.alive()).toBe(true);

    const websocket = io(relay.url, { transports: ['websocket'], reconnection: false, auth: {} });
    const unauthenticated = await new Promise<Error & { data?: unknown }>((resolve) =>
      websocket.once('connect_error', resolve),
    );
    websocket.close();
    expect(unauthenticated.data).toMatchObject({ error: 'UNAUTHENTICATED' });
    expect(errorLines(relay.output())).toEqual([]);
  });
});
