import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytes, device, sendRequest, T0 } from './__fixtures__/statements.js';
import type { SendResult } from './envelope.js';
import { Envelope, SendRequest } from './envelope.js';
import type { AckResult, ClientToServerEvents, ServerToClientEvents, SocketData } from './events.js';
import { parseInput } from './validate.js';

// The same maps type both ends: a relay written against them and a client written against them
// agree on every event name, payload and acknowledgement, or this file does not compile.
describe('socket event maps', () => {
  const httpServer = createServer();
  const server = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(httpServer);
  let client: Socket<ServerToClientEvents, ClientToServerEvents>;

  beforeAll(async () => {
    server.on('connection', (socket) => {
      socket.on('send', (request, ack) => {
        const parsed = parseInput(SendRequest, request);
        if (!parsed.ok) return ack({ ok: false, ...parsed.error });
        ack({ ok: true, value: { messageId: parsed.value.messageId, serverTime: T0 + 1, duplicate: false } });
        const first = parsed.value.envelopes[0];
        if (!first) return;
        socket.emit('envelopes', [
          {
            messageId: parsed.value.messageId,
            senderContactPoint: 'th-oag.somchai',
            senderDevice: device.deviceId,
            recipientDevice: first.recipientDevice,
            kind: first.kind,
            priority: parsed.value.priority,
            ciphertext: first.ciphertext,
            createdAt: parsed.value.createdAt,
            serverTime: T0 + 1,
            escalationLevel: 0,
          },
        ]);
      });
    });
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const { port } = httpServer.address() as AddressInfo;
    client = connect(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
    await new Promise<void>((resolve) => client.on('connect', resolve));
  });

  afterAll(async () => {
    client.close();
    await server.close();
  });

  it('carries a send and its typed acknowledgement, then pushed envelopes in one frame', async () => {
    const pushed = new Promise<unknown>((resolve) => client.once('envelopes', resolve));
    const result: AckResult<SendResult> = await client.emitWithAck('send', sendRequest);
    expect(result).toEqual({
      ok: true,
      value: { messageId: sendRequest.messageId, serverTime: T0 + 1, duplicate: false },
    });
    expect(Envelope.parse(((await pushed) as unknown[])[0]).ciphertext).toBe(sendRequest.envelopes[0]?.ciphertext);
  });

  it('answers a malformed payload with an error body, and the socket stays up', async () => {
    const bad = { ...sendRequest, envelopes: [{ recipientDevice: bytes(5, 1) }] };
    const result = await client.emitWithAck('send', bad as unknown as SendRequest);
    expect(result).toMatchObject({ ok: false, error: 'INVALID_INPUT' });
    expect(client.connected).toBe(true);
  });

  it('rejects wrong payloads at compile time', () => {
    const typeOnly = () => {
      // @ts-expect-error an envelope ack needs message ids
      client.emit('envelopes:ack', { ids: [] }, () => {});
      // @ts-expect-error no such event
      client.emit('sned', sendRequest, () => {});
      // @ts-expect-error the relay never pushes a send
      server.emit('send', sendRequest);
    };
    expect(typeOnly).toBeTypeOf('function');
  });
});
