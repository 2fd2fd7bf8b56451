import {
  encodeBase64url,
  encodeKemPrekey,
  encodeSignedPrekey,
  KEM_KEY_TYPE,
  type KemPrekey,
  type SignedPrekey,
} from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import { wipe } from './bytes.js';
import { randomBytes, sodium } from './sodium.js';

/** A device's or an account's Ed25519 signing key pair. */
export interface IdentityKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** An X25519 key pair for Diffie-Hellman. */
export interface KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export interface StoredSignedPrekey extends KeyPair {
  id: number;
  createdAt: number;
  signature: Uint8Array;
  /** When a newer signed prekey replaced it; it is kept for a grace period after. */
  retiredAt?: number;
}

export interface StoredOneTimePrekey extends KeyPair {
  id: number;
}

/**
 * An ML-KEM-768 prekey, kept as its 64-byte seed (FIPS 203's d ‖ z), from which the key pair is
 * made again when needed: 64 bytes instead of a 2,400-byte decapsulation key and a 1,184-byte
 * encapsulation key, which matters to a key store that writes itself whole on every change.
 */
export interface StoredKemPrekey {
  id: number;
  lastResort: boolean;
  createdAt: number;
  seed: Uint8Array;
  signature: Uint8Array;
  /** Last-resort ones only: when a newer one replaced it; it is kept for a grace period after. */
  retiredAt?: number;
}

export function generateIdentityKeyPair(): IdentityKeyPair {
  const { publicKey, privateKey } = sodium().crypto_sign_keypair();
  return { publicKey, privateKey };
}

/** As crypto_box_keypair does (32 random bytes, their X25519 public key), with the random bytes drawn in one call. */
export function generateKeyPair(): KeyPair {
  const privateKey = randomBytes(32);
  return { publicKey: sodium().crypto_scalarmult_base(privateKey), privateKey };
}

export function sign(identity: IdentityKeyPair, message: Uint8Array): Uint8Array {
  return sodium().crypto_sign_detached(message, identity.privateKey);
}

export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return sodium().crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** The X25519 public key of an Ed25519 identity key; refuses keys that are not valid points. */
export function identityDhPublicKey(identityPublicKey: Uint8Array): Uint8Array {
  try {
    return sodium().crypto_sign_ed25519_pk_to_curve25519(identityPublicKey);
  } catch {
    throw new LiaisonError('UNTRUSTED_IDENTITY', 'identity key is not a valid Ed25519 public key');
  }
}

export function identityDhPrivateKey(identity: IdentityKeyPair): Uint8Array {
  return sodium().crypto_sign_ed25519_sk_to_curve25519(identity.privateKey);
}

/** X25519. libsodium refuses a low-order peer key (an all-zero result), and so do we. */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    return sodium().crypto_scalarmult(privateKey, publicKey);
  } catch {
    throw new LiaisonError('DECRYPT_FAILED', 'Diffie-Hellman with a low-order or malformed public key');
  }
}

export function generateSignedPrekey(identity: IdentityKeyPair, id: number, createdAt: number): StoredSignedPrekey {
  const keyPair = generateKeyPair();
  const signature = sign(
    identity,
    encodeSignedPrekey({ id, publicKey: encodeBase64url(keyPair.publicKey), createdAt }),
  );
  return { id, createdAt, signature, ...keyPair };
}

export function generateOneTimePrekeys(ids: readonly number[]): StoredOneTimePrekey[] {
  return ids.map((id) => ({ id, ...generateKeyPair() }));
}

/** A KEM prekey's key pair, made again from its seed. */
export function kemKeyPair(prekey: StoredKemPrekey): KeyPair {
  const { publicKey, privateKey } = sodium().crypto_kem_mlkem768_seed_keypair(prekey.seed);
  return { publicKey, privateKey };
}

/** A signed ML-KEM-768 prekey. `seed` is given only by known-answer tests; otherwise it is random. */
export function generateKemPrekey(
  identity: IdentityKeyPair,
  id: number,
  lastResort: boolean,
  createdAt: number,
  seed: Uint8Array = randomBytes(sodium().crypto_kem_mlkem768_SEEDBYTES),
): StoredKemPrekey {
  const prekey: StoredKemPrekey = { id, lastResort, createdAt, seed: seed.slice(), signature: new Uint8Array(0) };
  const { publicKey, privateKey } = kemKeyPair(prekey);
  wipe(privateKey);
  prekey.signature = sign(
    identity,
    encodeKemPrekey({ id, keyType: KEM_KEY_TYPE, lastResort, publicKey: encodeBase64url(publicKey), createdAt }),
  );
  return prekey;
}

export function publicKemPrekey(prekey: StoredKemPrekey): KemPrekey {
  const { publicKey, privateKey } = kemKeyPair(prekey);
  wipe(privateKey);
  return {
    id: prekey.id,
    keyType: KEM_KEY_TYPE,
    lastResort: prekey.lastResort,
    publicKey: encodeBase64url(publicKey),
    createdAt: prekey.createdAt,
    signature: encodeBase64url(prekey.signature),
  };
}

/** The public part of a signed prekey, as it travels. */
export function publicSignedPrekey(prekey: StoredSignedPrekey): SignedPrekey {
  return {
    id: prekey.id,
    publicKey: encodeBase64url(prekey.publicKey),
    createdAt: prekey.createdAt,
    signature: encodeBase64url(prekey.signature),
  };
}

/** A random prekey id (uint32) not in `taken`. */
export function freshPrekeyId(taken: ReadonlySet<number>): number {
  for (;;) {
    const bytes = randomBytes(4);
    const id = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
    if (!taken.has(id)) return id;
  }
}
