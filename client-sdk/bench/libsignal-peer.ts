/**
 * The libsignal-client side of the session benchmark (sessions.ts): Signal's own PQXDH through
 * its Node API, with the smallest in-memory stores its abstract classes allow. Imported by the
 * benchmark only: `@signalapp/libsignal-client` is a devDependency of client-sdk for this file.
 *
 * A session setup here is what Liaison's is: the initiator processes the responder's prekey bundle
 * (processPreKeyBundle checks the signed prekey's and the Kyber prekey's signatures) and encrypts a
 * first message; the responder decrypts it, consuming its one-time prekey and Kyber prekey.
 */
import {
  CiphertextMessageType,
  type Direction,
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  KEMKeyPair,
  KEMPublicKey,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyBundle,
  PreKeyRecord,
  PreKeySignalMessage,
  PreKeyStore,
  PrivateKey,
  ProtocolAddress,
  PublicKey,
  processPreKeyBundle,
  SessionRecord,
  SessionStore,
  SignalMessage,
  SignedPreKeyRecord,
  SignedPreKeyStore,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
} from '@signalapp/libsignal-client';

const key = (address: ProtocolAddress) => `${address.name()}.${address.deviceId()}`;

// Sessions are kept serialised, as Liaison's MemoryKeyStore keeps session records: both pay for
// writing a record on every save, as a persistent store would.
class Sessions extends SessionStore {
  private readonly records = new Map<string, Uint8Array<ArrayBuffer>>();
  async saveSession(address: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.records.set(key(address), record.serialize());
  }
  async getSession(address: ProtocolAddress): Promise<SessionRecord | null> {
    const bytes = this.records.get(key(address));
    return bytes ? SessionRecord.deserialize(bytes) : null;
  }
  async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    return Promise.all(
      addresses.map(async (address) => {
        const record = await this.getSession(address);
        if (!record) throw new Error(`no session with ${key(address)}`);
        return record;
      }),
    );
  }
}

// Trust on first use, like Liaison's bench (the peer's identity is not what is measured).
class Identities extends IdentityKeyStore {
  private readonly known = new Map<string, PublicKey>();
  constructor(
    private readonly own: IdentityKeyPair,
    private readonly registrationId: number,
  ) {
    super();
  }
  async getIdentityKey(): Promise<PrivateKey> {
    return this.own.privateKey;
  }
  async getLocalRegistrationId(): Promise<number> {
    return this.registrationId;
  }
  async saveIdentity(address: ProtocolAddress, identity: PublicKey): Promise<IdentityChange> {
    const before = this.known.get(key(address));
    this.known.set(key(address), identity);
    return before && !before.equals(identity) ? IdentityChange.ReplacedExisting : IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(address: ProtocolAddress, identity: PublicKey, _direction: Direction): Promise<boolean> {
    return this.known.get(key(address))?.equals(identity) ?? true;
  }
  async getIdentity(address: ProtocolAddress): Promise<PublicKey | null> {
    return this.known.get(key(address)) ?? null;
  }
}

class OneTimePrekeys extends PreKeyStore {
  readonly records = new Map<number, PreKeyRecord>();
  async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    this.records.set(id, record);
  }
  async getPreKey(id: number): Promise<PreKeyRecord> {
    const record = this.records.get(id);
    if (!record) throw new Error(`no prekey ${id}`);
    return record;
  }
  async removePreKey(id: number): Promise<void> {
    this.records.delete(id);
  }
}

class SignedPrekeys extends SignedPreKeyStore {
  readonly records = new Map<number, SignedPreKeyRecord>();
  async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    this.records.set(id, record);
  }
  async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    const record = this.records.get(id);
    if (!record) throw new Error(`no signed prekey ${id}`);
    return record;
  }
}

// One-time Kyber prekeys: a used one is forgotten, as Liaison forgets a used one-time KEM prekey.
class KyberPrekeys extends KyberPreKeyStore {
  readonly records = new Map<number, KyberPreKeyRecord>();
  async saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    this.records.set(id, record);
  }
  async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    const record = this.records.get(id);
    if (!record) throw new Error(`no Kyber prekey ${id}`);
    return record;
  }
  async markKyberPreKeyUsed(id: number, _signedPreKeyId: number, _baseKey: PublicKey): Promise<void> {
    this.records.delete(id);
  }
}

/** A responder's public prekeys as bytes, the form they travel in (before any key is parsed). */
export interface SignalWireBundle {
  registrationId: number;
  deviceId: number;
  identityKey: Uint8Array<ArrayBuffer>;
  signedPrekey: { id: number; publicKey: Uint8Array<ArrayBuffer>; signature: Uint8Array<ArrayBuffer> };
  oneTimePrekey: { id: number; publicKey: Uint8Array<ArrayBuffer> };
  kyberPrekey: { id: number; publicKey: Uint8Array<ArrayBuffer>; signature: Uint8Array<ArrayBuffer> };
}

/**
 * The bundle's sizes: the sum of its serialised parts (33-byte keys with their type byte, 64-byte
 * XEdDSA signatures, the Kyber key with its type byte) and every id as 4 bytes (registration id,
 * device id, one-time, signed and Kyber prekey ids); and the Kyber prekey's share of it.
 */
export function signalBundleSizes(b: SignalWireBundle) {
  const kemPrekey = b.kyberPrekey.publicKey.length + b.kyberPrekey.signature.length + 4;
  const wire =
    b.identityKey.length +
    b.signedPrekey.publicKey.length +
    b.signedPrekey.signature.length +
    b.oneTimePrekey.publicKey.length +
    kemPrekey +
    4 * 4;
  return { wire, kemPrekey, keyMaterial: wire };
}

let names = 0;

function device(registrationId: number) {
  const identityKeyPair = IdentityKeyPair.generate();
  return {
    address: ProtocolAddress.new(`bench-${++names}`, 1),
    identityKeyPair,
    sessions: new Sessions(),
    identities: new Identities(identityKeyPair, registrationId),
  };
}

/** The responder: one signed prekey, and one-time EC and Kyber prekeys made on demand. */
export function signalResponder() {
  const self = device(1);
  const prekeys = new OneTimePrekeys();
  const signedPrekeys = new SignedPrekeys();
  const kyberPrekeys = new KyberPrekeys();
  const spk = PrivateKey.generate();
  const spkSignature = self.identityKeyPair.privateKey.sign(spk.getPublicKey().serialize());
  const spkId = 1;
  void signedPrekeys.saveSignedPreKey(
    spkId,
    SignedPreKeyRecord.new(spkId, Date.now(), spk.getPublicKey(), spk, spkSignature),
  );
  let nextId = 1;

  /** Makes and stores a one-time prekey and a one-time Kyber prekey; returns the bundle that hands them out. */
  function publish(): SignalWireBundle {
    const id = nextId++;
    const otp = PrivateKey.generate();
    prekeys.records.set(id, PreKeyRecord.new(id, otp.getPublicKey(), otp));
    const kem = KEMKeyPair.generate();
    const kemSignature = self.identityKeyPair.privateKey.sign(kem.getPublicKey().serialize());
    kyberPrekeys.records.set(id, KyberPreKeyRecord.new(id, Date.now(), kem, kemSignature));
    return {
      registrationId: 1,
      deviceId: self.address.deviceId(),
      identityKey: self.identityKeyPair.publicKey.serialize(),
      signedPrekey: { id: spkId, publicKey: spk.getPublicKey().serialize(), signature: spkSignature },
      oneTimePrekey: { id, publicKey: otp.getPublicKey().serialize() },
      kyberPrekey: { id, publicKey: kem.getPublicKey().serialize(), signature: kemSignature },
    };
  }

  async function receive(from: ProtocolAddress, body: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
    return signalDecryptPreKey(
      PreKeySignalMessage.deserialize(body),
      from,
      self.address,
      self.sessions,
      self.identities,
      prekeys,
      signedPrekeys,
      kyberPrekeys,
    );
  }

  return { address: self.address, publish, receive, self };
}

export type SignalResponder = ReturnType<typeof signalResponder>;

/**
 * A new initiator (made before timing starts); `setup` is the timed part: process the bundle,
 * encrypt `plaintext`, have the responder decrypt it. Returns the first message's bytes.
 */
export function signalInitiator(self = device(2)) {
  return async function setup(
    responder: SignalResponder,
    wire: SignalWireBundle,
    plaintext: Uint8Array<ArrayBuffer>,
  ): Promise<{ body: Uint8Array<ArrayBuffer>; received: Uint8Array }> {
    const bundle = PreKeyBundle.new(
      wire.registrationId,
      wire.deviceId,
      wire.oneTimePrekey.id,
      PublicKey.deserialize(wire.oneTimePrekey.publicKey),
      wire.signedPrekey.id,
      PublicKey.deserialize(wire.signedPrekey.publicKey),
      wire.signedPrekey.signature,
      PublicKey.deserialize(wire.identityKey),
      wire.kyberPrekey.id,
      KEMPublicKey.deserialize(wire.kyberPrekey.publicKey),
      wire.kyberPrekey.signature,
    );
    await processPreKeyBundle(bundle, responder.address, self.address, self.sessions, self.identities);
    const message = await signalEncrypt(plaintext, responder.address, self.address, self.sessions, self.identities);
    if (message.type() !== CiphertextMessageType.PreKey)
      throw new Error('libsignal: first message is not a prekey message');
    const body = message.serialize();
    return { body, received: await responder.receive(self.address, body) };
  };
}

/** The KEM libsignal-client uses by default, from its public key's type byte (libsignal's kem.rs). */
export function signalDefaultKem(): string {
  const type = KEMKeyPair.generate().getPublicKey().serialize()[0];
  return type === 0x08 ? 'Kyber1024' : type === 0x0a ? 'ML-KEM-1024' : `KEM type 0x${type?.toString(16)}`;
}

/**
 * Two devices with an established session (set up, and answered once, so that neither sends
 * prekey messages any more), for the message benchmark (messages.ts). `send(from, plaintext)`
 * encrypts from one device (0 or 1) to the other and has it decrypt; both sides read and write
 * their session record through the serialising store above on every message.
 */
export async function signalPair(plaintext: Uint8Array<ArrayBuffer>) {
  const responder = signalResponder();
  const initiator = device(2);
  const setup = signalInitiator(initiator);
  await setup(responder, responder.publish(), plaintext);
  const sides = [initiator, responder.self] as const;
  async function send(from: 0 | 1, message: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
    const sender = sides[from];
    const receiver = sides[(1 - from) as 0 | 1];
    const encrypted = await signalEncrypt(
      message,
      receiver.address,
      sender.address,
      sender.sessions,
      sender.identities,
    );
    if (encrypted.type() !== CiphertextMessageType.Whisper) throw new Error('libsignal: not an established session');
    return signalDecrypt(
      SignalMessage.deserialize(encrypted.serialize()),
      sender.address,
      receiver.address,
      receiver.sessions,
      receiver.identities,
    );
  }
  await send(1, plaintext);
  return send;
}
