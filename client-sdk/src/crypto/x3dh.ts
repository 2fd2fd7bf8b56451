import { encodeBase64url, encodeKemPrekey, encodeSignedPrekey, KEM_KEY_TYPE } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import { concat, wipe } from './bytes.js';
import { hkdfSha256 } from './hkdf.js';
import {
  dh,
  generateKeyPair,
  type IdentityKeyPair,
  identityDhPrivateKey,
  identityDhPublicKey,
  type KeyPair,
  verifySignature,
} from './keys.js';
import { randomBytes, sodium } from './sodium.js';

/**
 * The initial key agreement. Version 1: X3DH (Signal's specification, revision 1) with X25519,
 * SHA-256 and info "Liaison v1 X3DH". Version 2, hybrid: PQXDH (Signal's specification,
 * revision 3) with ML-KEM-768 as the KEM: the same DH outputs followed by the KEM shared secret,
 * under its own info string, so the session key holds as long as either X25519 or ML-KEM does.
 * Identity keys are Ed25519 and converted to X25519 for DH.
 */

export const CLASSICAL_VERSION = 1;
export const HYBRID_VERSION = 2;
export type SessionVersion = typeof CLASSICAL_VERSION | typeof HYBRID_VERSION;

const utf8 = new TextEncoder();
const INFO: Record<SessionVersion, Uint8Array> = {
  [CLASSICAL_VERSION]: utf8.encode('Liaison v1 X3DH'),
  [HYBRID_VERSION]: utf8.encode('Liaison v2 PQXDH X25519 ML-KEM-768 SHA-256'),
};
// The specification's F: 32 0xFF bytes before the DH outputs, for domain separation from XEdDSA.
const F = new Uint8Array(32).fill(0xff);
const ZERO_SALT = new Uint8Array(32);

export const KEM_CIPHERTEXT_LENGTH = 1088;

/** A signed ML-KEM-768 prekey as the initiator got it. */
export interface RemoteKemPrekey {
  id: number;
  lastResort: boolean;
  publicKey: Uint8Array;
  createdAt: number;
  signature: Uint8Array;
}

/** The public prekeys of one remote device, as the initiator got them (from a hostile relay). */
export interface RemoteBundle {
  identityKey: Uint8Array;
  signedPrekey: { id: number; publicKey: Uint8Array; createdAt: number; signature: Uint8Array };
  oneTimePrekey?: { id: number; publicKey: Uint8Array };
  kemPrekey?: RemoteKemPrekey;
  /**
   * The device's certificate says it speaks hybrid sessions: a bundle without a KEM prekey is then
   * a downgrade (a relay stripped it), never a reason to fall back to a classical session.
   * `bundleFromWire` sets it from the certificate.
   */
  requiresHybrid?: boolean;
}

/**
 * The contact point a device speaks for: its id and the account key that certified the device.
 * Bound into every session, so that a device key certified under a second contact point (by a
 * colluding contact point, served by a colluding relay) cannot borrow a session of the first.
 */
export interface ContactPointBinding {
  contactPointId: string;
  accountKey: Uint8Array;
}

export interface X3dhParties {
  initiator: ContactPointBinding;
  responder: ContactPointBinding;
}

export interface X3dhResult {
  version: SessionVersion;
  sharedKey: Uint8Array;
  /**
   * AD = "LIAISON" | version | initiator identity key | responder identity key |
   *      initiator contact point | responder contact point,
   * each contact point as: id length u8 | id (UTF-8) | account key 32.
   */
  associatedData: Uint8Array;
}

export interface X3dhInitiation extends X3dhResult {
  ephemeralPublicKey: Uint8Array;
  /** Hybrid sessions: the KEM prekey used and the ciphertext the responder decapsulates. */
  kem?: { prekeyId: number; ciphertext: Uint8Array };
}

/**
 * Fixed choices instead of fresh randomness, for known-answer tests only: the ephemeral key pair
 * and ML-KEM's 32-byte encapsulation seed.
 */
export interface FixedRandomness {
  ephemeral: KeyPair;
  encapsulationSeed: Uint8Array;
}

export function associatedData(
  version: SessionVersion,
  initiatorIdentity: Uint8Array,
  responderIdentity: Uint8Array,
  parties: X3dhParties,
): Uint8Array {
  return concat(
    utf8.encode('LIAISON'),
    Uint8Array.of(version),
    initiatorIdentity,
    responderIdentity,
    encodeBinding(parties.initiator),
    encodeBinding(parties.responder),
  );
}

function encodeBinding({ contactPointId, accountKey }: ContactPointBinding): Uint8Array {
  const id = utf8.encode(contactPointId);
  // Contact point ids are at most 64 ASCII characters (protocol's Slug); the length prefix keeps the encoding unambiguous.
  if (id.length > 255 || accountKey.length !== 32) {
    throw new LiaisonError('INVALID_INPUT', 'a contact point binding is an id of at most 255 bytes and a 32-byte key');
  }
  return concat(Uint8Array.of(id.length), id, accountKey);
}

function deriveSharedKey(version: SessionVersion, secrets: Uint8Array[]): Uint8Array {
  const keyMaterial = concat(F, ...secrets);
  const sharedKey = hkdfSha256(keyMaterial, ZERO_SALT, INFO[version], 32);
  wipe(keyMaterial, ...secrets);
  return sharedKey;
}

/**
 * Checks every signature of a bundle before any of it is used, and that it is not a downgrade.
 * A KEM prekey that is there must verify: a bad one is refused, never skipped.
 */
function checkBundle(bundle: RemoteBundle): void {
  const spk = bundle.signedPrekey;
  const signed = encodeSignedPrekey({
    id: spk.id,
    publicKey: encodeBase64url(spk.publicKey),
    createdAt: spk.createdAt,
  });
  if (!verifySignature(bundle.identityKey, signed, spk.signature)) {
    throw new LiaisonError('BAD_SIGNATURE', "the signed prekey is not signed by the device's identity key");
  }
  const kem = bundle.kemPrekey;
  if (kem) {
    if (kem.publicKey.length !== sodium().crypto_kem_mlkem768_PUBLICKEYBYTES) {
      throw new LiaisonError('INVALID_INPUT', 'the KEM prekey is not an ML-KEM-768 key');
    }
    const kemSigned = encodeKemPrekey({
      id: kem.id,
      keyType: KEM_KEY_TYPE,
      lastResort: kem.lastResort,
      publicKey: encodeBase64url(kem.publicKey),
      createdAt: kem.createdAt,
    });
    if (!verifySignature(bundle.identityKey, kemSigned, kem.signature)) {
      throw new LiaisonError('BAD_SIGNATURE', "the KEM prekey is not signed by the device's identity key");
    }
  } else if (bundle.requiresHybrid) {
    throw new LiaisonError(
      'DOWNGRADE_REFUSED',
      'this device speaks post-quantum hybrid sessions, but its prekeys came without a KEM prekey: the relay left it out',
    );
  }
}

/**
 * Alice's side. Hybrid when the bundle has a KEM prekey; every signature is checked before any
 * other use of the bundle.
 */
export function x3dhInitiate(
  identity: IdentityKeyPair,
  bundle: RemoteBundle,
  parties: X3dhParties,
  fixed?: FixedRandomness,
): X3dhInitiation {
  checkBundle(bundle);
  const spk = bundle.signedPrekey;
  const remoteIdentityDh = identityDhPublicKey(bundle.identityKey);
  const ephemeral = fixed ? { ...fixed.ephemeral } : generateKeyPair();
  const ownIdentityDh = identityDhPrivateKey(identity);
  const secrets = [
    dh(ownIdentityDh, spk.publicKey),
    dh(ephemeral.privateKey, remoteIdentityDh),
    dh(ephemeral.privateKey, spk.publicKey),
  ];
  if (bundle.oneTimePrekey) secrets.push(dh(ephemeral.privateKey, bundle.oneTimePrekey.publicKey));
  let kem: X3dhInitiation['kem'];
  if (bundle.kemPrekey) {
    // FIPS 203's Encaps draws 32 random bytes and runs the deterministic part on them: the same here,
    // with the bytes drawn in one call (randomBytes) or fixed by a known-answer test.
    const seed = fixed?.encapsulationSeed ?? randomBytes(32);
    const { ciphertext, sharedSecret } = sodium().crypto_kem_mlkem768_enc_deterministic(
      bundle.kemPrekey.publicKey,
      seed,
    );
    // The seed alone gives the shared secret: gone with it.
    if (!fixed) wipe(seed);
    secrets.push(sharedSecret);
    kem = { prekeyId: bundle.kemPrekey.id, ciphertext };
  }
  const version = kem ? HYBRID_VERSION : CLASSICAL_VERSION;
  const sharedKey = deriveSharedKey(version, secrets);
  wipe(ownIdentityDh);
  if (!fixed) wipe(ephemeral.privateKey);
  return {
    version,
    sharedKey,
    associatedData: associatedData(version, identity.publicKey, bundle.identityKey, parties),
    ephemeralPublicKey: ephemeral.publicKey,
    ...(kem && { kem }),
  };
}

/** What the responder holds for one initial message: his prekeys it names, and the KEM ciphertext. */
export interface ResponderKeys {
  signedPrekey: KeyPair;
  oneTimePrekey?: KeyPair;
  /** Hybrid: the KEM prekey's key pair and the message's ciphertext. */
  kem?: { keyPair: KeyPair; ciphertext: Uint8Array };
}

/** Bob's side, from the initiator's identity and ephemeral keys and his own prekeys. */
export function x3dhRespond(
  identity: IdentityKeyPair,
  keys: ResponderKeys,
  initiatorIdentityKey: Uint8Array,
  ephemeralPublicKey: Uint8Array,
  parties: X3dhParties,
): X3dhResult {
  const initiatorIdentityDh = identityDhPublicKey(initiatorIdentityKey);
  const ownIdentityDh = identityDhPrivateKey(identity);
  const secrets = [
    dh(keys.signedPrekey.privateKey, initiatorIdentityDh),
    dh(ownIdentityDh, ephemeralPublicKey),
    dh(keys.signedPrekey.privateKey, ephemeralPublicKey),
  ];
  if (keys.oneTimePrekey) secrets.push(dh(keys.oneTimePrekey.privateKey, ephemeralPublicKey));
  // ML-KEM decapsulation never fails on a well-sized ciphertext: a forged one yields an unrelated
  // secret (implicit rejection), so the session key differs and the first message's AEAD check fails.
  if (keys.kem) secrets.push(sodium().crypto_kem_mlkem768_dec(keys.kem.ciphertext, keys.kem.keyPair.privateKey));
  const version = keys.kem ? HYBRID_VERSION : CLASSICAL_VERSION;
  const sharedKey = deriveSharedKey(version, secrets);
  wipe(ownIdentityDh, keys.kem?.keyPair.privateKey);
  return {
    version,
    sharedKey,
    associatedData: associatedData(version, initiatorIdentityKey, identity.publicKey, parties),
  };
}
