import { type DeviceCertificate, decodeBase64url, PQ_HYBRID_CAPABILITY, type PrekeyBundle } from '@liaison/protocol';
import { LiaisonError } from '../errors.js';
import type { RemoteBundle } from './x3dh.js';

/** The device ids whose (verified) certificates say they speak hybrid sessions. */
export function hybridDevices(certificates: Iterable<DeviceCertificate>): string[] {
  return [...certificates].filter((c) => c.capabilities?.includes(PQ_HYBRID_CAPABILITY)).map((c) => c.deviceId);
}

/**
 * A prekey bundle as the relay sends it (schema-checked), as the bytes X3DH works on. Whether the
 * device must be reached with a hybrid session comes from its certificate, which the relay cannot
 * alter (the caller has verified its chain), not from what the relay chose to include.
 */
export function bundleFromWire(bundle: PrekeyBundle): RemoteBundle {
  const bytes = (text: string) => {
    const decoded = decodeBase64url(text);
    if (!decoded) throw new LiaisonError('INVALID_INPUT', 'prekey bundle is not canonical base64url');
    return decoded;
  };
  const kem = bundle.kemPrekey;
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
    ...(kem && {
      kemPrekey: {
        id: kem.id,
        lastResort: kem.lastResort,
        publicKey: bytes(kem.publicKey),
        createdAt: kem.createdAt,
        signature: bytes(kem.signature),
      },
    }),
    requiresHybrid: hybridDevices([bundle.device]).length > 0,
  };
}
