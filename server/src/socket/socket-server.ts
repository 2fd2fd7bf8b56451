import type { Server as HttpServer } from 'node:http';
import {
  AcknowledgeRequest,
  type AckResult,
  EnvelopeAck,
  HandshakeAuth,
  LIMITS,
  parseInput,
  SendRequest,
  type SendResult,
} from '@liaison/protocol';
import { Server } from 'socket.io';
import type { z } from 'zod';
import type { DeviceIdentity } from '../auth/authenticator.js';
import { RelayError, toErrorBody } from '../errors.js';
import type { RelayDeps } from '../relay-deps.js';
import { contactPointExists, currentDevices } from '../storage/directory.js';
import { acknowledgeByPerson, acknowledgeDelivery, fullQueues, storeMessage } from '../storage/messages.js';
import { contactPointRoom, deviceRoom } from './delivery-hub.js';
import { DeliveryQueue } from './delivery-queue.js';
import type { RelayIo } from './types.js';

/** The socket.io server, on the relay's HTTP server; handlers are added by wireSocketHandlers. */
export function createSocketServer(httpServer: HttpServer, corsOrigins: string[]): RelayIo {
  return new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: LIMITS.maxSocketPayloadBytes,
    ...(corsOrigins.length > 0 && { cors: { origin: corsOrigins } }),
  });
}

/** The socket.io side of the relay: key-possession auth at the handshake, then send / ack / acknowledge. */
export function wireSocketHandlers(io: RelayIo, deps: RelayDeps, track: <T>(work: Promise<T>) => Promise<T>): void {
  io.use((socket, next) => {
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

  io.on('connection', (socket) => {
    const identity: DeviceIdentity = { deviceId: socket.data.deviceId, contactPointId: socket.data.contactPointId };
    const queue = new DeliveryQueue(
      deps.db,
      identity.deviceId,
      LIMITS.deliveryWindow,
      (envelope) => socket.emit('envelope', envelope),
      (error) => deps.log.error({ event: 'delivery.error', err: (error as Error)?.message }, 'delivery pass failed'),
    );
    deps.hub.register(identity.deviceId, socket, queue);
    void socket.join([deviceRoom(identity.deviceId), contactPointRoom(identity.contactPointId)]);
    socket.on('disconnect', () => deps.hub.unregister(identity.deviceId, socket));
    deps.log.debug({ event: 'socket.connected', contactPointId: identity.contactPointId }, 'device connected');

    // Sends from one device are handled one at a time, in the order they arrive, so that a
    // recipient's queue holds them in the order they were sent.
    let sends: Promise<unknown> = Promise.resolve();
    socket.on('send', (payload, ack) => {
      sends = sends.then(() => respond(deps, ack, SendRequest, payload, (request) => send(deps, identity, request)));
      void track(sends);
    });
    socket.on('envelopes:ack', (payload, ack) => {
      void track(
        respond(deps, ack, EnvelopeAck, payload, async ({ messageIds }) => {
          const { deleted, receipts } = await acknowledgeDelivery(deps.db, identity, messageIds, deps.config.now());
          deps.metrics.envelopesDelivered.inc(deleted);
          queue.acknowledged(messageIds);
          for (const { to, receipt } of receipts) deps.hub.receipt(to, receipt);
          return { deleted };
        }),
      );
    });
    socket.on('acknowledge', (payload, ack) => {
      void track(
        respond(deps, ack, AcknowledgeRequest, payload, async ({ messageId }) => {
          const { to, receipt } = await acknowledgeByPerson(deps.db, identity, messageId, deps.config.now());
          deps.hub.receipt(to, receipt);
          return { at: receipt.at };
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
  const parsed = parseInput(schema, payload);
  if (!parsed.ok) {
    deps.metrics.errors.inc({ code: parsed.error.error });
    return reply({ ok: false, ...parsed.error });
  }
  try {
    reply({ ok: true, value: await handler(parsed.value) });
  } catch (error) {
    const body = toErrorBody(error);
    deps.metrics.errors.inc({ code: body.error });
    if (body.error === 'INTERNAL' || body.error === 'UNAVAILABLE') {
      deps.log.error({ event: 'socket.error', err: (error as Error)?.message?.slice(0, 200) }, 'event failed');
    }
    reply({ ok: false, ...body });
  }
}

/**
 * A send is stored only if it covers exactly the devices that must get it: every current device
 * of the recipient, and every other device of the sender. Then it is stored durably, then
 * acknowledged, then pushed.
 */
async function send(deps: RelayDeps, sender: DeviceIdentity, request: SendRequest): Promise<SendResult> {
  await deps.limits.take(`send:${sender.deviceId}`, deps.config.sendsPerMinute, { failOpen: true });
  const now = deps.config.now();
  if (request.envelopes.some((e) => e.escalationLevel > 0)) {
    throw new RelayError('INVALID_INPUT', 'escalation levels above 0 are not accepted by this relay yet');
  }
  const previous = await deps.db
    .selectFrom('messages')
    .select(['sender_device', 'server_time'])
    .where('message_id', '=', request.messageId)
    .executeTakeFirst();
  if (previous?.sender_device === sender.deviceId) {
    return { messageId: request.messageId, serverTime: previous.server_time, duplicate: true };
  }
  if (!(await contactPointExists(deps.db, request.recipient))) {
    throw new RelayError('NOT_FOUND', `no contact point "${request.recipient}"`);
  }
  const recipients = await currentDevices(deps.db, request.recipient, now);
  if (recipients.length === 0) throw new RelayError('NOT_FOUND', `"${request.recipient}" has no registered device`);
  const own = (await currentDevices(deps.db, sender.contactPointId, now)).filter((d) => d !== sender.deviceId);
  const expected = new Set([...recipients, ...own]);
  const given = new Set(request.envelopes.map((e) => e.recipientDevice));
  const missingDevices = [...expected].filter((d) => !given.has(d));
  const extraDevices = [...given].filter((d) => !expected.has(d));
  if (missingDevices.length > 0 || extraDevices.length > 0) {
    throw new RelayError('DEVICE_MISMATCH', 'the envelopes do not match the current devices', {
      missingDevices,
      extraDevices,
    });
  }
  const full = await fullQueues(deps.db, [...given], deps.config.maxQueuedEnvelopes);
  if (full.length > 0) {
    throw new RelayError(
      'QUOTA_EXCEEDED',
      `${full.length} recipient device(s) hold ${deps.config.maxQueuedEnvelopes} undelivered envelopes already`,
    );
  }
  const stored = await storeMessage(deps.db, sender, request, now, deps.config.envelopeTtlMs);
  if (!stored.duplicate) {
    deps.metrics.envelopesStored.inc(request.envelopes.length);
    deps.hub.envelopesStored([...given]);
  }
  return { messageId: request.messageId, ...stored };
}

function connectError(error: unknown): Error & { data: unknown } {
  const body = toErrorBody(error);
  return Object.assign(new Error(body.message), { data: body });
}
