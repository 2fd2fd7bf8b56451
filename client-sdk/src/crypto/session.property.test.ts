import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeDevice, read, type TestDevice, text } from '../__fixtures__/devices.js';
import { isLiaisonError } from '../errors.js';
import { ready } from './sodium.js';

beforeAll(ready);

/** What the network does next. Indices pick an in-flight message modulo how many there are. */
type Step =
  | { type: 'send'; from: 0 | 1 }
  | { type: 'deliver'; pick: number }
  | { type: 'drop'; pick: number }
  | { type: 'duplicate'; pick: number }
  | { type: 'corrupt'; pick: number; at: number; bit: number }
  | { type: 'restart'; who: 0 | 1 };

const party = fc.constantFrom<0 | 1>(0, 1);
const pick = fc.nat({ max: 1000 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('send' as const), from: party }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('deliver' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('drop' as const), pick }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('duplicate' as const), pick }) },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('corrupt' as const), pick, at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('restart' as const), who: party }) },
);

interface InFlight {
  from: 0 | 1;
  serial: number;
  body: Uint8Array;
}

/**
 * Two devices talk over a network that reorders, loses, duplicates and corrupts, while either
 * may restart from its stored state at any time, and either may be first to start a session
 * (both at once included), hybrid when the other publishes KEM prekeys and classical when it
 * does not (a device that predates hybrid sessions). Every message that arrives intact decrypts
 * exactly once to what was sent; nothing else decrypts; and at the end the session still works
 * both ways.
 */
describe('sessions under a hostile network (property)', () => {
  it('decrypt every intact message exactly once, and nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 60 }),
        fc.tuple(fc.boolean(), fc.boolean()),
        async (steps, hybrid) => {
          const devices: [TestDevice, TestDevice] = [await makeDevice(3), await makeDevice(3)];
          const bundleOf = (receiver: 0 | 1) => devices[receiver].bundle({ kem: hybrid[receiver] });
          const inFlight: InFlight[] = [];
          const decrypted = new Set<string>();
          let serial = 0;

          const deliver = async (message: InFlight, body: Uint8Array) => {
            const sender = devices[message.from];
            const receiver = devices[(1 - message.from) as 0 | 1];
            const key = `${message.from}:${message.serial}`;
            const intact = Buffer.from(body).equals(Buffer.from(message.body));
            try {
              const plaintext = await receiver.cipher.decrypt(sender.address, body);
              expect(intact, 'a corrupted message decrypted').toBe(true);
              expect(decrypted.has(key), 'a message decrypted twice').toBe(false);
              expect(read(plaintext)).toBe(`message ${key}`);
              decrypted.add(key);
            } catch (error) {
              if (!isLiaisonError(error)) throw error;
              if (intact && !decrypted.has(key)) throw new Error(`intact message ${key} refused: ${error.code}`);
            }
          };
          const take = (p: number) => inFlight.splice(p % inFlight.length, 1)[0] as InFlight;

          for (const s of steps) {
            if (s.type === 'send') {
              const sender = devices[s.from];
              const receiver = devices[(1 - s.from) as 0 | 1];
              const n = serial++;
              const bundle = (await sender.cipher.hasSession(receiver.address))
                ? undefined
                : bundleOf((1 - s.from) as 0 | 1);
              const { body } = await sender.cipher.encrypt(receiver.address, text(`message ${s.from}:${n}`), bundle);
              inFlight.push({ from: s.from, serial: n, body });
            } else if (s.type === 'restart') {
              devices[s.who].restart();
            } else if (inFlight.length > 0) {
              if (s.type === 'deliver') {
                const m = take(s.pick);
                await deliver(m, m.body);
              } else if (s.type === 'drop') {
                take(s.pick);
              } else if (s.type === 'duplicate') {
                const m = inFlight[s.pick % inFlight.length] as InFlight;
                await deliver(m, m.body);
              } else {
                const m = inFlight[s.pick % inFlight.length] as InFlight;
                const corrupted = m.body.slice();
                const at = s.at % corrupted.length;
                corrupted[at] = (corrupted[at] as number) ^ (1 << s.bit);
                await deliver(m, corrupted);
              }
            }
          }
          while (inFlight.length > 0) {
            const m = take(0);
            await deliver(m, m.body);
          }
          // The session keeps working both ways.
          for (const from of [0, 1] as const) {
            const to = devices[(1 - from) as 0 | 1];
            const key = `${from}:${serial}`;
            const bundle = (await devices[from].cipher.hasSession(to.address))
              ? undefined
              : bundleOf((1 - from) as 0 | 1);
            const { body } = await devices[from].cipher.encrypt(to.address, text(`message ${key}`), bundle);
            await deliver({ from, serial: serial++, body }, body);
            expect(decrypted.has(key)).toBe(true);
          }
          // Sessions are hybrid when both publish KEM prekeys, classical when neither does.
          const versions = await Promise.all(
            ([0, 1] as const).map((i) => devices[i].cipher.sessionVersion(devices[(1 - i) as 0 | 1].address)),
          );
          if (hybrid[0] && hybrid[1]) expect(versions).toEqual([2, 2]);
          if (!hybrid[0] && !hybrid[1]) expect(versions).toEqual([1, 1]);
        },
      ),
      { numRuns: 150 },
    );
  });
});
