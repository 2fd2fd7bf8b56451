import {
  answerChallenge,
  currentLastResortKemPrekey,
  currentSignedPrekey,
  DEFAULT_PREKEY_POLICY,
  generateKemPrekey,
  type PrekeyPolicy,
  publicKemPrekey,
  refillKemPrekeys,
  refillOneTimePrekeys,
  rotateLastResortKemPrekey,
} from '@liaison/client';
import {
  type AuthChallenge,
  type AuthPurpose,
  type ClientToServerEvents,
  decodeBase64url,
  type Envelope,
  type KemPrekey,
  PQ_HYBRID_CAPABILITY,
  type Receipt,
  type ServerToClientEvents,
  SOCKET_EVENTS_QUERY,
  SOCKET_EVENTS_REVISION,
} from '@liaison/protocol';
import { io, type Socket } from 'socket.io-client';
import type { TestDevice } from './network.js';

/** The handshake query that declares the socket events revision the relay speaks (SOCKET_EVENTS_REVISION). */
export const EVENTS_QUERY = { [SOCKET_EVENTS_QUERY]: String(SOCKET_EVENTS_REVISION) };

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A plain HTTP call to the relay: status and parsed JSON body (bytes go and come as octet-stream). */
export async function http(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
  // biome-ignore lint/suspicious/noExplicitAny: tests read response fields freely and assert each one
): Promise<{ status: number; body: any }> {
  const bytes = body instanceof Uint8Array;
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(body !== undefined && { 'content-type': bytes ? 'application/octet-stream' : 'application/json' }),
      ...(token && { authorization: `Bearer ${token}` }),
    },
    ...(body !== undefined && {
      body: bytes ? (body as Uint8Array<ArrayBuffer>) : typeof body === 'string' ? body : JSON.stringify(body),
    }),
  });
  const binary = response.headers.get('content-type')?.startsWith('application/octet-stream');
  return {
    status: response.status,
    body: binary ? new Uint8Array(await response.arrayBuffer()) : await response.json(),
  };
}

/** Asks for a challenge and signs it with the device key, as the SDK does. */
export async function proof(url: string, device: TestDevice, purpose: AuthPurpose) {
  const { body } = await http(url, 'POST', '/v1/auth/challenge', { deviceId: device.id, purpose });
  return answerChallenge(device.identity, body as AuthChallenge);
}

/**
 * Signed ML-KEM-768 prekeys of a device as it uploads them: `oneTime` one-time ones with ids from
 * `firstId`, then the last-resort one (id `firstId + oneTime`) unless `lastResort` is false.
 */
export function kemPrekeys(
  device: TestDevice,
  oneTime: number,
  { firstId = 1, lastResort = true }: { firstId?: number; lastResort?: boolean } = {},
): KemPrekey[] {
  const now = Date.now();
  const ids = Array.from({ length: oneTime }, (_, i) => firstId + i);
  return [
    ...ids.map((id) => publicKemPrekey(generateKemPrekey(device.identity, id, false, now))),
    ...(lastResort ? [publicKemPrekey(generateKemPrekey(device.identity, firstId + oneTime, true, now))] : []),
  ];
}

/**
 * Registers a device as the SDK does: its signed prekey, `oneTimePrekeys` one-time prekeys and, for
 * a device certified for hybrid sessions, a last-resort and two one-time KEM prekeys kept in its
 * store (so its session cipher decrypts what is sent to it). `kem` replaces those with the given
 * ones (not kept: for tests of the relay's storage alone).
 */
export async function register(url: string, device: TestDevice, oneTimePrekeys = 10, kem?: KemPrekey[]) {
  const policy = {
    ...DEFAULT_PREKEY_POLICY,
    signedPrekeyMaxAgeMs: 1e12,
    signedPrekeyGraceMs: 1e12,
    oneTimeBatch: oneTimePrekeys,
    kemBatch: 2,
  };
  const published = await refillOneTimePrekeys(device.store, 0, policy);
  const hybrid = device.chain.device.capabilities?.includes(PQ_HYBRID_CAPABILITY) ?? false;
  const kemPrekeys = kem ?? (hybrid ? await ownKemPrekeys(device, policy) : undefined);
  return http(url, 'POST', '/v1/devices', {
    chain: device.chain,
    signedPrekey: await currentSignedPrekey(device.store),
    oneTimePrekeys: published,
    ...(kemPrekeys && { kemPrekeys }),
    proof: await proof(url, device, 'register'),
  });
}

async function ownKemPrekeys(device: TestDevice, policy: PrekeyPolicy): Promise<KemPrekey[]> {
  const now = Date.now();
  await rotateLastResortKemPrekey(device.store, now, policy);
  return [await currentLastResortKemPrekey(device.store), ...(await refillKemPrekeys(device.store, 0, now, policy))];
}

export async function token(url: string, device: TestDevice): Promise<string> {
  const { status, body } = await http(url, 'POST', '/v1/auth/token', await proof(url, device, 'token'));
  if (status !== 200) throw new Error(`token: ${JSON.stringify(body)}`);
  return body.token;
}

/** A connected socket that records what it is pushed. */
export interface Connection {
  socket: ClientSocket;
  envelopes: Envelope[];
  receipts: Receipt[];
  /** How many envelopes, and receipts, each event pushed carried, in order. */
  frames: { envelopes: number[]; receipts: number[] };
  /** Resolves when at least `n` envelopes have arrived. */
  waitForEnvelopes(n: number, timeoutMs?: number): Promise<Envelope[]>;
  waitForReceipts(n: number, timeoutMs?: number): Promise<Receipt[]>;
  call<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<Parameters<Parameters<ClientToServerEvents[E]>[1]>[0]>;
  close(): void;
}

export async function connect(url: string, device: TestDevice): Promise<Connection> {
  const socket: ClientSocket = io(url, {
    transports: ['websocket'],
    reconnection: false,
    auth: { proof: await proof(url, device, 'socket') },
    query: EVENTS_QUERY,
  });
  const envelopes: Envelope[] = [];
  const receipts: Receipt[] = [];
  const frames = { envelopes: [] as number[], receipts: [] as number[] };
  // Flattened, as a client handles them; `frames` keeps how they came.
  socket.on('envelopes', (pushed) => {
    frames.envelopes.push(pushed.length);
    envelopes.push(...pushed);
  });
  socket.on('receipts', (pushed) => {
    frames.receipts.push(pushed.length);
    receipts.push(...pushed);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => reject(Object.assign(error, { body: (error as { data?: unknown }).data })));
  });
  const waitFor = <T>(list: T[], n: number, timeoutMs = 5000) =>
    new Promise<T[]>((resolve, reject) => {
      const started = Date.now();
      const check = () => {
        if (list.length >= n) return resolve(list);
        if (Date.now() - started > timeoutMs) return reject(new Error(`waited for ${n}, got ${list.length}`));
        setTimeout(check, 10);
      };
      check();
    });
  return {
    socket,
    envelopes,
    receipts,
    frames,
    waitForEnvelopes: (n, t) => waitFor(envelopes, n, t),
    waitForReceipts: (n, t) => waitFor(receipts, n, t),
    call: (event, payload) =>
      (socket.timeout(10_000).emitWithAck as unknown as (e: string, p: unknown) => Promise<never>)(event, payload),
    close: () => socket.close(),
  };
}

export const bytesOf = (text: string) => decodeBase64url(text) as Uint8Array;
