/**
 * Messages on an established session (issue 25), Liaison beside @signalapp/libsignal-client,
 * interleaved as sessions.ts does, each variant in a process of its own (variant-process.ts says
 * why): after a warm-up round that is not counted, each round runs a batch of each variant in an
 * order that changes from round to round (roundOrder). Reported: the median rate over the rounds,
 * CPU time per message, and the median of the ratios taken within each round.
 *
 * - one way: 1 KiB encrypted by one device and decrypted by the other, always the same direction
 *   (symmetric chain steps only);
 * - ping-pong: the direction alternates, so every message turns the receiver's DH ratchet.
 *
 * Both sides of both libraries read their session record from their store and write it back on
 * every message: Liaison's MemoryKeyStore keeps records as bytes, libsignal's store (libsignal-peer.ts)
 * keeps `SessionRecord.serialize()` and deserialises on every get.
 *
 * Each round also times X25519 alone (crypto_scalarmult, and crypto_scalarmult_base as a key
 * pair's public key is made): the bound of a measure is what its X25519 operations alone would
 * allow, counted from the code (X25519_PER below), and each measure is reported as a fraction of it.
 */
import { sodium } from '../src/crypto/sodium.js';
import { liaisonPair } from './liaison-peer.js';
import { signalPair } from './libsignal-peer.js';
import { type LocalVariant, type RemoteVariant, roundOrder, spawnVariants, timed } from './variant-process.js';

/**
 * X25519 operations, counted from the code: scalar multiplications (crypto_scalarmult, a DH) and
 * key pairs made (crypto_scalarmult_base). A ping-pong message: the receiver's DH ratchet step is a
 * DH for the new receiving chain (ratchet.ts dhRatchet), and, when it answers, a new key pair and a
 * DH for its new sending chain (sendingRatchet): 3 a message. A classical session setup with a
 * one-time prekey (sessions.ts): the initiator makes an ephemeral key pair, four DH (x3dh.ts), and
 * its first ratchet key pair and DH (initiatorState); the responder four DH and, decrypting the
 * first message, the receiving half of a DH ratchet step (the sending half waits for its answer):
 * 12, of which 2 key pairs. A hybrid setup has the same. Not counted: the two Ed25519-to-X25519
 * identity key conversions and the signature checks (one classical, two hybrid), nor the KEM.
 */
export const X25519_PER = {
  pingPong: { dh: 2, keyPairs: 1 },
  setup: { dh: 10, keyPairs: 2 },
} as const;
export const x25519Count = (what: keyof typeof X25519_PER) => X25519_PER[what].dh + X25519_PER[what].keyPairs;

type Send = (from: 0 | 1, plaintext: Uint8Array<ArrayBuffer>) => Promise<Uint8Array>;
type Direction = 'one way' | 'ping-pong';

/** The median of the rounds' figures (both benches report medians). */
export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** The message both benches send: 1 KiB. */
export const kibPlaintext = () => new Uint8Array(Buffer.alloc(1024, 0x5a));

/** In its own process (variant-process.ts): two devices of one library and a session between them. */
export async function messageVariant(library: 'Liaison' | 'libsignal', direction: Direction): Promise<LocalVariant> {
  const plaintext = kibPlaintext();
  const send: Send =
    library === 'Liaison' ? await liaisonPair({ hybrid: true }, plaintext) : await signalPair(plaintext);
  const check = (received: Uint8Array) => {
    if (!Buffer.from(received).equals(Buffer.from(plaintext))) throw new Error(`${library}: decrypted to other bytes`);
  };
  // Ping-pong continues from where the last batch stopped, so that every message turns the ratchet.
  let turn = 0;
  return {
    name: `${library}, ${direction}`,
    info: undefined,
    batch: (count) =>
      timed(async () => {
        for (let i = 0; i < count; i++) {
          check(await send(turn as 0 | 1, plaintext));
          if (direction === 'ping-pong') turn ^= 1;
        }
        return undefined;
      }),
  };
}

/** X25519 alone: the average of crypto_scalarmult and crypto_scalarmult_base weighted as in a DH ratchet step (2:1). */
export async function x25519Variant(): Promise<LocalVariant> {
  const s = sodium();
  const a = s.crypto_box_keypair();
  const b = s.crypto_box_keypair();
  return {
    name: 'X25519 (2 scalarmult : 1 scalarmult_base)',
    info: undefined,
    batch: (count) =>
      timed(async () => {
        for (let i = 0; i < count; i += 3) {
          s.crypto_scalarmult(a.privateKey, b.publicKey);
          s.crypto_scalarmult(b.privateKey, a.publicKey);
          s.crypto_scalarmult_base(a.privateKey);
        }
        return undefined;
      }),
  };
}

export interface MessageResults {
  rounds: { rate: Record<string, number>; cpuUs: Record<string, number> }[];
  summary: { variant: string; perSecond: number; min: number; max: number; cpuUsEach: number }[];
  ratios: Record<string, { wall: number; cpu: number }>;
  /** X25519 operations per second, and each measure over its bound (X25519 rate ÷ operations). */
  x25519PerSecond: number;
  boundFractions: Record<string, { wall: number; cpu: number }>;
}

export async function benchMessages(quick: boolean): Promise<MessageResults> {
  const rounds = quick ? 3 : 7;
  const fullBatch = { message: 600, x25519: 1800 };
  const perBatch = quick ? { message: 200, x25519: 600 } : fullBatch;
  const here = new URL(import.meta.url);
  const variants = await spawnVariants([
    [here, 'messageVariant', ['Liaison', 'one way']],
    [here, 'messageVariant', ['libsignal', 'one way']],
    [here, 'messageVariant', ['Liaison', 'ping-pong']],
    [here, 'messageVariant', ['libsignal', 'ping-pong']],
    [here, 'x25519Variant'],
  ]);
  const [liaisonOneWay, signalOneWay, liaisonPingPong, signalPingPong, x25519] = variants as [
    RemoteVariant,
    RemoteVariant,
    RemoteVariant,
    RemoteVariant,
    RemoteVariant,
  ];
  // The warm-up round (not counted) is five full batches, quick or not: each process starts cold,
  // and Liaison's messages reached their steady rate after about 2,400 (measured 2026-12-01).
  const size = (v: RemoteVariant, batch: typeof perBatch) => (v === x25519 ? batch.x25519 : batch.message);

  const measured: MessageResults['rounds'] = [];
  try {
    for (let r = -1; r < rounds; r++) {
      // Round -1 warms up and is not counted.
      const order = roundOrder(variants, r);
      const round: MessageResults['rounds'][number] = { rate: {}, cpuUs: {} };
      for (const v of order) {
        const count = r < 0 ? 5 * size(v, fullBatch) : size(v, perBatch);
        const { seconds, cpuSeconds } = await v.batch(count);
        round.rate[v.name] = count / seconds;
        round.cpuUs[v.name] = (cpuSeconds * 1e6) / count;
      }
      if (r >= 0) measured.push(round);
    }
  } finally {
    for (const v of variants) v.close();
  }

  const summary = variants.map((v) => {
    const rates = measured.map((m) => m.rate[v.name] as number);
    return {
      variant: v.name,
      perSecond: median(rates),
      min: Math.min(...rates),
      max: Math.max(...rates),
      cpuUsEach: median(measured.map((m) => m.cpuUs[v.name] as number)),
    };
  });
  // Within each round, by the clock and by CPU time; `per` scales b's rate (the bound: X25519 ops per message).
  const ratio = (a: RemoteVariant, b: RemoteVariant, per = 1) => ({
    wall: median(measured.map((m) => (m.rate[a.name] as number) / ((m.rate[b.name] as number) / per))),
    cpu: median(measured.map((m) => ((m.cpuUs[b.name] as number) * per) / (m.cpuUs[a.name] as number))),
  });
  const ratios = {
    'one way: Liaison / libsignal': ratio(liaisonOneWay, signalOneWay),
    'ping-pong: Liaison / libsignal': ratio(liaisonPingPong, signalPingPong),
  };
  const boundFractions = {
    'Liaison ping-pong': ratio(liaisonPingPong, x25519, x25519Count('pingPong')),
    'libsignal ping-pong': ratio(signalPingPong, x25519, x25519Count('pingPong')),
  };
  const x25519PerSecond = median(measured.map((m) => m.rate[x25519.name] as number));

  console.error(
    `Established sessions, 1 KiB, ${rounds} interleaved rounds of ${perBatch.message} messages per variant (medians; both sides persist the record every message)`,
  );
  console.table(
    summary.map((s) => ({
      variant: s.variant,
      'per second': Math.round(s.perSecond),
      'range over rounds': `${Math.round(s.min)}–${Math.round(s.max)}`,
      'CPU µs each': s.cpuUsEach.toFixed(1),
    })),
  );
  console.table(
    Object.entries({
      ...ratios,
      ...Object.fromEntries(
        Object.entries(boundFractions).map(([k, v]) => [
          `${k} / its bound (X25519 rate ÷ ${x25519Count('pingPong')})`,
          v,
        ]),
      ),
    }).map(([what, { wall, cpu }]) => ({
      ratio: what,
      'per second, median of rounds': wall.toFixed(2),
      'by CPU time': cpu.toFixed(2),
    })),
  );
  return { rounds: measured, summary, ratios, x25519PerSecond, boundFractions };
}
