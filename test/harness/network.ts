import {
  certifyDevice,
  createNetworkRoot,
  designateContactPoint,
  generateIdentityKeyPair,
  type IdentityKeyPair,
  issueAuthorityCertificate,
  MemoryKeyStore,
  ready,
  rotateSignedPrekey,
  SessionCipher,
  type SessionPeer,
} from '@liaison/client';
import {
  type AuthorityCertificate,
  type CertificateChain,
  type ContactPointCertificate,
  encodeBase64url,
  PQ_HYBRID_CAPABILITY,
  type TrustedRoot,
} from '@liaison/protocol';

const YEAR = 365 * 24 * 3600 * 1000;

/** A device as the SDK would hold it: keys in a key store, a session cipher, and its certificate chain. */
export interface TestDevice {
  id: string;
  identity: IdentityKeyPair;
  store: MemoryKeyStore;
  cipher: SessionCipher;
  chain: CertificateChain;
  /** The device with its contact point, as another device's session cipher addresses it. */
  address: SessionPeer;
}

/** Every device the tests made, so a test can address a sender by the device id an envelope names. */
const devices = new Map<string, TestDevice>();

export function testDeviceAddress(deviceId: string): SessionPeer {
  const device = devices.get(deviceId);
  if (!device) throw new Error(`no test device ${deviceId}`);
  return device.address;
}

export interface TestContactPoint {
  id: string;
  accountKeys: IdentityKeyPair;
  certificate: ContactPointCertificate;
  authority: AuthorityCertificate;
  /** A device of this contact point; its certificate valid from `notBefore` (default: as the network's). */
  /** A device whose certificate says it speaks hybrid sessions, unless `classical` (one certified before they existed). */
  addDevice(name?: string, options?: { notBefore?: number; classical?: boolean }): Promise<TestDevice>;
}

/**
 * One network, with helpers to add authorities, contact points and devices, all properly signed,
 * valid from a minute ago (or from `validFrom`) for a year.
 */
export async function testNetwork(networkId = 'seajust', options: { validFrom?: number } = {}) {
  await ready();
  const now = Date.now();
  const validity = { notBefore: options.validFrom ?? now - 60_000, notAfter: now + YEAR };
  const { root, keyPair: rootKeys } = createNetworkRoot(networkId, `${networkId} network`);

  function authority(authorityId: string, country: string) {
    const keys = generateIdentityKeyPair();
    const certificate = issueAuthorityCertificate(rootKeys, {
      networkId,
      authorityId,
      country,
      name: `Central authority of ${country}`,
      publicKey: encodeBase64url(keys.publicKey),
      ...validity,
    });
    return {
      certificate,
      keys,
      contactPoint(
        name: string,
        overrides: Partial<Omit<ContactPointCertificate, 'signature'>> = {},
      ): TestContactPoint {
        const accountKeys = generateIdentityKeyPair();
        const cp = designateContactPoint(keys, {
          networkId,
          authorityId,
          contactPointId: `${authorityId}.${name}`,
          kind: 'person',
          displayName: `Prosecutor ${name}`,
          role: 'Public Prosecutor',
          languages: ['en'],
          competences: ['mla'],
          timeZone: 'UTC',
          accountKey: encodeBase64url(accountKeys.publicKey),
          escalationChain: [],
          ...validity,
          ...overrides,
        });
        return {
          id: cp.contactPointId,
          accountKeys,
          certificate: cp,
          authority: certificate,
          async addDevice(deviceName = 'Office laptop', { classical = false, ...deviceValidity } = {}) {
            const identity = generateIdentityKeyPair();
            const store = new MemoryKeyStore();
            await store.setIdentity(identity);
            await rotateSignedPrekey(store, Date.now());
            const device = certifyDevice(accountKeys, {
              contactPointId: cp.contactPointId,
              deviceId: encodeBase64url(identity.publicKey),
              deviceName,
              ...validity,
              ...deviceValidity,
              ...(!classical && { capabilities: [PQ_HYBRID_CAPABILITY] }),
            });
            const owner = { contactPointId: cp.contactPointId, accountKey: accountKeys.publicKey };
            const made: TestDevice = {
              id: device.deviceId,
              identity,
              store,
              cipher: new SessionCipher(store, owner),
              chain: { authority: certificate, contactPoint: cp, device },
              address: { deviceId: device.deviceId, ...owner },
            };
            devices.set(made.id, made);
            return made;
          },
        };
      },
    };
  }
  return { root: root as TrustedRoot, rootKeys, authority };
}
