import type { ClientToServerEvents, ServerToClientEvents, SocketData } from '@liaison/protocol';
import type { Server, Socket } from 'socket.io';

/** What relay nodes tell each other (through the cluster adapter). */
export interface InterServerEvents {
  /** Envelopes were stored for these devices: the node holding one of their sockets pushes. */
  'envelopes:stored': (deviceIds: string[]) => void;
}

/** socket.io typed with the protocol's event maps, on the relay's side. */
export type RelayIo = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type RelaySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
