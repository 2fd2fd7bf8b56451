import { randomUUID } from 'node:crypto';
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
import { escalationChainOf, type PlannedLevel } from '../storage/urgent.js';
import { publishUrgent } from '../urgent/publish.js';
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
          const { receipt, stoppedEscalation } = await acknowledgeByPerson(
            deps.db,
            identity,
            messageId,
            deps.config.now(),
          );
          deps.hub.receipt(receipt.to, receipt.receipt);
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
  const parsed = parseInput(schema, payload);
  if (!parsed.ok) {
    deps.metrics.errors.inc({ code: parsed.error.error });
    return reply({ ok: false, ...parsed.error, requestId: randomUUID() });
  }
  try {
    reply({ ok: true, value: await handler(parsed.value) });
  } catch (error) {
    // Refusals are the client's to handle; failures are logged, with the id the client is given.
    const requestId = randomUUID();
    const body = toErrorBody(error);
    deps.metrics.errors.inc({ code: body.error });
    if (body.error === 'INTERNAL' || body.error === 'UNAVAILABLE') {
      deps.log.error(
        { event: 'socket.error', requestId, err: (error as Error)?.message?.slice(0, 200) },
        'event failed',
      );
    }
    reply({ ok: false, ...body, requestId });
  }
}

/**
 * A send is stored only if it covers exactly the devices that must get it: every current device
 * of the recipient and every other device of the sender at level 0, and for an urgent message the
 * current devices of each escalation member at its level. Then it is stored durably, then
 * acknowledged, then pushed.
 */
async function send(deps: RelayDeps, sender: DeviceIdentity, request: SendRequest): Promise<SendResult> {
  const { config, db } = deps;
  await deps.limits.take(`send:${sender.deviceId}`, config.sendsPerMinute, { failOpen: true });
  const now = config.now();
  const previous = await db
    .selectFrom('messages')
    .select(['sender_device', 'server_time'])
    .where('message_id', '=', request.messageId)
    .executeTakeFirst();
  if (previous?.sender_device === sender.deviceId) {
    return { messageId: request.messageId, serverTime: previous.server_time, duplicate: true };
  }
  if (request.acknowledgeWithinMs !== undefined) checkUrgentBounds(deps, request.acknowledgeWithinMs);
  if (!(await contactPointExists(db, request.recipient))) {
    throw new RelayError('NOT_FOUND', `no contact point "${request.recipient}"`);
  }
  const recipients = await currentDevices(db, request.recipient, now);
  if (recipients.length === 0) throw new RelayError('NOT_FOUND', `"${request.recipient}" has no registered device`);
  const own = (await currentDevices(db, sender.contactPointId, now)).filter((d) => d !== sender.deviceId);
  // The level each device's copy must have.
  const expected = new Map<string, number>([...recipients, ...own].map((d) => [d, 0]));
  const levels: PlannedLevel[] = [{ contactPointId: request.recipient, devices: recipients.length }];
  if (request.priority === 'urgent') {
    for (const [i, member] of (await escalationChainOf(db, request.recipient)).entries()) {
      // A sender named in the chain holds the message already: escalating to them would reach nobody new.
      const devices = member === sender.contactPointId ? [] : await currentDevices(db, member, now);
      for (const d of devices) expected.set(d, i + 1);
      levels.push({ contactPointId: member, devices: devices.length });
    }
  }
  const given = new Map(request.envelopes.map((e) => [e.recipientDevice, e.escalationLevel]));
  const missingDevices = [...expected].filter(([d, level]) => given.get(d) !== level).map(([d]) => d);
  const extraDevices = [...given].filter(([d, level]) => expected.get(d) !== level).map(([d]) => d);
  if (missingDevices.length > 0 || extraDevices.length > 0) {
    throw new RelayError('DEVICE_MISMATCH', 'the envelopes do not match the current devices and their levels', {
      missingDevices,
      extraDevices,
    });
  }
  const full = await fullQueues(db, [...given.keys()], config.maxQueuedEnvelopes);
  if (full.length > 0) {
    throw new RelayError(
      'QUOTA_EXCEEDED',
      `${full.length} recipient device(s) hold ${config.maxQueuedEnvelopes} undelivered envelopes already`,
    );
  }
  if (request.priority === 'urgent') {
    // Counted only once the send is otherwise acceptable, so that a client's retries after a device change are free.
    await deps.limits.take(`urgent:${sender.contactPointId}`, config.urgentSendsPerHour, {
      windowMs: 3600_000,
      failOpen: true,
    });
  }
  const stored = await storeMessage(db, sender, request, now, config.envelopeTtlMs, levels);
  if (!stored.duplicate) {
    deps.metrics.envelopesStored.inc(request.envelopes.length);
    deps.hub.envelopesStored(request.envelopes.filter((e) => e.escalationLevel === 0).map((e) => e.recipientDevice));
    if (request.priority === 'urgent') await publishUrgent(deps, [request.messageId]);
  }
  return { messageId: request.messageId, ...stored };
}

/** The time to acknowledge each level must be within the deployment's bounds. */
function checkUrgentBounds(deps: RelayDeps, acknowledgeWithinMs: number): void {
  const { min, max } = deps.config.urgentAcknowledgeWithinMs;
  if (acknowledgeWithinMs < min || acknowledgeWithinMs > max) {
    throw new RelayError(
      'INVALID_INPUT',
      `this relay accepts ${min / 1000} s to ${max / 1000} s to acknowledge each level of an urgent message`,
      { path: 'acknowledgeWithinMs' },
    );
  }
}

function connectError(error: unknown): Error & { data: unknown } {
  const body = toErrorBody(error);
  return Object.assign(new Error(body.message), { data: body });
}
