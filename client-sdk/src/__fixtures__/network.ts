import { encodeBase64url, PQ_HYBRID_CAPABILITY } from '@liaison/protocol';
import { generateIdentityKeyPair, type IdentityKeyPair } from '../crypto/keys.js';
import { certifyDevice, createNetworkRoot, designateContactPoint, issueAuthorityCertificate } from '../trust/issue.js';
import { NOW } from './devices.js';

export const YEAR = 365 * 24 * 3600 * 1000;
/** Every certificate here is valid from just before NOW for a year. */
export const valid = { notBefore: NOW - 1000, notAfter: NOW + YEAR };

/** One network with an authority, a contact point with a device, and helpers to issue more. */
export function network(networkId: string, country: string, authorityId: string) {
  const { root, keyPair: rootKeys } = createNetworkRoot(networkId, `${networkId} network`);
  const authorityKeys = generateIdentityKeyPair();
  const authority = issueAuthorityCertificate(rootKeys, {
    networkId,
    authorityId,
    country,
    name: `Central authority ${country}`,
    publicKey: encodeBase64url(authorityKeys.publicKey),
    ...valid,
  });
  const designate = (
    contactPointId: string,
    accountKeys: IdentityKeyPair,
    extra: { escalationChain?: string[] } = {},
  ) =>
    designateContactPoint(authorityKeys, {
      networkId,
      authorityId,
      contactPointId,
      kind: 'person',
      displayName: `Prosecutor ${contactPointId}`,
      role: 'Public Prosecutor',
      languages: ['en'],
      competences: ['mla'],
      timeZone: 'Asia/Bangkok',
      accountKey: encodeBase64url(accountKeys.publicKey),
      escalationChain: extra.escalationChain ?? [],
      ...valid,
    });
  const accountKeys = generateIdentityKeyPair();
  const contactPoint = designate(`${authorityId}.somchai`, accountKeys);
  const deviceKeys = generateIdentityKeyPair();
  const device = certifyDevice(accountKeys, {
    contactPointId: contactPoint.contactPointId,
    deviceId: encodeBase64url(deviceKeys.publicKey),
    deviceName: 'Office laptop',
    ...valid,
    capabilities: [PQ_HYBRID_CAPABILITY],
  });
  return { root, rootKeys, authorityKeys, authority, accountKeys, contactPoint, device, designate };
}
