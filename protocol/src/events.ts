import type {
  AcknowledgeRequest,
  EnvelopeAck,
  EnvelopeBatch,
  ReceiptBatch,
  SendRequest,
  SendResult,
} from './envelope.js';
import type { ErrorBody } from './errors.js';
import type { PrekeyCount } from './prekeys.js';
import type { UrgentState } from './urgent.js';

/** Every socket acknowledgement: a value, or an error body with a stable code. */
export type AckResult<T> = ({ ok: true } & { value: T }) | ({ ok: false } & ErrorBody);
export type Ack<T> = (result: AckResult<T>) => void;

/** Events a device emits. Payloads are validated by the relay against the schemas of the same name. */
export interface ClientToServerEvents {
  send: (request: SendRequest, ack: Ack<SendResult>) => void;
  'envelopes:ack': (request: EnvelopeAck, ack: Ack<{ deleted: number }>) => void;
  acknowledge: (request: AcknowledgeRequest, ack: Ack<{ at: number }>) => void;
}

/** Events the relay pushes to a device. */
export interface ServerToClientEvents {
  /**
   * Envelopes for this device, oldest first, several in one frame (`EnvelopeBatch`): one event per
   * delivery pass or per commit, where there was one event per envelope before (issue #25).
   */
  envelopes: (envelopes: EnvelopeBatch) => void;
  /** Receipts about this contact point's messages (`ReceiptBatch`): one event per batch of acknowledgements. */
  receipts: (receipts: ReceiptBatch) => void;
  /**
   * Revision 1's events, one envelope or receipt each: only a relay not yet upgraded pushes them
   * (during a rolling upgrade, SOCKET_EVENTS_REVISION); the SDK takes each as a frame of one.
   */
  envelope: (envelope: unknown) => void;
  receipt: (receipt: unknown) => void;
  'prekeys:low': (count: PrekeyCount) => void;
  /** An urgent message changed (sent, escalated, acknowledged, unacknowledged): to its sender and released recipients. */
  urgent: (state: UrgentState) => void;
  /** This device connected again elsewhere; this older connection is closed after the notice. */
  'session:replaced': (notice: { reason: string }) => void;
}

/** Data the relay attaches to an authenticated socket. */
export interface SocketData {
  deviceId: string;
  contactPointId: string;
}

/** Every client event, at run time: tests enumerate it, so a new event cannot go untested. */
export const CLIENT_EVENTS = [
  'send',
  'envelopes:ack',
  'acknowledge',
] as const satisfies readonly (keyof ClientToServerEvents)[];
// Fails to compile when an event is added to the map but not to the list.
const everyEventListed: Record<keyof ClientToServerEvents, true> = {
  send: true,
  'envelopes:ack': true,
  acknowledge: true,
};
void everyEventListed;
