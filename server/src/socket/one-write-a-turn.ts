import type { Server } from 'socket.io';

/** What this module touches of engine.io's connection and its WebSocket transport. */
interface EngineConnection {
  transport: Transport;
  readyState: string;
  flush(): void;
  close(discard?: boolean): unknown;
  on(event: 'packetCreate', listener: () => void): unknown;
}
interface Transport {
  writable: boolean;
  send(packets: unknown[]): void;
  /** ws's WebSocket, and under it the TCP (or TLS) socket. */
  socket?: { _socket?: { cork(): void; uncork(): void } };
}

/**
 * The frames the relay writes to one socket during one turn of the event loop leave in one write
 * (issue #25): a system call costs as much as encoding a frame, and one batch of sends gives each
 * socket of a ring two frames at once (its own send's answer, the envelope another device sent
 * it). Measured: half the relay's write calls per delivery in the ring, a few percent of its CPU
 * (docs/performance.md, "One write a turn").
 *
 * engine.io writes a connection's first frame at once and queues those that follow until the
 * first is written; ws then writes each queued frame on its own. So the first frame of a turn is
 * queued too (the transport is marked busy until `setImmediate`, after the turn's I/O callbacks and
 * their promises), and the queue goes out with the TCP socket corked: one `writev` for all of it.
 * Order and content are engine.io's own; only when the bytes leave changes, by less than a turn,
 * and a connection closing writes what its turn held first.
 */
export function oneWriteATurn(io: Server): void {
  io.engine.on('connection', (connection: EngineConnection) => {
    const { transport } = connection;
    const tcp = transport.socket?._socket;
    if (!tcp) return;
    const send = transport.send.bind(transport);
    transport.send = (packets) => {
      tcp.cork();
      try {
        send(packets);
      } finally {
        tcp.uncork();
      }
    };
    // A hold ends once, at the end of its turn or before the connection closes, whichever is first.
    let holding = false;
    const release = () => {
      if (!holding) return;
      holding = false;
      if (connection.readyState === 'closed') return;
      transport.writable = true;
      connection.flush();
    };
    connection.on('packetCreate', () => {
      if (holding || !transport.writable) return;
      holding = true;
      transport.writable = false;
      setImmediate(release);
    });
    // engine.io closes a connection discarding what it has not written when the server closes (the
    // relay stopping, after its handlers finished): what they wrote in their last turn goes first.
    const close = connection.close.bind(connection);
    connection.close = (discard) => {
      release();
      return close(discard);
    };
  });
}
