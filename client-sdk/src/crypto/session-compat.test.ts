import { beforeAll, describe, expect, it } from 'vitest';
import { makeDevice, read, type TestDevice, text } from '../__fixtures__/devices.js';
import { SessionCipher as MainSessionCipher } from './__fixtures__/main-2b6f3ce/session-cipher.js';
import { parseMessage } from './message.js';
import { SessionCipher } from './session-cipher.js';
import { ready } from './sodium.js';

/*
 * The wire must not change: devices still running the SDK from before issue 25 (main at 2b6f3ce,
 * frozen in __fixtures__/main-2b6f3ce) talk to this one. Issue 25 moved when the receiver makes the
 * sending half of a DH ratchet step (at its next send, not at once); the first message's
 * known-answer test (hybrid-kat.test.ts) does not reach a step, so these conversations cross many,
 * both ways, with messages delivered out of order.
 */

beforeAll(ready);

type Side = 'before' | 'now';
interface Cipher {
  encrypt: SessionCipher['encrypt'];
  decrypt: SessionCipher['decrypt'];
}
const cipherOf = (device: TestDevice, side: Side): Cipher => {
  const owner = { contactPointId: device.address.contactPointId, accountKey: device.address.accountKey };
  return side === 'before' ? new MainSessionCipher(device.store, owner) : new SessionCipher(device.store, owner);
};

/** A small deterministic generator (xorshift32): the same conversation on every run. */
function generator(seed: number): (below: number) => number {
  let s = seed >>> 0 || 1;
  return (below) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % below;
  };
}

/**
 * Alice starts a session with Bob; then turns, one side after the other, of one to three messages,
 * delivered in a shuffled order, now and then one held back and delivered turns later (after
 * the ratchet steps it has missed). Every message must decrypt once, to its text. Returns how many
 * ratchet keys each side sent under (each new one is a DH ratchet step).
 */
async function converse(aliceSide: Side, bobSide: Side, hybrid: boolean, seed: number) {
  const alice = await makeDevice(3);
  const bob = await makeDevice(3);
  const ciphers = { alice: cipherOf(alice, aliceSide), bob: cipherOf(bob, bobSide) };
  const devices = { alice, bob };
  const next = generator(seed);
  const inFlight: { to: 'alice' | 'bob'; body: Uint8Array; text: string }[] = [];
  const ratchetKeys = { alice: new Set<string>(), bob: new Set<string>() };
  const deliver = async (m: (typeof inFlight)[number]) => {
    inFlight.splice(inFlight.indexOf(m), 1);
    const from = m.to === 'bob' ? 'alice' : 'bob';
    expect(read(await ciphers[m.to].decrypt(devices[from].address, m.body))).toBe(m.text);
  };
  const shuffled = <T>(items: T[]) => {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = next(i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  };
  for (let turn = 0; turn < 12; turn++) {
    const from = turn % 2 === 0 ? 'alice' : 'bob';
    const to = from === 'alice' ? 'bob' : 'alice';
    for (let i = next(3); i >= 0; i--) {
      const message = `${from} ${turn}.${i}`;
      const bundle = turn === 0 ? bob.bundle({ kem: hybrid }) : undefined;
      const { body } = await ciphers[from].encrypt(devices[to].address, text(message), bundle);
      ratchetKeys[from].add(Buffer.from(parseMessage(body).header.dh).toString('hex'));
      inFlight.push({ to, body, text: message });
    }
    const waiting = shuffled(inFlight.filter((m) => m.to === to));
    // At least one arrives, so that the other side answers under a new key.
    const heldBack = waiting.length > 1 && next(3) === 0 ? 1 : 0;
    for (const m of waiting.slice(heldBack)) await deliver(m);
  }
  for (const m of shuffled(inFlight)) await deliver(m);
  return { alice: ratchetKeys.alice.size, bob: ratchetKeys.bob.size };
}

describe('sessions with a device on the SDK from before issue 25 (wire compatibility)', () => {
  for (const [aliceSide, bobSide] of [
    ['before', 'now'],
    ['now', 'before'],
  ] as const) {
    for (const hybrid of [false, true]) {
      it(`carry conversations across DH ratchet steps both ways: initiator ${aliceSide}, responder ${bobSide}, ${hybrid ? 'hybrid' : 'classical'}`, async () => {
        for (let seed = 1; seed <= 6; seed++) {
          const keys = await converse(aliceSide, bobSide, hybrid, seed * 7919);
          // Many steps on both sides: the deferred sending half was crossed again and again.
          expect(keys).toEqual({ alice: 6, bob: 6 });
        }
      });
    }
  }

  it('go on when a device is updated mid-conversation, its JSON record rewritten in binary', async () => {
    const alice = await makeDevice(3);
    const bob = await makeDevice(3);
    const a = cipherOf(alice, 'before');
    const bobBefore = cipherOf(bob, 'before');
    await bobBefore.decrypt(alice.address, (await a.encrypt(bob.address, text('a0'), bob.bundle())).body);
    await a.decrypt(bob.address, (await bobBefore.encrypt(alice.address, text('b0'))).body);
    // Alice steps while Bob is still on the old SDK; the update finds her new key unanswered.
    const a1 = await a.encrypt(bob.address, text('a1'));
    expect((await bob.store.getSession(alice.id))?.[0]).toBe(0x7b);
    const bobNow = cipherOf(bob, 'now');
    expect(read(await bobNow.decrypt(alice.address, a1.body))).toBe('a1');
    expect(
      Buffer.from((await bob.store.getSession(alice.id)) as Uint8Array)
        .subarray(0, 3)
        .toString(),
    ).toBe('LSR');
    expect(read(await a.decrypt(bob.address, (await bobNow.encrypt(alice.address, text('b1'))).body))).toBe('b1');
    expect(read(await bobNow.decrypt(alice.address, (await a.encrypt(bob.address, text('a2'))).body))).toBe('a2');
  });
});
