import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { type Socket as ClientSocket, io as connect } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { oneWriteATurn } from './one-write-a-turn.js';

/** A socket.io server on loopback, WebSocket only as the relay's, with or without one write a turn. */
async function serve(coalesce: boolean) {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  if (coalesce) oneWriteATurn(io);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { io, url, close: () => io.close() };
}

interface Writable {
  _write(...args: unknown[]): void;
  _writev(...args: unknown[]): void;
}

/** Counts the writes a socket's TCP connection hands to the system (`_write` for one chunk, `_writev` for several). */
function countWrites(socket: Socket): () => number {
  const tcp = (socket.conn as unknown as { transport: { socket: { _socket: Writable } } }).transport.socket._socket;
  let writes = 0;
  for (const method of ['_write', '_writev'] as const) {
    const original = tcp[method].bind(tcp);
    tcp[method] = (...args: unknown[]) => {
      writes++;
      original(...args);
    };
  }
  return () => writes;
}

describe('one write a turn: the frames written to a socket in one turn leave together', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  const connected = async (coalesce: boolean) => {
    const server = await serve(coalesce);
    cleanup.push(server.close);
    const serverSide = new Promise<Socket>((resolve) => server.io.once('connection', resolve));
    const client: ClientSocket = connect(server.url, { transports: ['websocket'], reconnection: false });
    cleanup.push(() => client.close());
    const socket = await serverSide;
    // The connection's own first frames (engine.io's open, socket.io's connect) are written by now.
    await new Promise((resolve) => client.once('connect', () => setImmediate(resolve)));
    return { client, socket };
  };
  const received = (client: ClientSocket, event: string, n: number) =>
    new Promise<unknown[]>((resolve) => {
      const got: unknown[] = [];
      client.on(event, (value: unknown) => {
        got.push(value);
        if (got.length === n) resolve(got);
      });
    });

  it('writes three frames of one turn in one system call, where engine.io and ws alone make three', async () => {
    for (const [coalesce, expected] of [
      [true, 1],
      [false, 3],
    ] as const) {
      const { client, socket } = await connected(coalesce);
      const writes = countWrites(socket);
      const got = received(client, 'n', 3);
      for (const n of [1, 2, 3]) socket.emit('n', n);
      expect(await got).toEqual([1, 2, 3]);
      expect(writes()).toBe(expected);
    }
  });

  it('keeps the order of frames across turns, and answers acknowledgements', async () => {
    const { client, socket } = await connected(true);
    socket.on('echo', (value: number, answer: (value: number) => void) => answer(value));
    const got = received(client, 'n', 500);
    for (let n = 0; n < 500; n++) {
      socket.emit('n', n);
      if (n % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await got).toEqual(Array.from({ length: 500 }, (_, n) => n));
    expect(await client.timeout(2_000).emitWithAck('echo', 42)).toBe(42);
  });

  it('keeps every frame, in order, while the client does not read (writes waiting on the kernel)', async () => {
    const { client, socket } = await connected(true);
    const big = 'x'.repeat(64 * 1024);
    const got = received(client, 'n', 400);
    const tcp = (client.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws
      ._socket;
    tcp.pause();
    for (let n = 0; n < 400; n++) {
      socket.emit('n', n, big);
      if (n % 13 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    tcp.resume();
    expect(await got).toEqual(Array.from({ length: 400 }, (_, n) => n));
  });

  it('writes the last frames before the server closes the socket', async () => {
    const { client, socket } = await connected(true);
    const got = received(client, 'bye', 1);
    const reason = new Promise((resolve) => client.once('disconnect', resolve));
    socket.emit('bye', 'closing');
    socket.disconnect(true);
    expect(await got).toEqual(['closing']);
    expect(await reason).toBe('io server disconnect');
  });

  it('writes the frames of the turn in which the server closes, as the relay does when it stops', async () => {
    const { client, socket } = await connected(true);
    const got = received(client, 'bye', 1);
    socket.emit('bye', 'stopping');
    // engine.io closes each connection discarding what it has not written: a held frame goes first.
    await socket.nsp.server.close();
    expect(await Promise.race([got, new Promise((resolve) => setTimeout(() => resolve('lost'), 1_000))])).toEqual([
      'stopping',
    ]);
  });

  it('writes a broadcast before the sockets it went to are disconnected, as a replaced session is', async () => {
    const server = await serve(true);
    cleanup.push(server.close);
    const clients = Array.from({ length: 3 }, () =>
      connect(server.url, { transports: ['websocket'], reconnection: false }),
    );
    cleanup.push(() => {
      for (const client of clients) client.close();
    });
    await Promise.all(clients.map((client) => new Promise<void>((resolve) => client.once('connect', () => resolve()))));
    for (const socket of server.io.sockets.sockets.values()) await socket.join('device');
    const told = clients.map((client) => received(client, 'session:replaced', 1));
    const reasons = clients.map((client) => new Promise((resolve) => client.once('disconnect', resolve)));
    server.io.to('device').emit('session:replaced', { reason: 'another connection' });
    server.io.in('device').disconnectSockets(true);
    expect(await Promise.all(told)).toEqual(clients.map(() => [{ reason: 'another connection' }]));
    expect(await Promise.all(reasons)).toEqual(clients.map(() => 'io server disconnect'));
  });

  it('lets a refusal at the handshake reach the client with its data', async () => {
    const server = await serve(true);
    cleanup.push(server.close);
    server.io.use((_socket, next) =>
      next(Object.assign(new Error('not this device'), { data: { error: 'UNAUTHENTICATED' } })),
    );
    const client = connect(server.url, { transports: ['websocket'], reconnection: false });
    cleanup.push(() => client.close());
    const refusal = await new Promise<Error & { data?: unknown }>((resolve) => client.once('connect_error', resolve));
    expect([refusal.message, refusal.data]).toEqual(['not this device', { error: 'UNAUTHENTICATED' }]);
  });
});
