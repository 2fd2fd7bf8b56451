/**
 * The Liaison side of the session benchmark (sessions.ts): a responder device that publishes
 * prekey bundles in the relay's wire shape (PrekeyBundle, with a real device certificate), and
 * initiators that start a session from one with the SDK's SessionCipher and MemoryKeyStore.
 */
import { encodeBase64url, type PrekeyBundle } from '@liaison/protocol';
import { bundleFromWire } from '../src/crypto/bundle.js';
import { generateIdentityKeyPair, generateOneTimePrekeys, generateSignedPrekey } from '../src/crypto/keys.js';
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

/** The responder: one signed prekey, and one-time prekeys made on demand. */
export async function liaisonResponder() {
  const self = await device();
  const now = Date.now();
  const certificate = certifyDevice(self.account, {
    contactPointId: self.owner.contactPointId,
    deviceId: self.address.deviceId,
    deviceName: 'Office computer',
    notBefore: now - DAY,
    notAfter: now + 365 * DAY,
  });
  const spk = generateSignedPrekey(self.identity, 1, now);
  await self.store.putSignedPrekey(spk);
  let nextId = 1;

  /** Makes and stores a one-time prekey; returns the bundle the relay would send with it. */
  async function publish(): Promise<PrekeyBundle> {
    const [otp] = generateOneTimePrekeys([nextId++]);
    if (!otp) throw new Error('no one-time prekey');
    await self.store.putOneTimePrekeys([otp]);
    return {
      device: certificate,
      signedPrekey: {
        id: spk.id,
        publicKey: encodeBase64url(spk.publicKey),
        createdAt: spk.createdAt,
        signature: encodeBase64url(spk.signature),
      },
      oneTimePrekey: { id: otp.id, publicKey: encodeBase64url(otp.publicKey) },
    };
  }

  return { address: self.address, cipher: self.cipher, publish };
}

export type LiaisonResponder = Awaited<ReturnType<typeof liaisonResponder>>;

/**
 * A new initiator (made before timing starts); `setup` is the timed part: convert and check the
 * bundle, encrypt `plaintext`, have the responder decrypt it. Returns the first message's bytes.
 */
export async function liaisonInitiator() {
  const self = await device();
  return async function setup(
    responder: LiaisonResponder,
    wire: PrekeyBundle,
    plaintext: Uint8Array,
  ): Promise<{ body: Uint8Array; received: Uint8Array }> {
    const { body } = await self.cipher.encrypt(responder.address, plaintext, bundleFromWire(wire));
    return { body, received: await responder.cipher.decrypt(self.address, body) };
  };
}
