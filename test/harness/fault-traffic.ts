import { isLiaisonError } from '@liaison/client';
import { startClient, type TestClient } from './clients.js';
import type { Connection } from './device-client.js';
import type { testNetwork } from './network.js';
import type { RelayProcess } from './relay-process.js';
import { until } from './until.js';

/**
 * What fault tests run while they break something, and the verdict they give: senders sending as
 * an application would, probes of /readyz, and "every acknowledged send delivered exactly once, in
 * order per sender and device".
 */

/**
 * Who fault tests run: three senders, a recipient contact point with two devices, and a bystander
 * that neither sends nor receives (the one a test restarts mid-fault: closing an SDK client waits
 * for the envelopes it is still handling, which a busy recipient always has).
 */
export async function faultParties(url: string, net: Awaited<ReturnType<typeof testNetwork>>) {
  const desk = net.authority('vn-spp', 'VN').contactPoint('desk');
  const recipients: TestClient[] = [];
  for (const name of ['Desk PC', 'Desk laptop']) {
    recipients.push(await startClient(url, await desk.addDevice(name), [net.root]));
  }
  const senders: TestClient[] = [];
  for (const name of ['a', 'b', 'c']) {
    const device = await net.authority('th-oag', 'TH').contactPoint(name).addDevice();
    senders.push(await startClient(url, device, [net.root]));
  }
  const bystander = await startClient(url, await net.authority('ph-doj', 'PH').contactPoint('bystander').addDevice(), [
    net.root,
  ]);
  return { senders, recipients, bystander, recipient: 'vn-spp.desk' };
}

/**
 * An application restarted during a fault: closes the client, then connects again until it is
 * in, retrying on the codes given. Resolves when it connected.
 */
export async function restartClient(client: TestClient, retryOn: readonly string[]): Promise<number> {
  await client.client.close();
  for (const started = Date.now(); ; ) {
    try {
      await client.client.connect();
      return Date.now();
    } catch (error) {
      if (!isLiaisonError(error) || !retryOn.includes(error.code) || Date.now() - started > 60_000) throw error;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export interface SentMessage {
  messageId: string;
  text: string;
  /** The relay acknowledged it (the SDK's send resolved). */
  acknowledged: boolean;
}

export interface SenderRecord {
  client: TestClient;
  /** In the order sent; the last may be unacknowledged if traffic stopped while it was retried. */
  sent: SentMessage[];
  /** Sends the SDK gave up on (its own retries exhausted, or a code it does not retry), sent again by the loop. */
  resent: number;
  /** The codes those sends failed with, and how often. */
  refusals: Map<string, number>;
  /** Sends that took longer than a second (they waited through the fault). */
  slow: number;
  slowestMs: number;
}

export interface Traffic {
  label: string;
  senders: SenderRecord[];
  /** True while every sender runs; otherwise throws what stopped one (for `until` conditions). */
  running(): true;
  /** Acknowledged sends so far, all senders. */
  acknowledged(): number;
  /** Lets each sender finish (or give up on) the send in progress, then stops. */
  stop(): Promise<SenderRecord[]>;
}

/**
 * Each sender sends numbered messages to `recipient`, one after the other (`pauseMs` apart), each
 * text starting with `label` (so that a verdict counts this traffic's messages only). A
 * send that fails with a code in `resendOn` is sent again with the same message id (so order is
 * kept, and the relay stores it once) until it is acknowledged or traffic stops; any other failure,
 * or a message not acknowledged within a minute, fails the test.
 */
export function startTraffic(
  senders: TestClient[],
  recipient: string,
  options: { label: string; pauseMs?: number; resendOn?: readonly string[] },
): Traffic {
  const pauseMs = options.pauseMs ?? 50;
  const resendOn = new Set(options.resendOn ?? ['UNAVAILABLE']);
  let stopping = false;
  const records: SenderRecord[] = senders.map((client) => ({
    client,
    sent: [],
    resent: 0,
    refusals: new Map(),
    slow: 0,
    slowestMs: 0,
  }));
  const loops = records.map(async (record) => {
    for (let i = 0; !stopping; i++) {
      const message: SentMessage = {
        messageId: crypto.randomUUID(),
        text: `${options.label} ${record.client.client.contactPointId} #${i}`,
        acknowledged: false,
      };
      record.sent.push(message);
      const started = Date.now();
      for (;;) {
        try {
          await record.client.client.send(recipient, { text: message.text }, { messageId: message.messageId });
          message.acknowledged = true;
          break;
        } catch (error) {
          if (!isLiaisonError(error) || !resendOn.has(error.code) || Date.now() - started > 60_000) throw error;
          record.refusals.set(error.code, (record.refusals.get(error.code) ?? 0) + 1);
          if (stopping) break;
          record.resent++;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      const ms = Date.now() - started;
      if (ms > 1000) record.slow++;
      record.slowestMs = Math.max(record.slowestMs, ms);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  });
  let failure: unknown;
  const done = Promise.all(loops);
  // A loop that throws fails the test when stop() is awaited, or at the next running(); until then,
  // keep it from being unhandled.
  done.catch((error) => {
    failure = error ?? new Error('a sender stopped');
  });
  return {
    label: options.label,
    senders: records,
    running() {
      if (failure) throw failure;
      return true;
    },
    acknowledged: () => records.reduce((n, r) => n + r.sent.filter((m) => m.acknowledged).length, 0),
    async stop() {
      stopping = true;
      await done;
      return records;
    },
  };
}

/**
 * Waits until every recipient device shows every acknowledged message of this traffic and each
 * sender has its `delivered` receipts, waits `settleMs` more for duplicates, and lists what is
 * wrong: an acknowledged message missing or shown twice, a message shown out of its sender's
 * order, one nobody sent, or a delivery its sender was never told of (the relay still holds the
 * envelope). Returns the problems and what was delivered.
 */
export async function deliveryVerdict(
  traffic: Traffic,
  recipients: TestClient[],
  options: { timeoutMs?: number; settleMs?: number } = {},
): Promise<{ problems: string[]; delivered: number; acknowledged: number; unacknowledgedDelivered: number }> {
  const senders = traffic.senders;
  const acknowledged = senders.flatMap((s) => s.sent.filter((m) => m.acknowledged).map((m) => m.messageId));
  const shown = (r: TestClient) => new Set(r.messages.map((m) => m.messageId));
  const untold = (r: TestClient) => {
    const told = new Set(
      senders.flatMap((s) =>
        s.client.receipts
          .filter((x) => x.status === 'delivered' && x.deviceId === r.client.deviceId)
          .map((x) => x.messageId),
      ),
    );
    return acknowledged.filter((id) => !told.has(id)).length;
  };
  await until(
    () => recipients.every((r) => acknowledged.every((id) => shown(r).has(id)) && untold(r) === 0),
    `every acknowledged message (${acknowledged.length}) at each of ${recipients.length} devices, and its receipt`,
    options.timeoutMs ?? 30_000,
  ).catch(() => undefined);
  await new Promise((r) => setTimeout(r, options.settleMs ?? 1000));
  const problems: string[] = [];
  let unacknowledgedDelivered = 0;
  for (const [d, recipient] of recipients.entries()) {
    if (untold(recipient) > 0) problems.push(`device ${d}: ${untold(recipient)} deliveries never told to their sender`);
    for (const sender of senders) {
      const order = new Map(sender.sent.map((m, i) => [m.messageId, i]));
      const got = recipient.messages.filter(
        (m) => m.sender.deviceId === sender.client.client.deviceId && m.text.startsWith(`${traffic.label} `),
      );
      const ids = got.map((m) => m.messageId);
      const who = `device ${d}, from ${sender.client.client.contactPointId}`;
      for (const m of sender.sent) {
        const times = ids.filter((id) => id === m.messageId).length;
        if (m.acknowledged && times !== 1) problems.push(`${who}: "${m.text}" acknowledged, shown ${times} times`);
        if (!m.acknowledged && times > 1) problems.push(`${who}: "${m.text}" shown ${times} times`);
        if (!m.acknowledged && times === 1) unacknowledgedDelivered++;
      }
      const stranger = got.find((m) => !order.has(m.messageId));
      if (stranger) problems.push(`${who}: "${stranger.text}" was never sent`);
      const positions = ids.map((id) => order.get(id) ?? -1);
      if (positions.some((p, i) => i > 0 && p <= (positions[i - 1] as number))) {
        problems.push(`${who}: out of order (${positions.join(', ')})`);
      }
      for (const m of got) {
        if (m.text !== sender.sent[order.get(m.messageId) ?? -1]?.text) problems.push(`${who}: "${m.text}" altered`);
      }
    }
  }
  return {
    problems,
    acknowledged: acknowledged.length,
    delivered: recipients.reduce(
      (n, r) => n + r.messages.filter((m) => m.text.startsWith(`${traffic.label} `)).length,
      0,
    ),
    unacknowledgedDelivered,
  };
}

export interface HttpProbe {
  /** Every answer so far: when it was asked, the status (0: no answer within a second), how long it took. */
  readonly answers: { at: number; status: number; ms: number }[];
  stop(): Promise<void>;
}

/** `concurrency` loops asking `path` (/readyz, /healthz) one after the other, as load balancers do, but harder. */
export function probeHttp(url: string, path: string, concurrency: number): HttpProbe {
  const answers: { at: number; status: number; ms: number }[] = [];
  let stopping = false;
  const loop = async () => {
    while (!stopping) {
      const at = Date.now();
      try {
        const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(1000) });
        await response.arrayBuffer();
        answers.push({ at, status: response.status, ms: Date.now() - at });
      } catch {
        answers.push({ at, status: 0, ms: Date.now() - at });
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const loops = Array.from({ length: concurrency }, loop);
  return {
    answers,
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

/** A send that reaches the relay without the SDK (no retries): its acknowledgement as it came. */
export function bareSend(connection: Connection, recipient: string, devices: string[]) {
  return connection.call('send', {
    messageId: crypto.randomUUID(),
    recipient,
    priority: 'normal',
    createdAt: Date.now(),
    envelopes: devices.map((recipientDevice) => ({
      recipientDevice,
      kind: 'message' as const,
      ciphertext: 'AAAAAAAAAAAAAAAAAAAAAA',
      escalationLevel: 0,
    })),
  });
}

/** True while the relay's process runs; otherwise throws with how it ended (for `until` conditions). */
export function relayUp(relay: RelayProcess): true {
  if (!relay.alive()) {
    throw new Error(`the relay process exited:\n${relay.output().trim().split('\n').slice(-20).join('\n')}`);
  }
  return true;
}

export interface ConnectionWatch {
  /** Disconnections seen, all clients. */
  disconnections(): number;
  /** The clients whose latest connection state is not `connected`, by contact point. */
  notConnected(): string[];
  /** Every state change: when, whose, which, and the reason given. */
  readonly events: { at: number; who: string; state: string; reason?: string }[];
}

/** Follows the connection state the SDK reports for each client (all connected when called). */
export function watchConnections(clients: TestClient[]): ConnectionWatch {
  const latest = new Map<TestClient, string>(clients.map((c) => [c, 'connected']));
  const events: ConnectionWatch['events'] = [];
  for (const c of clients) {
    c.client.on('connection', ({ state, reason }) => {
      events.push({ at: Date.now(), who: c.client.contactPointId, state, ...(reason && { reason }) });
      latest.set(c, state);
    });
  }
  return {
    events,
    disconnections: () => events.filter((e) => e.state === 'disconnected').length,
    notConnected: () =>
      clients.filter((c) => latest.get(c) !== 'connected').map((c) => `${c.client.contactPointId}: ${latest.get(c)}`),
  };
}
