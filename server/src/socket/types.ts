import type { ClientToServerEvents, ServerToClientEvents, SocketData } from '@liaison/protocol';
import type { Server, Socket } from 'socket.io';

/** socket.io typed with the protocol's event maps, on the relay's side. */
export type RelayIo = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type RelaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
