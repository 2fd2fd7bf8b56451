import { type AuthChallenge, type AuthProof, encodeAuthChallenge, encodeBase64url } from '@liaison/protocol';
import { type IdentityKeyPair, sign } from './crypto/keys.js';

/** Proves possession of the device key: signs the relay's challenge, bound to its origin and purpose. */
export function answerChallenge(identity: IdentityKeyPair, challenge: AuthChallenge): AuthProof {
  const deviceId = encodeBase64url(identity.publicKey);
  const signature = sign(identity, encodeAuthChallenge({ ...challenge, deviceId }));
  return { deviceId, nonce: challenge.nonce, signature: encodeBase64url(signature) };
}
