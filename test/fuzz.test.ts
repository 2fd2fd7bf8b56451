import { currentSignedPrekey, registerWebhook, revoke } from '@liaison/client';
import {
  AcknowledgeRequest,
  CLIENT_EVENTS,
  EnvelopeAck,
  ERROR_CODES,
  encodeBase64url,
  parseInput,
  SendRequest,
} from '@liaison/protocol';
import { type RelayConfig, ROUTES, type Route, relayConfig } from '@liaison/server';
import fc from 'fast-check';
import { sql } from 'kysely';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Connection, connect, EVENTS_QUERY, http, register, token } from './harness/device-client.js';
import { buildSend } from './harness/messaging.js';
import { type TestDevice, testNetwork } from './harness/network.js';
import { describeEachBackend, RELAY_TABLES, startTestRelay, type TestRelay } from './harness/relay.js';

/**
 * Malformed input at every HTTP endpoint and socket event, seeded and reproducible:
 *   LIAISON_FUZZ_SEED=<n> LIAISON_FUZZ_CASES=<n> npx vitest run test/fuzz.test.ts
 * Every answer must carry a stable error code (never a 500), the relay must stay up with bounded
 * memory, and the database must be exactly as it was. Then, on every backend, control characters
 * in every string field of every route and event: PostgreSQL refuses U+0000 in text and jsonb, so a
 * string the schemas let through would reach it and fail as INTERNAL.
 */
const SEED = Number(process.env.LIAISON_FUZZ_SEED ?? 20261122);
const CASES = Number(process.env.LIAISON_FUZZ_CASES ?? 10_000);
const CODES = new Set<string>(ERROR_CODES);
const EVENT_SCHEMAS = { send: SendRequest, 'envelopes:ack': EnvelopeAck, acknowledge: AcknowledgeRequest } as const;

/** Any junk value as text, including objects without a prototype (which String() refuses). */
function asText(value: unknown): string {
  try {
    return String(value);
  } catch {
    return JSON.stringify(value) ?? 'x';
  }
}

/** Path segments sent as they are: broken percent-escapes and friends. */
const RAW_PATHS = ['%', '%E0%A4%A', '%00', '%2e%2e%2f', '..', '%ZZ', '%C0%AF'];

/** Any string as a path segment: percent-encoded byte by byte, or raw for the RAW_PATHS. */
function pathSegment(text: string): string {
  if (RAW_PATHS.includes(text)) return text;
  const bytes = Buffer.from(text.slice(0, 300) || 'x', 'utf8');
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'];
const NASTY_STRINGS = [
  '',
  '\u0000',
  '\uD800',
  '\uDFFF\uD800',
  '\u202Eevil',
  'a\u200Bb',
  '🇹🇭'.repeat(100),
  'A'.repeat(100_000),
  '=',
  '====',
  '-_-_',
  '+/+/',
  'null',
  '{"a":',
  '-1',
  '1e309',
  'NaN',
  '../../etc/passwd',
  "'; drop table envelopes; --",
];

/** Junk values: everything fast-check can make, plus the classics. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.anything({ maxDepth: 4, maxKeys: 6, withNullPrototype: true, withBigInt: false }) },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(-1, -0, 2 ** 53, -(2 ** 31), 1.5, Number.MAX_VALUE, Number.MIN_SAFE_INTEGER),
  },
  { weight: 1, arbitrary: fc.array(fc.integer(), { minLength: 1000, maxLength: 5000 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 20, max: 200 }).map((depth) => {
      let value: unknown = 'deep';
      for (let i = 0; i < depth; i++) value = { nested: value };
      return value;
    }),
  },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...POLLUTING_KEYS), fc.anything({ maxDepth: 1 })) },
);

/** A valid input with one field replaced, removed, or joined by a stranger. */
function mutate(valid: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(valid);
  return fc.oneof(
    fc.tuple(fc.constantFrom(...keys), junk).map(([k, v]) => ({ ...valid, [k]: v })),
    fc.constantFrom(...keys).map((k) => Object.fromEntries(Object.entries(valid).filter(([key]) => key !== k))),
    fc.tuple(fc.oneof(fc.constantFrom(...POLLUTING_KEYS), fc.string()), junk).map(([key, value]) => {
      // defineProperty makes even "__proto__" an own, serialised key, as JSON.parse would.
      const extended = { ...valid };
      Object.defineProperty(extended, key, { value, enumerable: true, writable: true, configurable: true });
      return extended;
    }),
    junk,
  );
}

/** C0 controls (tab and line breaks among them), DEL and C1 controls: none belongs in any field on the wire. */
const CONTROL_CHARACTERS = [
  '\u0000',
  '\u0001',
  '\u0007',
  '\b',
  '\t',
  '\n',
  '\u000B',
  '\f',
  '\r',
  '\u001B',
  '\u001F',
  '\u007F',
  '\u0080',
  '\u0085',
  '\u009F',
];

/** Every string in a JSON value, by path. */
function stringLeaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringLeaves(item, [...path, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...path, k]));
  return [];
}

/** A copy of `value` with the string at `path` changed. */
function withString(value: unknown, path: (string | number)[], change: (s: string) => string): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return change(value as string);
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  copy[head] = withString(copy[head], rest, change);
  return copy;
}

/**
 * Each control character in place of the first and of the last character of the string at each
 * path of `valid` (its length kept, so that only the character is wrong), and alone.
 */
function withControlCharacters(valid: unknown): { field: string; value: unknown }[] {
  return stringLeaves(valid).flatMap((path) =>
    CONTROL_CHARACTERS.flatMap((c) =>
      [(s: string) => `${c}${s.slice(1)}`, (s: string) => `${s.slice(0, -1)}${c}`, () => c].map((change) => ({
        field: `${path.join('.')} with U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
        value: withString(valid, path, change),
      })),
    ),
  );
}

const routeKey = (route: Route) => `${route.method} ${route.path}`;

/** Every rate limit out of the way: a refusal must be about the input, not the count. */
const UNLIMITED = Object.fromEntries(
  Object.keys(relayConfig())
    .filter((key) => /PerMinute$|PerHour$/.test(key))
    .map((key) => [key, 1_000_000_000]),
) as Partial<RelayConfig>;

describeEachBackend('fuzzing the relay with malformed input (%s)', (backend) => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let owner: TestDevice;
  let peer: TestDevice;
  let bearer: string;
  let socket: Connection;
  let validSend: Record<string, unknown>;
  /** A blob of the owner's, complete, which the peer may read. */
  let blobId: string;

  beforeAll(async () => {
    net = await testNetwork();
    relay = await startTestRelay(backend, { trustedRoots: [net.root], ...UNLIMITED });
    owner = await net.authority('th-oag', 'TH').contactPoint('owner').addDevice();
    peer = await net.authority('vn-spp', 'VN').contactPoint('peer').addDevice();
    for (const device of [owner, peer]) expect((await register(relay.url, device)).status).toBe(200);
    bearer = await token(relay.url, owner);
    socket = await connect(relay.url, owner);
    validSend = (await buildSend(relay.url, owner, 'vn-spp.peer', 'valid')) as unknown as Record<string, unknown>;
    blobId = crypto.randomUUID();
    const blob = { blobId, messageId: crypto.randomUUID(), size: 100, readers: [peer.id] };
    expect((await http(relay.url, 'POST', '/v1/blobs', blob, bearer)).status).toBe(200);
    expect((await http(relay.url, 'PUT', `/v1/blobs/${blobId}/chunks/0`, new Uint8Array(100), bearer)).status).toBe(
      200,
    );
  });
  afterAll(async () => {
    socket.close();
    await relay.stop();
  });

  async function snapshot(): Promise<string> {
    const tables = RELAY_TABLES;
    const parts = [];
    for (const table of tables) {
      const { rows } = await sql`select * from ${sql.table(table)} order by 1`.execute(relay.relay.db);
      parts.push(JSON.stringify(rows, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)));
    }
    return parts.join('\n');
  }

  it(`answers ${CASES} malformed requests and events with stable codes, and changes nothing`, async () => {
    const before = await snapshot();
    const memoryBefore = process.memoryUsage().rss;
    let tried = 0;
    const perTarget = Math.ceil(CASES / (ROUTES.length + CLIENT_EVENTS.length));

    for (const [i, route] of ROUTES.entries()) {
      const sample = fc.oneof(
        junk.map((v) => ({ path: asText(v) })),
        fc.constantFrom(...RAW_PATHS).map((raw) => ({ path: raw, raw: true })),
      );
      await fc.assert(
        fc.asyncProperty(
          route.source === 'none'
            ? sample
            : route.source === 'bytes'
              ? fc.record({ path: junk.map(asText), bytes: fc.uint8Array({ maxLength: 4096 }) })
              : fc.oneof(junk, mutate(validSend)),
          async (input) => {
            let path = route.path;
            let body: string | Uint8Array | undefined;
            let type = 'application/json';
            if (route.source === 'none') {
              path = path.replace(/:[A-Za-z]+/g, pathSegment((input as { path: string }).path));
              if (path.endsWith('/bundles') && path.includes('th-oag.owner')) return;
            } else if (route.source === 'bytes') {
              // Chunks for blobs that are not the caller's, or ids that are no ids: refused whatever the bytes.
              const { path: segment, bytes } = input as { path: string; bytes: Uint8Array };
              path = path.replace(/:[A-Za-z]+/g, segment.length % 2 ? crypto.randomUUID() : pathSegment(segment));
              body = bytes;
              type = 'application/octet-stream';
            } else if (route.source === 'query') {
              const query = new URLSearchParams(
                Object.entries(typeof input === 'object' && input ? input : { junk: input }).map(
                  ([k, v]): [string, string] => [k, asText(v).slice(0, 300)],
                ),
              );
              // What the relay will see; a query that happens to be valid is not this test's subject.
              if (parseInput(route.input, Object.fromEntries(query)).ok) return;
              path = `${path}?${query}`;
            } else {
              body =
                typeof input === 'string' && input.startsWith('{') ? input : (JSON.stringify(input) ?? 'undefined');
              const sent = (() => {
                try {
                  return { json: JSON.parse(body) as unknown };
                } catch {
                  return undefined;
                }
              })();
              if (sent && parseInput(route.input, sent.json).ok) return;
            }
            const response = await fetch(`${relay.url}${path}`, {
              method: route.method.toUpperCase(),
              headers: { 'content-type': type, authorization: `Bearer ${bearer}` },
              ...(route.method !== 'get' && { body: body as string | Uint8Array<ArrayBuffer> | undefined }),
            });
            const answer = (await response.json()) as { error?: string };
            tried += 1;
            if (response.status < 400 && route.source === 'none') return; // a lookup of something that exists
            expect(response.status, `${route.method} ${path}`).toBeGreaterThanOrEqual(400);
            expect(response.status).toBeLessThan(500);
            expect(CODES.has(answer.error ?? ''), JSON.stringify(answer)).toBe(true);
          },
        ),
        { seed: SEED + i, numRuns: perTarget, endOnFailure: true },
      );
    }

    for (const [i, event] of CLIENT_EVENTS.entries()) {
      const valid =
        event === 'send'
          ? validSend
          : event === 'envelopes:ack'
            ? { messageIds: [crypto.randomUUID()] }
            : { messageId: crypto.randomUUID() };
      await fc.assert(
        fc.asyncProperty(fc.oneof(junk, mutate(valid)), async (payload) => {
          // socket.io sends JSON: judge, and send, the payload as it travels.
          const wire: unknown = JSON.parse(JSON.stringify(payload) ?? 'null');
          if (parseInput(EVENT_SCHEMAS[event], wire).ok) return;
          const result = await socket.call(event, wire as never);
          tried += 1;
          expect(result.ok).toBe(false);
          if (!result.ok) expect(CODES.has(result.error)).toBe(true);
        }),
        { seed: SEED + 100 + i, numRuns: perTarget, endOnFailure: true },
      );
    }

    expect(socket.socket.connected).toBe(true);
    expect((await fetch(`${relay.url}/healthz`)).status).toBe(200);
    expect(await snapshot()).toBe(before);
    // Memory stays bounded: what the run allocated is released (generous bound: the test process hosts the relay).
    expect(process.memoryUsage().rss - memoryBefore).toBeLessThan(512 * 1024 * 1024);
    expect(tried).toBeGreaterThan(CASES * 0.8);
  }, 600_000);

  /** A valid input of every route that takes one, as the relay would accept it up to its handler. */
  async function validInputs(): Promise<Record<string, unknown[]>> {
    const bytes = (n: number, fill: number) => encodeBase64url(new Uint8Array(n).fill(fill));
    const proof = { deviceId: owner.id, nonce: bytes(32, 1), signature: bytes(64, 2) };
    const signedPrekey = await currentSignedPrekey(owner.store);
    const oneTimePrekeys = [{ id: 1, publicKey: bytes(32, 3) }];
    const th = net.authority('th-oag', 'TH');
    const revocation = (subject: 'authority' | 'contact-point' | 'device', subjectId: string) =>
      revoke(th.keys, { networkId: 'seajust', subject, subjectId, reason: 'other', revokedAt: relay.clock.now });
    return {
      'post /v1/auth/challenge': [{ deviceId: owner.id, purpose: 'token' }],
      'post /v1/auth/token': [proof],
      'post /v1/devices': [{ chain: owner.chain, signedPrekey, oneTimePrekeys, proof }],
      'post /v1/prekeys': [{ signedPrekey, oneTimePrekeys }],
      'get /v1/directory': [
        {
          country: 'VN',
          authority: 'vn-spp',
          network: 'seajust',
          language: 'en',
          competence: 'mla',
          q: 'Prosecutor',
          limit: '5',
          cursor: 'th-oag.owner',
        },
      ],
      'put /v1/availability': [{ status: 'away', delegate: 'vn-spp.peer', until: relay.clock.now + 60_000 }],
      'get /v1/receipts': [{ after: '0' }],
      'post /v1/webhooks': [
        registerWebhook(th.keys, {
          networkId: 'seajust',
          authorityId: 'th-oag',
          url: 'https://alerts.th-oag.example/liaison',
          secret: bytes(32, 4),
          issuedAt: relay.clock.now,
        }),
      ],
      'post /v1/blobs': [
        { blobId: crypto.randomUUID(), messageId: crypto.randomUUID(), size: 100, readers: [peer.id] },
      ],
      'put /v1/blobs/:blobId/readers': [{ readers: [peer.id] }],
      'post /v1/revocations': [
        revocation('authority', 'th-oag'),
        revocation('contact-point', 'th-oag.owner'),
        revocation('device', owner.id),
      ],
    };
  }

  it('refuses control characters in every string field of every route, path and event, and changes nothing', async () => {
    const before = await snapshot();
    const inputs = await validInputs();
    const params: Record<string, string> = {
      contactPointId: 'vn-spp.peer',
      messageId: crypto.randomUUID(),
      blobId,
      index: '0',
    };
    // Every answer that is not the one expected, listed at the end: one run shows every gap.
    const wrong: string[] = [];
    let tried = 0;
    const call = async (route: Route, path: string, input: unknown) => {
      const query = route.source === 'query' ? `?${new URLSearchParams(input as Record<string, string>)}` : '';
      const body = route.source === 'body' ? input : route.source === 'bytes' ? new Uint8Array(100) : undefined;
      const answer = await http(relay.url, route.method.toUpperCase(), `${path}${query}`, body, bearer);
      tried += 1;
      return { status: answer.status, error: String(answer.body.error) };
    };

    for (const route of ROUTES) {
      const valid = inputs[routeKey(route)] ?? [];
      if (route.source === 'body' || route.source === 'query') {
        // A route that takes input without a sample here fails: every new field gets this test.
        expect(valid.length, `a valid input for ${routeKey(route)}`).toBeGreaterThan(0);
      }
      const path = route.path.replace(/:([A-Za-z]+)/g, (_, name: string) => params[name] as string);
      for (const sample of valid) {
        expect(parseInput(route.input, sample).ok, `the sample for ${routeKey(route)} is valid`).toBe(true);
        for (const { field, value } of withControlCharacters(sample)) {
          const { status, error } = await call(route, path, value);
          if (status !== 400 || error !== 'INVALID_INPUT')
            wrong.push(`${routeKey(route)} ${field}: ${status} ${error}`);
        }
      }
      // Ids in the path: refused, or not found (the caller may not see the blob), never a failure.
      for (const name of route.path.match(/:[A-Za-z]+/g) ?? []) {
        for (const { field, value } of withControlCharacters(params[name.slice(1)])) {
          const changed = route.path.replace(/:([A-Za-z]+)/g, (match, other: string) =>
            encodeURIComponent(match === name ? (value as string) : (params[other] as string)),
          );
          const { status, error } = await call(route, changed, valid[0]);
          if (status < 400 || status >= 500 || !CODES.has(error)) {
            wrong.push(`${routeKey(route)} ${name} ${field}: ${status} ${error}`);
          }
        }
      }
    }

    const events: Record<string, unknown> = {
      send: validSend,
      'envelopes:ack': { messageIds: [crypto.randomUUID()] },
      acknowledge: { messageId: crypto.randomUUID() },
    };
    for (const event of CLIENT_EVENTS) {
      expect(parseInput(EVENT_SCHEMAS[event], events[event]).ok, `the sample for ${event} is valid`).toBe(true);
      for (const { field, value } of withControlCharacters(events[event])) {
        const result = await socket.call(event, value as never);
        tried += 1;
        if (result.ok || result.error !== 'INVALID_INPUT') wrong.push(`${event} ${field}: ${JSON.stringify(result)}`);
      }
    }

    // The handshake's proof: refused at the door.
    const zeros = (n: number) => encodeBase64url(new Uint8Array(n));
    const handshake = {
      proof: { deviceId: owner.id, nonce: zeros(32), signature: zeros(64) },
    };
    for (const { field, value } of withControlCharacters(handshake)) {
      const attempt = io(relay.url, {
        transports: ['websocket'],
        reconnection: false,
        auth: value as object,
        query: EVENTS_QUERY,
      });
      const error = await new Promise<{ data?: { error?: string } }>((resolve) => {
        attempt.once('connect_error', resolve);
        attempt.once('connect', () => resolve({}));
      });
      attempt.close();
      tried += 1;
      if (error.data?.error !== 'UNAUTHENTICATED') wrong.push(`handshake ${field}: ${JSON.stringify(error.data)}`);
    }

    expect(wrong).toEqual([]);
    expect(tried).toBeGreaterThan(2000);
    expect(socket.socket.connected).toBe(true);
    expect(await snapshot()).toBe(before);
  }, 300_000);
});
