import { decodeBase64url, type PrekeyBundle } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import type { RemoteBundle } from './x3dh.js';

/** A prekey bundle as the relay sends it (schema-checked), as the bytes X3DH works on. */
export function bundleFromWire(bundle: PrekeyBundle): RemoteBundle {
  const bytes = (text: string) => {
    const decoded = decodeBase64url(text);
    if (!decoded) throw new LiaisonError('INVALID_INPUT', 'prekey bundle is not canonical base64url');
    return decoded;
  };
  return {
    identityKey: bytes(bundle.device.deviceId),
    signedPrekey: {
      id: bundle.signedPrekey.id,
      publicKey: bytes(bundle.signedPrekey.publicKey),
      createdAt: bundle.signedPrekey.createdAt,
      signature: bytes(bundle.signedPrekey.signature),
    },
    ...(bundle.oneTimePrekey && {
      oneTimePrekey: { id: bundle.oneTimePrekey.id, publicKey: bytes(bundle.oneTimePrekey.publicKey) },
    }),
  };
}
