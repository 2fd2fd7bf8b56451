/**
 * Crypto micro-benchmark, single thread: session setups per second and 1 KiB encrypt+decrypt per
 * second, each beside a baseline measured in the same run on the same machine (raw libsodium
 * X25519 and XChaCha20-Poly1305), so the ratios mean something on a noisy shared machine. Then
 * sessions.ts: classical and hybrid session setups beside libsignal-client's, interleaved, and
 * messages.ts: one-way and ping-pong messages on established sessions beside libsignal-client's,
 * each variant of those two in a process of its own (variant-process.ts).
 *
 *   npm run bench -w @liaison/client            (about 45 s on a quiet machine)
 *   npm run bench -w @liaison/client -- --quick (about 20 s)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { encodeBase64url } from '@liaison/protocol';
import { generateIdentityKeyPair } from '../src/crypto/keys.js';
import { DEFAULT_PREKEY_POLICY, refillOneTimePrekeys, rotateSignedPrekey } from '../src/crypto/prekeys.js';
import { SessionCipher } from '../src/crypto/session-cipher.js';
import { ready, sodium } from '../src/crypto/sodium.js';
import type { RemoteBundle } from '../src/crypto/x3dh.js';
import { MemoryKeyStore } from '../src/key-store/memory-key-store.js';
import { benchMessages } from './messages.js';
import { benchSessions } from './sessions.js';

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 0.5 : 2;

/** Runs `step` repeatedly for about SECONDS (at most `limit` times); returns operations per second. */
async function rate(step: (i: number) => unknown | Promise<unknown>, limit = 1_000_000): Promise<number> {
  const deadline = performance.now() + SECONDS * 1000;
  const start = performance.now();
  let i = 0;
  while (i < limit && performance.now() < deadline) await step(i++);
  return i / ((performance.now() - start) / 1000);
}

async function device(oneTimePrekeys: number) {
  const store = new MemoryKeyStore();
  const identity = generateIdentityKeyPair();
  await store.setIdentity(identity);
  await rotateSignedPrekey(store, Date.now());
  const published = await refillOneTimePrekeys(store, 0, { ...DEFAULT_PREKEY_POLICY, oneTimeBatch: oneTimePrekeys });
  const [spk] = await store.getSignedPrekeys();
  if (!spk) throw new Error('no signed prekey');
  const bundle = (): RemoteBundle => {
    const otp = published.shift();
    return {
      identityKey: identity.publicKey,
      signedPrekey: { id: spk.id, publicKey: spk.publicKey, createdAt: spk.createdAt, signature: spk.signature },
      ...(otp && { oneTimePrekey: { id: otp.id, publicKey: Buffer.from(otp.publicKey, 'base64url') } }),
    };
  };
  const id = encodeBase64url(identity.publicKey);
  const owner = {
    contactPointId: `bench-${id.slice(0, 8).toLowerCase()}`,
    accountKey: generateIdentityKeyPair().publicKey,
  };
  return { id, address: { deviceId: id, ...owner }, store, cipher: new SessionCipher(store, owner), bundle };
}

await ready();
const s = sodium();
const payload = s.randombytes_buf(1024);

// Baselines: the primitives alone.
const key = s.crypto_aead_xchacha20poly1305_ietf_keygen();
const nonce = s.randombytes_buf(24);
const aeadRate = await rate(() => {
  const c = s.crypto_aead_xchacha20poly1305_ietf_encrypt(payload, null, null, nonce, key);
  s.crypto_aead_xchacha20poly1305_ietf_decrypt(null, c, null, nonce, key);
});
const a = s.crypto_box_keypair();
const b = s.crypto_box_keypair();
const dhRate = await rate(() => s.crypto_scalarmult(a.privateKey, b.publicKey));

// Session setup: X3DH on both sides plus the first ratchet message.
const setups = quick ? 100 : 400;
const bob = await device(100);
const initiators = await Promise.all(Array.from({ length: setups }, () => device(0)));
const setupRate = await rate(async (i) => {
  const alice = initiators[i] as Awaited<ReturnType<typeof device>>;
  const m = await alice.cipher.encrypt(bob.address, payload, bob.bundle());
  await bob.cipher.decrypt(alice.address, m.body);
}, setups);

// Established session, one direction (symmetric chain steps), and ping-pong (a DH ratchet step each message).
const alice = await device(0);
const carol = await device(10);
await carol.cipher.decrypt(alice.address, (await alice.cipher.encrypt(carol.address, payload, carol.bundle())).body);
await alice.cipher.decrypt(carol.address, (await carol.cipher.encrypt(alice.address, payload)).body);
const oneWayRate = await rate(async () => {
  await carol.cipher.decrypt(alice.address, (await alice.cipher.encrypt(carol.address, payload)).body);
});
const pingPongRate = await rate(async (i) => {
  const [from, to] = i % 2 === 0 ? [alice, carol] : [carol, alice];
  await to.cipher.decrypt(from.address, (await from.cipher.encrypt(to.address, payload)).body);
});

const rows = [
  {
    measure: 'session setup (X3DH both sides + first message)',
    perSecond: setupRate,
    baseline: 'X25519',
    baselinePerSecond: dhRate,
  },
  {
    measure: '1 KiB encrypt+decrypt, one direction',
    perSecond: oneWayRate,
    baseline: 'raw AEAD 1 KiB',
    baselinePerSecond: aeadRate,
  },
  {
    measure: '1 KiB encrypt+decrypt, ping-pong (DH step each)',
    perSecond: pingPongRate,
    baseline: 'raw AEAD 1 KiB',
    baselinePerSecond: aeadRate,
  },
].map((r) => ({ ...r, ratio: r.perSecond / r.baselinePerSecond }));

console.error(`Liaison crypto benchmark (${quick ? 'quick' : 'full'}), Node ${process.version}, single thread`);
console.table(
  rows.map((r) => ({
    measure: r.measure,
    'ops/s': Math.round(r.perSecond),
    baseline: r.baseline,
    'baseline ops/s': Math.round(r.baselinePerSecond),
    ratio: r.ratio.toFixed(3),
  })),
);
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/crypto.json',
  `${JSON.stringify({ date: new Date().toISOString(), quick, rows }, null, 2)}\n`,
);

await benchSessions(quick);
const messages = await benchMessages(quick);
await writeFile(
  'bench-results/messages.json',
  `${JSON.stringify({ date: new Date().toISOString(), quick, node: process.version, ...messages }, null, 2)}\n`,
);
