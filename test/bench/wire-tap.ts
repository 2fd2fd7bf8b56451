/**
 * One client's work measured in a process that runs many clients (a room's member devices), the
 * SDK unchanged:
 *   - `during(work)` records what that work asks of the relay as it goes on the wire: every HTTP
 *     request (fetch) and every socket.io event it emits, with the event's JSON size and the time
 *     to its answer. Attribution is by async context: requests of other clients in the process
 *     (receivers decrypting and acknowledging) are not counted.
 *   - with `{ hold: true }`, envelopes the relay pushes to any client in the process meanwhile are
 *     handed to it only once the work is done, so that receivers' decryption does not take turns
 *     on this one thread with the sender being timed (on their own devices it would not).
 *   - `traffic` counts every socket.io event of every client in the process, both ways, by name
 *     (an event sent with a callback gets one answer frame back).
 * Installed once, before any client is created.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Socket } from 'socket.io-client';

export interface WireRecord {
  http: { method: string; path: string; ms: number }[];
  /** The events as emitted (measure their size with `jsonBytes` once the work is timed). */
  events: { event: string; payload: unknown; answerMs?: number }[];
}

/** Socket.io events of all clients in the process so far, by name: received, and sent (with how many wanted an answer). */
export const traffic = {
  received: new Map<string, number>(),
  sent: new Map<string, number>(),
  answered: new Map<string, number>(),
};
const count = (map: Map<string, number>, name: string) => map.set(name, (map.get(name) ?? 0) + 1);

const current = new AsyncLocalStorage<WireRecord>();
let installed = false;
/** Incoming envelope events held back while a timed piece of work runs: the socket and the event's arguments. */
let held: [Socket, unknown[]][] | undefined;
/** socket.io-client's dispatch of an incoming event to its listeners (private, stable since 3.0). */
type Dispatch = { emitEvent(this: Socket, args: unknown[]): void };
/** The original dispatch, for envelopes held back (counted already). */
let dispatchHeld: Dispatch['emitEvent'] | undefined;

function install(): void {
  if (installed) return;
  installed = true;
  const fetch = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const record = current.getStore();
    if (!record) return fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const started = performance.now();
    try {
      return await fetch(input, init);
    } finally {
      record.http.push({
        method: init?.method ?? 'GET',
        path: url.pathname.replace(/\/[^/]*$/, '/…'),
        ms: performance.now() - started,
      });
    }
  };
  const emit = Socket.prototype.emit;
  Socket.prototype.emit = function (this: Socket, event: string, ...args: unknown[]) {
    count(traffic.sent, event);
    if (typeof args.at(-1) === 'function') count(traffic.answered, event);
    const record = current.getStore();
    if (record) {
      const entry: WireRecord['events'][number] = { event, payload: args[0] };
      record.events.push(entry);
      const last = args.length - 1;
      const answer = args[last];
      if (typeof answer === 'function') {
        const started = performance.now();
        args[last] = (...results: unknown[]) => {
          entry.answerMs = performance.now() - started;
          return answer(...results);
        };
      }
    }
    return emit.call(this, event, ...args);
  } as typeof Socket.prototype.emit;
  const dispatch = Socket.prototype as unknown as Dispatch;
  const emitEvent = dispatch.emitEvent;
  dispatchHeld = emitEvent;
  dispatch.emitEvent = function (this: Socket, args: unknown[]) {
    count(traffic.received, String(args[0]));
    if (held && args[0] === 'envelopes') held.push([this, args]);
    else emitEvent.call(this, args);
  };
}

/**
 * Runs `work`, recording what it (and only it) sent to the relay, its wall-clock time and this
 * process's CPU time meanwhile; with `hold`, no client here handles an envelope until it ends and
 * `beforeRelease` (a reading taken while the receivers have still done nothing) has run.
 */
export async function during<T>(
  work: () => Promise<T>,
  options: { hold?: boolean; beforeRelease?: () => Promise<void> } = {},
): Promise<{ value: T; wire: WireRecord; ms: number; cpuMs: number }> {
  install();
  if (options.hold) {
    if (held) throw new Error('envelopes are held already');
    held = [];
  }
  const wire: WireRecord = { http: [], events: [] };
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    const value = await current.run(wire, work);
    const ms = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return { value, wire, ms, cpuMs: (used.user + used.system) / 1000 };
  } finally {
    await options.beforeRelease?.();
    if (options.hold) {
      const release = held ?? [];
      held = undefined;
      for (const [socket, args] of release) dispatchHeld?.call(socket, args);
    }
  }
}

/** The size of an event's payload as socket.io sends it: JSON (the event's name and framing add a few bytes). */
export function jsonBytes(payload: unknown): number {
  return Buffer.byteLength(JSON.stringify(payload) ?? '');
}

/** Installs the tap now: it must wrap fetch before the clients' first request. */
export function installWireTap(): void {
  install();
}
