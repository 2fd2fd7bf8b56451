/**
 * Session setups side by side (issue 21): Liaison classical (X3DH), Liaison hybrid (ML-KEM-768
 * PQXDH) and @signalapp/libsignal-client (PQXDH with its default KEM), each in a process of its
 * own (variant-process.ts says why). The machine is shared and noisy, so the variants alternate:
 * each round runs a batch of each, in an order that changes from round to round (roundOrder),
 * after a warm-up round that is not counted. Reported: the median of
 * the rounds' rates, and the median of the per-round ratios (a ratio taken within one round
 * compares variants that ran seconds apart, under the same load).
 *
 * A session setup, the same for all: the initiator processes the responder's prekey bundle (its
 * signatures checked) and encrypts a first 1 KiB message, and the responder decrypts it; both
 * sides keep in-memory stores. Each setup uses a fresh initiator and fresh one-time prekeys (EC,
 * and KEM where there is one), made before the batch's clock starts.
 *
 * Run by crypto.ts (`npm run bench -w @liaison/client`); results in bench-results/sessions.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { sodium } from '../src/crypto/sodium.js';
import { liaisonBundleSizes, liaisonInitiator, liaisonResponder } from './liaison-peer.js';
import { signalBundleSizes, signalDefaultKem, signalInitiator, signalResponder } from './libsignal-peer.js';
import { kibPlaintext, median, X25519_PER, x25519Count } from './messages.js';
import { benchSessionParts } from './session-parts.js';
import { emptyYoungGeneration, type LocalVariant, roundOrder, spawnVariants, timed } from './variant-process.js';

type Setup = () => Promise<{ body: Uint8Array; received: Uint8Array }>;

/** Bytes: the bundle as it travels, its KEM prekey's share, its keys, signatures and ids alone. */
type BundleSizes = { wire: number; kemPrekey: number; keyMaterial: number };

interface Round {
  /** Setups per second (wall clock) and CPU milliseconds per setup, by variant name. */
  rate: Record<string, number>;
  cpuMs: Record<string, number>;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/**
 * A variant in its own process (variant-process.ts): each batch makes its setups (each with its own
 * initiator and prekeys) untimed, moves them out of the young generation, then times them; it
 * reports the first message's size.
 */
function setupVariant(name: string, bundle: BundleSizes, prepare: () => Promise<Setup>): LocalVariant<BundleSizes> {
  const plaintext = kibPlaintext();
  return {
    name,
    info: bundle,
    async batch(count) {
      const setups: Setup[] = [];
      for (let i = 0; i < count; i++) setups.push(await prepare());
      emptyYoungGeneration();
      return timed(async () => {
        let firstMessage = 0;
        for (const setup of setups) {
          const { body, received } = await setup();
          if (!sameBytes(received, plaintext)) throw new Error('a session setup decrypted to other bytes');
          firstMessage = body.length;
        }
        return firstMessage;
      });
    },
  };
}

export async function liaisonSetups(hybrid: boolean): Promise<LocalVariant<BundleSizes>> {
  const responder = await liaisonResponder({ hybrid });
  const plaintext = kibPlaintext();
  const name = hybrid ? 'Liaison hybrid (PQXDH, ML-KEM-768)' : 'Liaison classical (X3DH)';
  return setupVariant(name, liaisonBundleSizes(await responder.publish()), async () => {
    const setup = await liaisonInitiator();
    const wire = await responder.publish();
    return () => setup(responder, wire, plaintext);
  });
}

export async function signalSetups(): Promise<LocalVariant<BundleSizes>> {
  const responder = signalResponder();
  const plaintext = kibPlaintext();
  return setupVariant(`libsignal PQXDH (${signalDefaultKem()})`, signalBundleSizes(responder.publish()), async () => {
    const setup = signalInitiator();
    const wire = responder.publish();
    return () => setup(responder, wire, plaintext);
  });
}

/**
 * The bound: a "setup" that is only the X25519 operations of a Liaison setup (X25519_PER.setup:
 * DH, and key pairs made with scalarmult_base), timed in the same rounds as the real ones.
 */
export async function boundSetups(): Promise<LocalVariant<BundleSizes>> {
  const s = sodium();
  const a = s.crypto_box_keypair();
  const b = s.crypto_box_keypair();
  const plaintext = kibPlaintext();
  const setup: Setup = async () => {
    for (let i = 0; i < X25519_PER.setup.dh; i++) s.crypto_scalarmult(a.privateKey, b.publicKey);
    for (let i = 0; i < X25519_PER.setup.keyPairs; i++) s.crypto_scalarmult_base(a.privateKey);
    return { body: new Uint8Array(0), received: plaintext };
  };
  return setupVariant(
    `bound: ${x25519Count('setup')} X25519 alone`,
    { wire: 0, kemPrekey: 0, keyMaterial: 0 },
    async () => setup,
  );
}

export async function benchSessions(quick: boolean): Promise<void> {
  const rounds = quick ? 3 : 7;
  const fullBatch = 200;
  const perBatch = quick ? 60 : fullBatch;
  const here = new URL(import.meta.url);
  const variants = await spawnVariants<BundleSizes>([
    [here, 'liaisonSetups', [false]],
    [here, 'liaisonSetups', [true]],
    [here, 'signalSetups'],
    [here, 'boundSetups'],
  ]);
  type Variant = (typeof variants)[number];
  const [classical, hybrid, libsignal, bound] = variants as [Variant, Variant, Variant, Variant];

  const firstMessage: Record<string, number> = {};
  const measured: Round[] = [];
  try {
    for (let r = -1; r < rounds; r++) {
      // Round -1 warms up (JIT, libsodium's and libsignal's first calls) and is not counted: two full
      // batches, quick or not, as each process starts cold (Liaison's setups were steady after 200).
      const order = roundOrder(variants, r);
      const round: Round = { rate: {}, cpuMs: {} };
      for (const v of order) {
        const count = r < 0 ? 2 * fullBatch : perBatch;
        const { seconds, cpuSeconds, bytes } = await v.batch(count);
        round.rate[v.name] = count / seconds;
        round.cpuMs[v.name] = (cpuSeconds * 1000) / count;
        firstMessage[v.name] = bytes ?? 0;
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
      setupsPerSecond: median(rates),
      min: Math.min(...rates),
      max: Math.max(...rates),
      cpuMsPerSetup: median(measured.map((m) => m.cpuMs[v.name] as number)),
      bundleBytes: v.info,
      firstMessageBytes: firstMessage[v.name] as number,
    };
  });
  // Within each round: setups per second of a over b, by the wall clock and by CPU time (the
  // latter discounts the time other tenants of the machine held the cores).
  const ratio = (a: Variant, b: Variant) => ({
    wall: median(measured.map((m) => (m.rate[a.name] as number) / (m.rate[b.name] as number))),
    cpu: median(measured.map((m) => (m.cpuMs[b.name] as number) / (m.cpuMs[a.name] as number))),
  });
  const ratios = {
    'hybrid / classical': ratio(hybrid, classical),
    'hybrid / libsignal': ratio(hybrid, libsignal),
    'classical / libsignal': ratio(classical, libsignal),
    'classical / bound': ratio(classical, bound),
    'hybrid / bound': ratio(hybrid, bound),
    'libsignal / bound': ratio(libsignal, bound),
  };

  console.error(
    `Session setups, ${rounds} interleaved rounds of ${perBatch} per variant (medians; 1 KiB first message, both sides)`,
  );
  console.table(
    summary.map((s) => ({
      variant: s.variant,
      'setups/s': Math.round(s.setupsPerSecond),
      'range over rounds': `${Math.round(s.min)}–${Math.round(s.max)}`,
      'CPU ms/setup': s.cpuMsPerSetup.toFixed(2),
      'bundle bytes': s.bundleBytes.wire,
      'of which KEM prekey': s.bundleBytes.kemPrekey,
      'keys+signatures+ids': s.bundleBytes.keyMaterial,
      'first message bytes': s.firstMessageBytes,
    })),
  );
  console.error(
    "Bundle bytes: Liaison, the PrekeyBundle's JSON as the relay sends it (device certificate included); libsignal, the sum of its serialised parts and 4 bytes an id",
  );
  console.table(
    Object.entries(ratios).map(([what, { wall, cpu }]) => ({
      ratio: what,
      'setups/s, median of rounds': wall.toFixed(2),
      'by CPU time': cpu.toFixed(2),
    })),
  );

  const { parts, primitivesUs } = benchSessionParts(quick);
  // What no setup of this SDK can beat while its primitives are libsodium's WebAssembly: their sum.
  const rateOf = (v: Variant) => summary.find((x) => x.variant === v.name)?.setupsPerSecond as number;
  const primitivesBound = (
    [
      [classical, primitivesUs.classical],
      [hybrid, primitivesUs.hybrid],
    ] as const
  ).map(([v, us]) => ({
    variant: v.name,
    primitivesUs: us,
    atMostPerSecond: 1e6 / us,
    measured: rateOf(v),
    atMostOverLibsignal: 1e6 / us / rateOf(libsignal),
  }));
  console.error(
    "A setup's primitives alone (the parts above, counted from the code), against libsignal's measured rate",
  );
  console.table(
    primitivesBound.map((b) => ({
      variant: b.variant,
      'primitives µs': b.primitivesUs.toFixed(0),
      'setups/s at most': Math.round(b.atMostPerSecond),
      'setups/s measured': Math.round(b.measured),
      'at most ÷ libsignal': b.atMostOverLibsignal.toFixed(2),
    })),
  );

  await mkdir('bench-results', { recursive: true });
  await writeFile(
    'bench-results/sessions.json',
    `${JSON.stringify({ date: new Date().toISOString(), quick, node: process.version, perBatch, summary, ratios, rounds: measured, parts, primitivesBound }, null, 2)}\n`,
  );
}
