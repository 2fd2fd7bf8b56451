import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshRedis } from '../../../test/harness/redis.js';
import { redisService } from '../../../test/harness/services.js';
import { type EphemeralStore, MemoryEphemeralStore } from './ephemeral-store.js';
import { RedisEphemeralStore } from './redis-ephemeral-store.js';

/**
 * What the authenticator and the rate limiter rely on from an ephemeral store, asserted the same
 * way against each implementation: the in-process one of a single node and the Redis one of a cluster.
 */
interface StoreUnderTest {
  store: EphemeralStore;
  /** Lets `ms` pass on the clock the store reads (a test clock moved at once, or real time). */
  elapse(ms: number): Promise<void>;
  close(): Promise<void>;
}

function ephemeralStoreContract(open: () => Promise<StoreUnderTest>) {
  let subject: StoreUnderTest;
  let store: EphemeralStore;
  beforeEach(async () => {
    subject = await open();
    store = subject.store;
  });
  afterEach(() => subject.close());

  it('gives back what was put, until it is taken; nothing for a key never put', async () => {
    const challenge = JSON.stringify({ deviceId: 'dévice-ü', purpose: 'connect', issuedAt: 1 });
    await store.put('challenge:a', challenge, 60_000);
    expect(await store.get('challenge:a')).toBe(challenge);
    expect(await store.get('challenge:a')).toBe(challenge);
    expect(await store.get('challenge:never')).toBeUndefined();
    expect(await store.take('challenge:never')).toBeUndefined();
  });

  it('take returns the value once: a second take, and a get, find nothing', async () => {
    await store.put('challenge:b', 'issued', 60_000);
    expect(await store.take('challenge:b')).toBe('issued');
    expect(await store.take('challenge:b')).toBeUndefined();
    expect(await store.get('challenge:b')).toBeUndefined();
  });

  it('take is single-use under concurrency: of ten parallel takes, exactly one gets the value', async () => {
    await store.put('challenge:c', 'issued', 60_000);
    const taken = await Promise.all(Array.from({ length: 10 }, () => store.take('challenge:c')));
    expect(taken.filter((value) => value !== undefined)).toEqual(['issued']);
  });

  it('forgets a value once its lifetime passes, and keeps a longer-lived one', async () => {
    await store.put('token:short', 'short', 100);
    await store.put('token:long', 'long', 60_000);
    await subject.elapse(150);
    expect(await store.get('token:short')).toBeUndefined();
    expect(await store.take('token:short')).toBeUndefined();
    expect(await store.get('token:long')).toBe('long');
  });

  it('a later put replaces the value and its lifetime; keys do not touch each other', async () => {
    await store.put('token:x', 'first', 100);
    await store.put('token:y', 'other', 60_000);
    await store.put('token:x', 'second', 60_000);
    await subject.elapse(150);
    expect(await store.get('token:x')).toBe('second');
    await store.take('token:x');
    expect(await store.get('token:y')).toBe('other');
  });

  it('counts within a window that starts at the first increment and is not extended by later ones', async () => {
    // A window long enough that a busy machine cannot end it between the two increments.
    const first = await store.increment('rate:a', 10_000);
    expect(first.count).toBe(1);
    expect(first.resetInMs).toBeGreaterThan(0);
    expect(first.resetInMs).toBeLessThanOrEqual(10_000);
    await subject.elapse(300);
    const second = await store.increment('rate:a', 10_000);
    expect(second.count).toBe(2);
    expect(second.resetInMs).toBeLessThanOrEqual(9_700);
    expect((await store.increment('rate:b', 10_000)).count).toBe(1);
  });

  it('starts a new window at one once the old one has passed', async () => {
    await store.increment('rate:c', 200);
    await store.increment('rate:c', 200);
    await subject.elapse(250);
    const fresh = await store.increment('rate:c', 200);
    expect(fresh.count).toBe(1);
    expect(fresh.resetInMs).toBeGreaterThan(0);
  });

  it('loses no increment under concurrency: twenty parallel increments count 1 to 20', async () => {
    const counted = await Promise.all(Array.from({ length: 20 }, () => store.increment('rate:d', 60_000)));
    expect(counted.map((c) => c.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
}

describe('ephemeral store contract: MemoryEphemeralStore (one node)', () => {
  ephemeralStoreContract(async () => {
    // The relay hands it its clock (config.now); a test clock lets lifetimes pass at once.
    const clock = { now: Date.now() };
    const store = new MemoryEphemeralStore(() => clock.now);
    return {
      store,
      elapse: async (ms) => {
        clock.now += ms;
      },
      close: () => store.close(),
    };
  });
});

redisService.describe('ephemeral store contract: RedisEphemeralStore (cluster)', () => {
  ephemeralStoreContract(async () => {
    const redis = await freshRedis();
    const store = new RedisEphemeralStore(redis.redis);
    return {
      store,
      // Redis expires keys on its own clock.
      elapse: (ms) => sleep(ms),
      close: async () => {
        await store.close();
        await redis.cleanup();
      },
    };
  });
});
