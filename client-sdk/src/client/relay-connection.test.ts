import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AuthProof,
  encodeBase64url,
  LIMITS,
  SOCKET_EVENTS_QUERY,
  SOCKET_EVENTS_REVISION,
} from '@liaison/protocol';
import { Server } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import type { LiaisonError } from '../errors.js';
import { type ConnectionEvent, MAX_INCOMING_FRAME_BYTES, RelayConnection } from './relay-connection.js';

const PROOF: AuthProof = {
  deviceId: encodeBase64url(new Uint8Array(32).fill(7)),
  nonce: encodeBase64url(new Uint8Array(32)),
  signature: encodeBase64url(new Uint8Array(64)),
};

/**
 * A socket.io server standing in for a relay of another events revision (review 25b, finding 3):
 * it lets in the first `admitted` handshakes and refuses the rest with UPGRADE_REQUIRED, as the
 * relay does; it records every handshake's `auth` and its `events` query.
 */
async function relayOfAnotherRevision(admitted: number) {
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  const handshakes: unknown[] = [];
  io.use((socket, next) => {
    handshakes.push({ auth: socket.handshake.auth, events: socket.handshake.query[SOCKET_EVENTS_QUERY] });
    if (handshakes.length <= admitted) return next();
    next(
      Object.assign(new Error('this relay speaks socket events revision 3'), {
        data: { error: 'UPGRADE_REQUIRED', message: 'this relay speaks socket events revision 3' },
      }),
    );
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return { io, url, handshakes, close: () => new Promise((resolve) => io.close(resolve)) };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the relay connection and the socket events revision', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step();
  });
  /** A stand-in relay admitting `admitted` handshakes, and a connection to it recording its state events. */
  const connectToRelayAdmitting = async (admitted: number) => {
    const relay = await relayOfAnotherRevision(admitted);
    cleanup.push(relay.close);
    const events: ConnectionEvent[] = [];
    const connection = new RelayConnection(
      relay.url,
      async () => PROOF,
      (e) => events.push(e),
    );
    cleanup.push(() => connection.close());
    return { relay, connection, events };
  };

  it('declares the revision it speaks, and takes UPGRADE_REQUIRED as final: no reconnection loop', async () => {
    const { relay, connection, events } = await connectToRelayAdmitting(0);
    const refusal = await connection.open().then(
      () => undefined,
      (error: LiaisonError) => error,
    );
    expect(refusal?.code).toBe('UPGRADE_REQUIRED');
    // The revision rides in the query, and `auth` is what a relay of revision 1 accepts too, so that
    // a node not yet upgraded lets this client in during a rolling upgrade (review 25b, finding 8).
    expect(relay.handshakes).toEqual([{ auth: { proof: PROOF }, events: String(SOCKET_EVENTS_REVISION) }]);
    // Longer than the first reconnection waits: nothing more is tried.
    await pause(1_000);
    expect(relay.handshakes).toHaveLength(1);
    expect(events).toEqual([{ state: 'connecting' }, { state: 'disconnected', reason: 'UPGRADE_REQUIRED' }]);
  });

  it('stops as well when the relay is upgraded under a connected client, and says why', async () => {
    const { relay, connection, events } = await connectToRelayAdmitting(1);
    await connection.open();
    // The relay restarts: every socket is dropped, and the client tries again.
    relay.io.disconnectSockets(true);
    await expect
      .poll(() => events.at(-1), { timeout: 5_000 })
      .toEqual({
        state: 'disconnected',
        reason: 'UPGRADE_REQUIRED',
      });
    const attempts = relay.handshakes.length;
    await pause(1_000);
    expect(relay.handshakes).toHaveLength(attempts);
    expect(connection.socket.connected).toBe(false);
  });
});

// Review 25b, finding 5: in Node, a frame above the bound closes the socket before it is parsed.
describe('the largest frame the SDK takes from the relay', () => {
  it('is above the largest frame the relay pushes, in base64url and JSON', () => {
    const metadataPerEnvelope = 1024;
    expect(MAX_INCOMING_FRAME_BYTES).toBeGreaterThan(
      (LIMITS.maxPushedCiphertextBytes * 4) / 3 + LIMITS.deliveryWindow * metadataPerEnvelope,
    );
  });

  it("takes a frame of the relay's largest size, and closes the socket on a larger one", async () => {
    const relay = await relayOfAnotherRevision(Number.POSITIVE_INFINITY);
    const connection = new RelayConnection(
      relay.url,
      async () => PROOF,
      () => undefined,
    );
    try {
      const received: number[] = [];
      connection.socket.on('envelopes' as never, ((frame: string[]) => received.push(frame[0]?.length ?? 0)) as never);
      const disconnected = new Promise<string>((resolve) => connection.socket.once('disconnect', resolve));
      await connection.open();
      const [server] = await relay.io.fetchSockets();
      const fits = Math.ceil((LIMITS.maxPushedCiphertextBytes * 4) / 3);
      server?.emit('envelopes', ['x'.repeat(fits)]);
      await expect.poll(() => received, { timeout: 5_000 }).toEqual([fits]);
      server?.emit('envelopes', ['x'.repeat(MAX_INCOMING_FRAME_BYTES)]);
      expect(await disconnected).toBe('transport error');
      expect(received).toEqual([fits]);
    } finally {
      connection.close();
      await relay.close();
    }
  });
});
