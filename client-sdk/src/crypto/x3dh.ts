import { encodeBase64url, encodeSignedPrekey, PROTOCOL_VERSION } from '@liaison/protocol';
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

/**
 * X3DH (Signal's specification, revision 1) with curve X25519, hash SHA-256 and
 * info "Liaison v1 X3DH". Identity keys are Ed25519 and converted to X25519 for DH.
 */

const utf8 = new TextEncoder();
const X3DH_INFO = utf8.encode('Liaison v1 X3DH');
// The specification's F: 32 0xFF bytes before the DH outputs, for domain separation from XEdDSA.
const F = new Uint8Array(32).fill(0xff);
const ZERO_SALT = new Uint8Array(32);

/** The public prekeys of one remote device, as the initiator got them (from a hostile relay). */
export interface RemoteBundle {
  identityKey: Uint8Array;
  signedPrekey: { id: number; publicKey: Uint8Array; createdAt: number; signature: Uint8Array };
  oneTimePrekey?: { id: number; publicKey: Uint8Array };
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
  sharedKey: Uint8Array;
  /**
   * AD = "LIAISON" | version | initiator identity key | responder identity key |
   *      initiator contact point | responder contact point,
   * each contact point as: id length u8 | id (UTF-8) | account key 32.
   */
  associatedData: Uint8Array;
}

export function associatedData(
  initiatorIdentity: Uint8Array,
  responderIdentity: Uint8Array,
  parties: X3dhParties,
): Uint8Array {
  return concat(
    utf8.encode('LIAISON'),
    Uint8Array.of(PROTOCOL_VERSION),
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

function deriveSharedKey(dhOutputs: Uint8Array[]): Uint8Array {
  const keyMaterial = concat(F, ...dhOutputs);
  const sharedKey = hkdfSha256(keyMaterial, ZERO_SALT, X3DH_INFO, 32);
  wipe(keyMaterial, ...dhOutputs);
  return sharedKey;
}

/** Alice's side. The signed prekey's signature is checked before any other use of the bundle. */
export function x3dhInitiate(
  identity: IdentityKeyPair,
  bundle: RemoteBundle,
  parties: X3dhParties,
): X3dhResult & { ephemeralPublicKey: Uint8Array } {
  const spk = bundle.signedPrekey;
  const signed = encodeSignedPrekey({
    id: spk.id,
    publicKey: encodeBase64url(spk.publicKey),
    createdAt: spk.createdAt,
  });
  if (!verifySignature(bundle.identityKey, signed, spk.signature)) {
    throw new LiaisonError('BAD_SIGNATURE', "the signed prekey is not signed by the device's identity key");
  }
  const remoteIdentityDh = identityDhPublicKey(bundle.identityKey);
  const ephemeral = generateKeyPair();
  const ownIdentityDh = identityDhPrivateKey(identity);
  const outputs = [
    dh(ownIdentityDh, spk.publicKey),
    dh(ephemeral.privateKey, remoteIdentityDh),
    dh(ephemeral.privateKey, spk.publicKey),
  ];
  if (bundle.oneTimePrekey) outputs.push(dh(ephemeral.privateKey, bundle.oneTimePrekey.publicKey));
  const sharedKey = deriveSharedKey(outputs);
  wipe(ownIdentityDh, ephemeral.privateKey);
  return {
    sharedKey,
    associatedData: associatedData(identity.publicKey, bundle.identityKey, parties),
    ephemeralPublicKey: ephemeral.publicKey,
  };
}

/** Bob's side, from the initiator's identity and ephemeral keys and his own prekeys. */
export function x3dhRespond(
  identity: IdentityKeyPair,
  signedPrekey: KeyPair,
  oneTimePrekey: KeyPair | undefined,
  initiatorIdentityKey: Uint8Array,
  ephemeralPublicKey: Uint8Array,
  parties: X3dhParties,
): X3dhResult {
  const initiatorIdentityDh = identityDhPublicKey(initiatorIdentityKey);
  const ownIdentityDh = identityDhPrivateKey(identity);
  const outputs = [
    dh(signedPrekey.privateKey, initiatorIdentityDh),
    dh(ownIdentityDh, ephemeralPublicKey),
    dh(signedPrekey.privateKey, ephemeralPublicKey),
  ];
  if (oneTimePrekey) outputs.push(dh(oneTimePrekey.privateKey, ephemeralPublicKey));
  const sharedKey = deriveSharedKey(outputs);
  wipe(ownIdentityDh);
  return { sharedKey, associatedData: associatedData(initiatorIdentityKey, identity.publicKey, parties) };
}
