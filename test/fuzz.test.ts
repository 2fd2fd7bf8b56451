import {
  AcknowledgeRequest,
  CLIENT_EVENTS,
  EnvelopeAck,
  ERROR_CODES,
  parseInput,
  SendRequest,
} from '@liaison/protocol';
import { ROUTES } from '@liaison/server';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, connect, register, token } from './harness/device-client.js';
import { buildSend } from './harness/messaging.js';
import { type TestDevice, testNetwork } from './harness/network.js';
import { RELAY_TABLES, startTestRelay, type TestRelay } from './harness/relay.js';

/**
 * Malformed input at every HTTP endpoint and socket event, seeded and reproducible:
 *   LIAISON_FUZZ_SEED=<n> LIAISON_FUZZ_CASES=<n> npx vitest run test/fuzz.test.ts
 * Every answer must carry a stable error code (never a 500), the relay must stay up with bounded
 * memory, and the database must be exactly as it was.
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

describe('fuzzing the relay with malformed input', () => {
  let relay: TestRelay;
  let owner: TestDevice;
  let bearer: string;
  let socket: Connection;
  let validSend: Record<string, unknown>;

  beforeAll(async () => {
    const net = await testNetwork();
    // Limits lifted, so that the malformed input reaches the checks behind them.
    relay = await startTestRelay('pglite', {
      trustedRoots: [net.root],
      bundleFetchesPerMinute: 1_000_000,
      authAttemptsPerMinute: 1_000_000,
    });
    owner = await net.authority('th-oag', 'TH').contactPoint('owner').addDevice();
    const peer = await net.authority('vn-spp', 'VN').contactPoint('peer').addDevice();
    for (const device of [owner, peer]) expect((await register(relay.url, device)).status).toBe(200);
    bearer = await token(relay.url, owner);
    socket = await connect(relay.url, owner);
    validSend = (await buildSend(relay.url, owner, 'vn-spp.peer', 'valid')) as unknown as Record<string, unknown>;
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
});
