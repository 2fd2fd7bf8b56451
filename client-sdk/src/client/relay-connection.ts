import {
  type AuthProof,
  type ClientToServerEvents,
  type ServerToClientEvents,
  SOCKET_EVENTS_QUERY,
  SOCKET_EVENTS_REVISION,
} from '@liaison/protocol';
import { io, type Socket } from 'socket.io-client';
import { isLiaisonError, LiaisonError } from '../errors.js';
import { Backoff } from './backoff.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'replaced' | 'closed';

export interface ConnectionEvent {
  state: ConnectionState;
  /** Why the connection is down: the relay's error code, or the transport's reason. */
  reason?: string;
  /** When disconnected: the wait before the next attempt, in milliseconds. */
  retryInMs?: number;
}

/**
 * Refusals that say something about this device's chain or key: retrying cannot fix them. Anything
 * else (the relay or its Redis unreachable, the address over its limit, a challenge that expired
 * on the way, a chain not yet valid by the relay's clock) may pass later, and is retried.
 */
const FINAL_REFUSALS: ReadonlySet<string> = new Set([
  'UNAUTHENTICATED',
  'UNKNOWN_ROOT',
  'BAD_SIGNATURE',
  'EXPIRED',
  'REVOKED',
  'CHAIN_MISMATCH',
  'FORBIDDEN',
  'UNSUPPORTED_VERSION',
  // The relay speaks other socket events than this SDK: only another SDK (or a reloaded page) helps.
  'UPGRADE_REQUIRED',
]);

/** Reconnection waits: from 250 ms, doubling up to 10 s, each drawn at random below that ceiling. */
const BACKOFF = { baseMs: 250, maxMs: 10_000 } as const;

/**
 * The largest frame the SDK takes from the relay, in Node (`ws`'s maxPayload; its default is 100
 * MiB). The relay pushes at most LIMITS.maxPushedCiphertextBytes of ciphertext in one `envelopes`
 * frame, about 5.4 MiB once in base64url and JSON; a larger frame is a relay that does not keep its
 * own bound, and the socket is closed on it (review 25b, finding 5). Browsers offer no such
 * setting: there, the bound is the browser's.
 */
export const MAX_INCOMING_FRAME_BYTES = 8 * 1024 * 1024;

/** How long the relay has to answer an event. */
const ACK_TIMEOUT_MS = 10_000;

/** What the relay answers to an event when it accepts it. */
export type EventValue<E extends keyof ClientToServerEvents> = Extract<
  Parameters<Parameters<ClientToServerEvents[E]>[1]>[0],
  { ok: true }
>['value'];

/**
 * The socket.io connection to the relay, and its reconnection. socket.io's own reconnection is off:
 * every attempt first gets a fresh single-use proof of key possession over HTTP, and only connects
 * with one in hand, so the relay never sees an empty handshake. A failed attempt (no proof to be
 * had, the relay refusing for a reason that can pass, the transport down) is tried again after a
 * jittered backoff, for as long as the application keeps the client open.
 */
export class RelayConnection {
  readonly socket: ClientSocket;
  private readonly backoff = new Backoff(BACKOFF.baseMs, BACKOFF.maxMs);
  private retry: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private firstOutcome: { resolve: () => void; reject: (error: LiaisonError) => void } | undefined;

  constructor(
    serverUrl: string,
    private readonly proof: () => Promise<AuthProof>,
    private readonly report: (event: ConnectionEvent) => void,
  ) {
    this.socket = io(serverUrl, {
      transports: ['websocket'],
      reconnection: false,
      autoConnect: false,
      query: { [SOCKET_EVENTS_QUERY]: String(SOCKET_EVENTS_REVISION) },
      // Passed on to `ws` in Node (engine.io-client picks it for its transport), ignored in browsers;
      // socket.io-client's types do not list it.
      ...({ maxPayload: MAX_INCOMING_FRAME_BYTES } as object),
    });
    this.socket.on('connect', () => {
      this.backoff.reset();
      this.report({ state: 'connected' });
      this.settleFirst();
    });
    this.socket.on('disconnect', (reason) => {
      // Closed here (close(), or replaced by a newer connection of this device): not retried.
      if (this.stopped) return;
      this.scheduleAttempt(reason);
    });
    this.socket.on('connect_error', (error) => {
      const data = (error as { data?: { error?: string; message?: string; details?: { retryAfterMs?: number } } }).data;
      if (data?.error && FINAL_REFUSALS.has(data.error)) {
        return this.fail(new LiaisonError(data.error as LiaisonError['code'], data.message ?? 'connection refused'));
      }
      this.scheduleAttempt(data?.error ?? error.message, data?.details?.retryAfterMs);
    });
    this.socket.on('session:replaced', ({ reason }) => {
      this.stop(new LiaisonError('UNAVAILABLE', 'replaced by a newer connection of this device'));
      this.report({ state: 'replaced', reason });
    });
  }

  /** Starts connecting; resolves on the first connection, rejects on a refusal retrying cannot fix. */
  open(): Promise<void> {
    this.report({ state: 'connecting' });
    const first = new Promise<void>((resolve, reject) => {
      this.firstOutcome = { resolve, reject };
    });
    void this.attempt();
    return first;
  }

  close(): void {
    this.stop(new LiaisonError('UNAVAILABLE', 'closed before the first connection'));
  }

  /** Emits an event and resolves with the relay's value; its refusal is thrown as a LiaisonError with the relay's code. */
  async call<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<EventValue<E>> {
    // Not buffered while disconnected: the caller retries, and close() does not wait for timeouts.
    if (!this.socket.connected) throw new LiaisonError('UNAVAILABLE', 'not connected to the relay at the moment');
    let result: { ok: boolean; value?: unknown; error?: string; message?: string; details?: unknown };
    try {
      result = await (
        this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck as unknown as (e: string, p: unknown) => Promise<typeof result>
      )(event, payload);
    } catch {
      throw new LiaisonError('UNAVAILABLE', 'the relay did not answer in time');
    }
    if (!result?.ok) {
      throw new LiaisonError(
        (result?.error ?? 'INTERNAL') as LiaisonError['code'],
        result?.message ?? 'refused',
        result?.details as never,
      );
    }
    return result.value as never;
  }

  private async attempt(): Promise<void> {
    this.retry = undefined;
    if (this.stopped) return;
    let proof: AuthProof;
    try {
      proof = await this.proof();
    } catch (error) {
      if (isLiaisonError(error) && FINAL_REFUSALS.has(error.code)) return this.fail(error);
      const retryAfterMs = isLiaisonError(error) ? error.details?.retryAfterMs : undefined;
      return this.scheduleAttempt(isLiaisonError(error) ? error.code : 'UNAVAILABLE', retryAfterMs);
    }
    if (this.stopped) return;
    this.socket.auth = { proof };
    this.socket.connect();
  }

  private scheduleAttempt(reason: string, retryAfterMs?: number): void {
    if (this.stopped || this.retry) return;
    const retryInMs = this.backoff.next(retryAfterMs);
    this.report({ state: 'disconnected', reason, retryInMs });
    this.retry = setTimeout(() => void this.attempt(), retryInMs);
  }

  private fail(error: LiaisonError): void {
    this.stop(error);
    this.report({ state: 'disconnected', reason: error.code });
  }

  private settleFirst(): void {
    this.firstOutcome?.resolve();
    this.firstOutcome = undefined;
  }

  /** No more attempts; a first connection still awaited fails with `error`. */
  private stop(error?: LiaisonError): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.socket.close();
    if (error) this.firstOutcome?.reject(error);
    this.firstOutcome = undefined;
  }
}
