import { randomUUID } from 'node:crypto';
import {
  AcknowledgeRequest,
  type AckResult,
  EnvelopeAck,
  HandshakeAuth,
  LIMITS,
  parseInput,
  SendRequest,
  SOCKET_EVENTS_QUERY,
  SOCKET_EVENTS_REVISION,
} from '@liaison/protocol';
import { Server } from 'socket.io';
import type { z } from 'zod';
import type { DeviceIdentity } from '../auth/authenticator.js';
import { checked, failureForLog, RelayError, reportFailure, toErrorBody } from '../errors.js';
import type { RelayDeps } from '../relay-deps.js';
import { acknowledgeByPerson } from '../storage/messages.js';
import { publishUrgent } from '../urgent/publish.js';
import { contactPointRoom, deviceRoom } from './delivery-hub.js';
import { DeliveryQueue } from './delivery-queue.js';
import { SendOrder } from './send-order.js';
import { Sending } from './sending.js';
import type { RelayIo } from './types.js';

/** socket.io's path: engine.io answers every request under it, and nothing else does (http/http-server.ts). */
export const SOCKET_PATH = '/socket.io/';

/**
 * The socket.io server, attached to the relay's HTTP server by http/http-server.ts; handlers are
 * added by wireSocketHandlers. WebSocket only: the SDK uses nothing else, and without HTTP
 * long-polling a load balancer needs no sticky sessions. A long-polling request gets engine.io's
 * own 400 ("Transport unknown"); CORS, which only long-polling needed, has nothing left to allow.
 */
export function createSocketServer(): RelayIo {
  return new Server({
    path: SOCKET_PATH,
    serveClient: false,
    transports: ['websocket'],
    maxHttpBufferSize: LIMITS.maxSocketPayloadBytes,
    // Upgrades to other paths are the HTTP server's to refuse: engine.io would only end() them a
    // second later, which leaves a silent client's connection half-open for good.
    destroyUpgrade: false,
  });
}

/** The socket.io side of the relay: key-possession auth at the handshake, then send / ack / acknowledge. */
export function wireSocketHandlers(io: RelayIo, deps: RelayDeps, track: <T>(work: Promise<T>) => Promise<T>): void {
  io.use((socket, next) => {
    // First, before any work: a client that speaks other events would connect and never hear one.
    if (socket.handshake.query[SOCKET_EVENTS_QUERY] !== String(SOCKET_EVENTS_REVISION)) {
      return next(
        connectError(
          new RelayError(
            'UPGRADE_REQUIRED',
            `this relay speaks socket events revision ${SOCKET_EVENTS_REVISION}: update the client, or reload the page`,
          ),
        ),
      );
    }
    const parsed = parseInput(HandshakeAuth, socket.handshake.auth);
    if (!parsed.ok) return next(connectError(new RelayError('UNAUTHENTICATED', 'the handshake needs { proof }')));
    deps.auth.authenticate(parsed.value.proof, 'socket').then(
      (identity) => {
        socket.data = identity;
        next();
      },
      (error) => next(connectError(error)),
    );
  });

  const sending = new Sending(deps);
  io.on('connection', (socket) => {
    const identity: DeviceIdentity = { deviceId: socket.data.deviceId, contactPointId: socket.data.contactPointId };
    const queue = new DeliveryQueue(
      deps.db,
      identity.deviceId,
      LIMITS.deliveryWindow,
      (envelopes) => socket.emit('envelopes', envelopes),
      (error) => deps.log.error({ event: 'delivery.error', err: failureForLog(error) }, 'delivery pass failed'),
      { afterMs: deps.config.redeliverAfterMs, now: deps.config.now },
    );
    deps.hub.register(identity.deviceId, socket, queue);
    void socket.join([deviceRoom(identity.deviceId), contactPointRoom(identity.contactPointId)]);
    socket.on('disconnect', () => deps.hub.unregister(identity.deviceId, socket));
    deps.log.debug({ event: 'socket.connected', contactPointId: identity.contactPointId }, 'device connected');

    // Sends from one device are handled one at a time, in the order they arrive, so that a
    // recipient's queue holds them in the order they were sent.
    let sends: Promise<unknown> = Promise.resolve();
    const order = new SendOrder();
    socket.on('send', (payload, ack) => {
      sends = sends.then(() =>
        respond(deps, ack, SendRequest, payload, (request) => sending.send(identity, request, order)),
      );
      void track(sends);
    });
    socket.on('envelopes:ack', (payload, ack) => {
      void track(
        respond(deps, ack, EnvelopeAck, payload, async ({ messageIds }) => {
          const deleted = await sending.delivered(identity, messageIds).catch((error) => {
            queue.unacknowledged(messageIds);
            throw error;
          });
          queue.acknowledged(messageIds);
          return { deleted };
        }),
      );
    });
    socket.on('acknowledge', (payload, ack) => {
      void track(
        respond(deps, ack, AcknowledgeRequest, payload, async ({ messageId }) => {
          const { receipt, stoppedEscalation } = await acknowledgeByPerson(
            deps.db,
            identity,
            messageId,
            deps.config.now(),
          );
          deps.hub.receipts([receipt]);
          if (stoppedEscalation) await publishUrgent(deps, [messageId]);
          return { at: receipt.receipt.at };
        }),
      );
    });
    queue.nudge();
  });
}

/**
 * Runs one event: checks the payload against its schema, then the handler, and always answers
 * through the acknowledgement with a value or a stable error code. A bad event never closes the socket.
 */
async function respond<S extends z.ZodType, T>(
  deps: RelayDeps,
  ack: unknown,
  schema: S,
  payload: unknown,
  handler: (input: z.infer<S>) => Promise<T>,
): Promise<void> {
  if (typeof ack !== 'function') return;
  const reply = ack as (result: AckResult<T>) => void;
  try {
    reply({ ok: true, value: await handler(checked(schema, payload)) });
  } catch (error) {
    // Refusals are the client's to handle; failures are logged, with the id the client is given.
    const requestId = randomUUID();
    const failure = reportFailure(deps, error, { event: 'socket.error', requestId });
    reply({ ok: false, ...failure.body(), requestId });
  }
}

function connectError(error: unknown): Error & { data: unknown } {
  const body = toErrorBody(error);
  return Object.assign(new Error(body.message), { data: body });
}
