/**
 * The Liaison side of the session benchmark (sessions.ts): a responder device that publishes
 * prekey bundles in the relay's wire shape (PrekeyBundle, with a real device certificate), and
 * initiators that start a session from one with the SDK's SessionCipher and MemoryKeyStore.
 */
import { decodeBase64url, encodeBase64url, PQ_HYBRID_CAPABILITY, type PrekeyBundle } from '@liaison/protocol';
import { bundleFromWire } from '../src/crypto/bundle.js';
import {
  generateIdentityKeyPair,
  generateKemPrekey,
  generateOneTimePrekeys,
  generateSignedPrekey,
  publicKemPrekey,
} from '../src/crypto/keys.js';
import { SessionCipher, type SessionPeer } from '../src/crypto/session-cipher.js';
import type { ContactPointBinding } from '../src/crypto/x3dh.js';
import { MemoryKeyStore } from '../src/key-store/memory-key-store.js';
import { certifyDevice } from '../src/trust/issue.js';

const DAY = 24 * 3600 * 1000;
let devices = 0;

/** A contact point with one device: ids as long as real ones (th-oag.somchai), a real certificate. */
async function device() {
  const n = ++devices;
  const account = generateIdentityKeyPair();
  const owner: ContactPointBinding = { contactPointId: `th-oag.bench${n}`, accountKey: account.publicKey };
  const identity = generateIdentityKeyPair();
  const store = new MemoryKeyStore();
  await store.setIdentity(identity);
  const deviceId = encodeBase64url(identity.publicKey);
  const address: SessionPeer = { deviceId, ...owner };
  return { account, owner, identity, store, address, cipher: new SessionCipher(store, owner) };
}

/**
 * The responder: one signed prekey, and one-time prekeys made on demand. `hybrid`: its certificate
 * says pq-hybrid and each bundle carries a one-time ML-KEM-768 prekey; otherwise it is a device
 * that predates hybrid sessions (no capability, no KEM prekey), reached classically.
 */
export async function liaisonResponder({ hybrid }: { hybrid: boolean }) {
  const self = await device();
  const now = Date.now();
  const certificate = certifyDevice(self.account, {
    contactPointId: self.owner.contactPointId,
    deviceId: self.address.deviceId,
    deviceName: 'Office computer',
    notBefore: now - DAY,
    notAfter: now + 365 * DAY,
    ...(hybrid && { capabilities: [PQ_HYBRID_CAPABILITY] }),
  });
  const spk = generateSignedPrekey(self.identity, 1, now);
  await self.store.putSignedPrekey(spk);
  let nextId = 1;

  /** Makes and stores a one-time prekey (and KEM prekey); returns the bundle the relay would send with them. */
  async function publish(): Promise<PrekeyBundle> {
    const id = nextId++;
    const [otp] = generateOneTimePrekeys([id]);
    if (!otp) throw new Error('no one-time prekey');
    await self.store.putOneTimePrekeys([otp]);
    const kem = hybrid ? generateKemPrekey(self.identity, id, false, now) : undefined;
    if (kem) await self.store.putKemPrekeys([kem]);
    return {
      device: certificate,
      signedPrekey: {
        id: spk.id,
        publicKey: encodeBase64url(spk.publicKey),
        createdAt: spk.createdAt,
        signature: encodeBase64url(spk.signature),
      },
      oneTimePrekey: { id: otp.id, publicKey: encodeBase64url(otp.publicKey) },
      ...(kem && { kemPrekey: publicKemPrekey(kem) }),
    };
  }

  return { address: self.address, cipher: self.cipher, publish };
}

export type LiaisonResponder = Awaited<ReturnType<typeof liaisonResponder>>;

/**
 * A new initiator (made before timing starts); `setup` is the timed part: convert and check the
 * bundle, encrypt `plaintext`, have the responder decrypt it. Returns the first message's bytes.
 */
export async function liaisonInitiator(self?: Awaited<ReturnType<typeof device>>) {
  self ??= await device();
  return async function setup(
    responder: LiaisonResponder,
    wire: PrekeyBundle,
    plaintext: Uint8Array,
  ): Promise<{ body: Uint8Array; received: Uint8Array }> {
    const { body } = await self.cipher.encrypt(responder.address, plaintext, bundleFromWire(wire));
    return { body, received: await responder.cipher.decrypt(self.address, body) };
  };
}

/**
 * A bundle's sizes: its JSON as the relay sends it, the share of its KEM prekey in that JSON, and
 * its keys, signatures and prekey ids alone (4 bytes an id), counted as libsignal's bundle is.
 */
export function liaisonBundleSizes(wire: PrekeyBundle) {
  const json = (b: PrekeyBundle) => Buffer.byteLength(JSON.stringify(b));
  const { kemPrekey, ...withoutKem } = wire;
  const bytes = (text: string) => decodeBase64url(text)?.length ?? Number.NaN;
  const keyMaterial =
    bytes(wire.device.deviceId) +
    bytes(wire.signedPrekey.publicKey) +
    bytes(wire.signedPrekey.signature) +
    4 +
    (wire.oneTimePrekey ? bytes(wire.oneTimePrekey.publicKey) + 4 : 0) +
    (kemPrekey ? bytes(kemPrekey.publicKey) + bytes(kemPrekey.signature) + 4 : 0);
  return { wire: json(wire), kemPrekey: json(wire) - json(withoutKem), keyMaterial };
}

/**
 * Two devices with an established session (set up from a bundle as the relay sends it, and
 * answered once), for the message benchmark (messages.ts). `send(from, plaintext)` encrypts from
 * one device (0 or 1) to the other and has it decrypt; both read and write their session record
 * in their MemoryKeyStore on every message, as SessionCipher always does.
 */
export async function liaisonPair({ hybrid }: { hybrid: boolean }, plaintext: Uint8Array) {
  const responder = await liaisonResponder({ hybrid });
  const initiator = await device();
  await (await liaisonInitiator(initiator))(responder, await responder.publish(), plaintext);
  const sides = [initiator, responder] as const;
  async function send(from: 0 | 1, message: Uint8Array): Promise<Uint8Array> {
    const sender = sides[from];
    const receiver = sides[(1 - from) as 0 | 1];
    const { kind, body } = await sender.cipher.encrypt(receiver.address, message);
    if (kind !== 'message') throw new Error('Liaison: not an established session');
    return receiver.cipher.decrypt(sender.address, body);
  }
  await send(1, plaintext);
  return send;
}
