import {
  type EvidenceReceipt,
  LiaisonClient,
  type LiaisonError,
  type ReceivedMessage,
  type RoomChangeEvent,
  type RoomMessage,
  type TransferHashFactory,
} from '@liaison/client';
import { nodeFetch, workerHash } from '@liaison/client/node';
import type { Receipt, Revocation, TrustedRoot, UrgentState } from '@liaison/protocol';
import type { TestDevice } from './network.js';
import { until } from './until.js';

/** A LiaisonClient for a test device, recording what it hands to the application. */
export interface TestClient {
  client: LiaisonClient;
  messages: ReceivedMessage[];
  receipts: Receipt[];
  /** Signed receipts of recipients' devices and people, verified and kept. */
  evidence: EvidenceReceipt[];
  /** Every urgent-message state the client reported, in order. */
  urgent: UrgentState[];
  roomMessages: RoomMessage[];
  roomChanges: RoomChangeEvent[];
  /** What the client reported it could not show. */
  errors: LiaisonError[];
  waitForMessages(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  waitForReceipts(predicate: (r: Receipt[]) => boolean, timeoutMs?: number): Promise<Receipt[]>;
  waitForUrgent(predicate: (s: UrgentState[]) => boolean, timeoutMs?: number): Promise<UrgentState[]>;
}

export async function startClient(
  url: string,
  device: TestDevice,
  roots: TrustedRoot[],
  options: {
    connect?: boolean;
    relayOrigin?: string;
    now?: () => number;
    /** Revocations the application knows of, which the relay may not. */
    revocations?: Revocation[];
    /** How the client makes its HTTP requests; `nodeFetch`, as a Node application would (docs/client.md), by default. */
    fetch?: typeof fetch;
    /** Where attachments are hashed; `workerHash`, as a Node application would (docs/client.md), by default. */
    attachmentHash?: TransferHashFactory;
  } = {},
): Promise<TestClient> {
  const client = await LiaisonClient.create({
    serverUrl: url,
    keyStore: device.store,
    trustedRoots: roots,
    chain: device.chain,
    // The browser tests cover the platform's fetch and the hash on the page's thread.
    fetch: options.fetch ?? nodeFetch,
    attachmentHash: options.attachmentHash ?? workerHash,
    ...(options.relayOrigin && { relayOrigin: options.relayOrigin }),
    ...(options.now && { now: options.now }),
    ...(options.revocations && { revocations: options.revocations }),
  });
  const messages: ReceivedMessage[] = [];
  const receipts: Receipt[] = [];
  const evidence: EvidenceReceipt[] = [];
  const urgent: UrgentState[] = [];
  const roomMessages: RoomMessage[] = [];
  const roomChanges: RoomChangeEvent[] = [];
  const errors: LiaisonError[] = [];
  client.on('roomMessage', (m) => {
    roomMessages.push(m);
  });
  client.on('roomChanged', (c) => {
    roomChanges.push(c);
  });
  client.on('error', (e) => {
    errors.push(e);
  });
  client.on('urgent', (state) => {
    urgent.push(state);
  });
  client.on('message', (m) => {
    messages.push(m);
  });
  client.on('receipt', (r) => {
    receipts.push(r);
  });
  client.on('evidence', (r) => {
    evidence.push(r);
  });
  if (options.connect ?? true) await client.connect();
  const waitUntil = async <T>(value: () => T, done: (v: T) => boolean, what: string, timeoutMs?: number) => {
    await until(() => done(value()), what, timeoutMs);
    return value();
  };
  return {
    client,
    messages,
    receipts,
    evidence,
    urgent,
    roomMessages,
    roomChanges,
    errors,
    waitForMessages: (n, t) =>
      waitUntil(
        () => messages,
        (m) => m.length >= n,
        `${n} messages (have ${messages.length})`,
        t,
      ),
    waitForReceipts: (p, t) => waitUntil(() => receipts, p, 'receipts', t),
    waitForUrgent: (p, t) => waitUntil(() => urgent, p, 'urgent states', t),
  };
}
