import { Agent, METHODS, request } from 'node:http';
import { type Socket, connect as tcp } from 'node:net';
import { revoke } from '@liaison/client';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENTS_QUERY } from './harness/device-client.js';
import { relayCounter } from './harness/metrics.js';
import { testNetwork } from './harness/network.js';
import { openDescriptors } from './harness/proc.js';
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

const release = (clients: Held[]) => {
  for (const client of clients) client.socket.destroy();
};

/** Distinct loopback addresses, one per client, so that no per-address cap is involved. */
const address = (n: number) => `127.10.${Math.floor(n / 250)}.${1 + (n % 250)}`;

const errorLines = (output: string) =>
  output.split('\n').filter((line) => /"level":(50|60)/.test(line) || line.includes('ERR_HTTP_HEADERS_SENT'));

describe("socket.io's path belongs to engine.io alone", () => {
  let relay: RelayProcess;
  let net: Awaited<ReturnType<typeof testNetwork>>;

  beforeAll(async () => {
    net = await testNetwork();
    relay = await spawnRelay([net.root], { LIAISON_LOG_LEVEL: 'info', LIAISON_AUTH_ATTEMPTS_PER_MINUTE: '10' });
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

    const websocket = io(relay.url, {
      transports: ['websocket'],
      reconnection: false,
      query: EVENTS_QUERY,
    });
    const unauthenticated = await new Promise<Error & { data?: unknown }>((resolve) =>
      websocket.once('connect_error', resolve),
    );
    websocket.close();
    expect(unauthenticated.data).toMatchObject({ error: 'UNAUTHENTICATED' });
    expect(errorLines(relay.output())).toEqual([]);
  });

  it('limits unauthenticated revocations per address, as the other open routes', async () => {
    // Well-formed, signed, about a device nobody registered: each one costs the relay a lookup.
    const revocation = () =>
      revoke(net.rootKeys, {
        networkId: 'seajust',
        subject: 'device',
        subjectId: `unknown-${crypto.randomUUID()}`,
        reason: 'other',
        revokedAt: Date.now(),
      });
    const answers: { status: number; body: { error?: string } }[] = [];
    for (let i = 0; i < 15; i++) {
      const response = await fetch(`${relay.url}/v1/revocations`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(revocation()),
      });
      answers.push({ status: response.status, body: (await response.json()) as { error?: string } });
    }
    expect(answers.slice(0, 10).map((a) => a.body.error)).toEqual(Array(10).fill('NOT_FOUND'));
    expect(answers.slice(10).map((a) => a.status)).toEqual(Array(5).fill(429));
    expect(answers[10]?.body).toMatchObject({ error: 'RATE_LIMITED', details: { retryAfterMs: expect.any(Number) } });
  });
});

describe('connections that stop sending, trickle, or pile up from one address', () => {
  const CAP = 10;
  let relay: RelayProcess;
  let baseline: number;
  const descriptors = () => openDescriptors(relay.pid());

  beforeAll(async () => {
    relay = await spawnRelay([], {
      LIAISON_LOG_LEVEL: 'info',
      LIAISON_HTTP_HEADERS_TIMEOUT_MS: '1500',
      LIAISON_HTTP_REQUEST_TIMEOUT_MS: '6000',
      LIAISON_HTTP_IDLE_TIMEOUT_MS: '3000',
      LIAISON_MAX_CONNECTIONS_PER_ADDRESS: String(CAP),
    });
    // Whatever the relay opens on its first requests (database files, the metrics registry) is part of its level.
    for (let i = 0; i < 3; i++) await call(relay.url, 'GET', '/metrics');
    baseline = descriptors();
  });
  afterAll(async () => {
    await relay.stop();
  });

  it('releases every descriptor held by hundreds of silent, half-sent, stalled, trickling and upgrading clients', async () => {
    const post = 'POST /v1/auth/challenge HTTP/1.1\r\nHost: relay\r\ncontent-type: application/json\r\n';
    // Those the relay keeps longest open first, so that on a loaded machine most are held at once
    // even if the first silent ones are cut (1.5 s without headers) before the last have connected.
    const kinds = {
      trickledBody: { opening: `${post}content-length: 100000\r\n\r\n`, trickle: true },
      stalledBody: { opening: `${post}content-length: 100000\r\n\r\n{"deviceId":` },
      upgradeElsewhere: {
        opening: 'GET /healthz HTTP/1.1\r\nHost: relay\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
      },
      partialHeaders: { opening: 'GET /healthz HTTP/1.1\r\nHost: relay\r\n' },
      silent: { opening: '' },
    };
    const clients: Record<string, Held[]> = {};
    const all = () => Object.values(clients).flat();
    // The relay accepts a connection after the client sees it open: its descriptors are read all along.
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, descriptors());
    }, 20);
    try {
      for (const [name, kind] of Object.entries(kinds)) {
        const first = all().length;
        clients[name] = await Promise.all(
          Array.from({ length: 60 }, (_, i) => hold(relay.port, address(first + i), kind.opening, 'trickle' in kind)),
        );
      }
      // The clients reached the relay: it held a descriptor for most of them at once.
      await until(() => peak - baseline > 150, 'the relay to hold more than 150 of the 300 at once', 5_000);
      await until(() => descriptors() <= baseline + 2, `descriptors back to ${baseline} (from ${peak})`, 30_000);
      // Every client sees its connection closed (its side learns it a moment after the relay's, later
      // still when the machine is loaded).
      await until(() => all().every((c) => c.closedByRelay), 'every client to see its connection closed', 15_000);
      // Those with nothing more to send were told why (a trickling one may get a reset instead:
      // the bytes it keeps sending make the close a reset, which can overtake the answer).
      const told = [...(clients.silent ?? []), ...(clients.partialHeaders ?? [])];
      expect(told.filter((c) => !c.received.startsWith('HTTP/1.1 408'))).toEqual([]);
      // A stalled upload was cut when it went idle, before its time for the whole request was up.
      expect(clients.stalledBody?.filter((c) => c.received !== '')).toEqual([]);
      expect((await call(relay.url, 'GET', '/healthz')) as object).toMatchObject({ status: 200 });
      expect(relay.alive()).toBe(true);
    } finally {
      clearInterval(sampler);
      release(all());
    }
  }, 60_000);

  it('holds at most the cap of connections from one address, and serves the others meanwhile', async () => {
    const piled: Held[] = [];
    try {
      for (let i = 0; i < CAP + 20; i++) piled.push(await hold(relay.port, '127.0.50.1'));
      await until(() => piled.filter((c) => c.closedByRelay).length >= 20, 'connections over the cap to be closed');
      expect(piled.filter((c) => !c.closedByRelay)).toHaveLength(CAP);
      expect(descriptors() - baseline).toBeLessThanOrEqual(CAP + 2);
      expect(await call(relay.url, 'GET', '/healthz', { from: '127.0.50.1' })).not.toMatchObject({ status: 200 });
      expect((await call(relay.url, 'GET', '/healthz', { from: '127.0.50.2' })) as object).toMatchObject({
        status: 200,
      });
      expect(await relayCounter(relay.url, 'liaison_errors_total', 'code="RATE_LIMITED"')).toBeGreaterThanOrEqual(20);
      // Once the silent ones time out, the address is welcome again.
      await until(() => piled.every((c) => c.closedByRelay), 'silent connections to time out');
      expect((await call(relay.url, 'GET', '/healthz', { from: '127.0.50.1' })) as object).toMatchObject({
        status: 200,
      });
    } finally {
      release(piled);
    }
  });
});

describe('behind a load balancer (LIAISON_TRUST_PROXY_HOPS=1), connections are counted by the client address it reports', () => {
  const CAP = 3;
  let relay: RelayProcess;

  beforeAll(async () => {
    relay = await spawnRelay([], {
      LIAISON_LOG_LEVEL: 'info',
      LIAISON_TRUST_PROXY_HOPS: '1',
      LIAISON_MAX_CONNECTIONS_PER_ADDRESS: String(CAP),
    });
  });
  afterAll(async () => {
    await relay.stop();
  });

  const forwardedFor = (client: string) => `X-Forwarded-For: ${client}\r\n`;
  const trickling = (client: string) =>
    `POST /v1/auth/challenge HTTP/1.1\r\nHost: relay\r\n${forwardedFor(client)}content-type: application/json\r\ncontent-length: 100000\r\n\r\n`;
  const websocket = (client: string) =>
    `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: relay\r\n${forwardedFor(client)}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64')}\r\n\r\n`;
  const healthz = async (client: string) => {
    const answer = await call(relay.url, 'GET', '/healthz', { headers: { 'x-forwarded-for': client } });
    return answer === 'closed' ? answer : { status: answer.status, body: JSON.parse(answer.body) };
  };
  const served = async (client: string) => ((await healthz(client)) as { status: number }).status === 200;

  it("caps requests and WebSockets per reported client, never the balancer's own address", async () => {
    const held: Held[] = [];
    try {
      // All from 127.0.0.1, the balancer: one client holds its cap with requests whose body never comes.
      for (let i = 0; i < CAP; i++) held.push(await hold(relay.port, '127.0.0.1', trickling('203.0.113.7'), true));
      await until(async () => !(await served('203.0.113.7')), 'the held requests to count');
      expect(await healthz('203.0.113.7')).toMatchObject({ status: 429, body: { error: 'RATE_LIMITED' } });
      // Addresses further left are the client's own to write: they change nothing.
      expect(await healthz('198.51.100.99, 203.0.113.7')).toMatchObject({ status: 429 });
      // Another client behind the same balancer is served.
      expect(await healthz('198.51.100.1')).toMatchObject({ status: 200 });

      // WebSockets count while they are open.
      const answers = [];
      for (let i = 0; i < CAP + 1; i++) {
        const socket = await hold(relay.port, '127.0.0.1', websocket('203.0.113.8'));
        held.push(socket);
        await until(() => socket.received.length > 0, 'the upgrade to be answered');
        answers.push(socket.received.slice(0, 12));
      }
      expect(answers).toEqual([...Array(CAP).fill('HTTP/1.1 101'), 'HTTP/1.1 429']);
      expect(await healthz('203.0.113.8')).toMatchObject({ status: 429 });

      // Released, both clients are welcome again.
      release(held);
      await until(async () => (await served('203.0.113.7')) && (await served('203.0.113.8')), 'both to be served');
      expect(errorLines(relay.output())).toEqual([]);
    } finally {
      release(held);
    }
  });
});
