import { type DirectoryEntry, encodeBase64url, LIMITS } from '@liaison/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOW } from '../__fixtures__/devices.js';
import { network, valid } from '../__fixtures__/network.js';
import { generateIdentityKeyPair } from '../crypto/keys.js';
import { ready } from '../crypto/sodium.js';
import { certifyDevice } from './issue.js';
import { PEER_CACHE_LIMITS, PeerDirectory } from './peer-directory.js';

beforeAll(ready);

/**
 * A peer with two devices, as the relay's directory lists it (the test edits the listing), and a
 * client's directory of peers reading it, with both clocks the test's to move.
 */
function peerAndDirectory() {
  const n = network('seajust', 'TH', 'th-oag');
  const laptop = certifyDevice(n.accountKeys, {
    contactPointId: n.contactPoint.contactPointId,
    deviceId: encodeBase64url(generateIdentityKeyPair().publicKey),
    deviceName: 'Laptop',
    ...valid,
  });
  const listing: DirectoryEntry = {
    authority: n.authority,
    contactPoint: n.contactPoint,
    devices: [n.device, laptop],
    availability: { status: 'available' },
  };
  const clocks = { local: NOW, relay: NOW };
  let fetches = 0;
  const peers = new PeerDirectory(
    async () => {
      fetches++;
      return structuredClone(listing);
    },
    { trustedRoots: [n.root] },
    () => clocks.relay,
    () => clocks.local,
  );
  const devicesOf = async () => [...(await peers.lookup(n.contactPoint.contactPointId)).devices.keys()];
  return { n, laptop, listing, clocks, peers, devicesOf, fetches: () => fetches };
}

describe('the peer directory', () => {
  it('uses a verification until the bound, then asks the relay again: a device revoked meanwhile is gone', async () => {
    const { n, laptop, listing, clocks, devicesOf, fetches } = peerAndDirectory();
    expect(await devicesOf()).toEqual([n.device.deviceId, laptop.deviceId]);
    // The relay drops the revoked laptop from its directory.
    listing.devices = [n.device];
    clocks.local += PEER_CACHE_LIMITS.maxAgeMs - 1;
    expect(await devicesOf()).toEqual([n.device.deviceId, laptop.deviceId]);
    expect(fetches()).toBe(1);
    clocks.local += 1;
    expect(await devicesOf()).toEqual([n.device.deviceId]);
    expect(fetches()).toBe(2);
  });

  it('ends a verification when a certificate it rests on expires, by the relay clock', async () => {
    const { n, laptop, listing, clocks, peers, fetches } = peerAndDirectory();
    const expiring = certifyDevice(n.accountKeys, { ...laptop, notAfter: NOW + 60_000 });
    listing.devices = [n.device, expiring];
    await peers.lookup(n.contactPoint.contactPointId);
    clocks.relay += 60_000;
    // Asked again, the relay still lists the expired device: the whole entry is refused, not trusted.
    await expect(peers.lookup(n.contactPoint.contactPointId)).rejects.toMatchObject({ code: 'EXPIRED' });
    expect(fetches()).toBe(2);
  });

  it("ends it by this device's clock too when the relay keeps its clock in the past, past the allowed skew", async () => {
    const { n, laptop, listing, clocks, peers } = peerAndDirectory();
    const expiring = certifyDevice(n.accountKeys, { ...laptop, notAfter: NOW + 60_000 });
    listing.devices = [n.device, expiring];
    await peers.lookup(n.contactPoint.contactPointId);
    // A hostile relay stops its clock; this device's moves on past the expiry and the skew allowed.
    clocks.local += 60_000 + LIMITS.maxClockSkewMs;
    await expect(peers.lookup(n.contactPoint.contactPointId)).rejects.toMatchObject({ code: 'EXPIRED' });
  });

  it('asks again for a device it did not verify, after the relay reported a change, and after a clock set back', async () => {
    const { n, clocks, peers, devicesOf, fetches } = peerAndDirectory();
    const id = n.contactPoint.contactPointId;
    await peers.lookup(id);
    await peers.lookup(id, n.device.deviceId);
    expect(fetches()).toBe(1);
    await peers.lookup(id, 'a-device-never-certified');
    expect(fetches()).toBe(2);
    peers.forget([id]);
    expect(peers.remembers(id)).toBe(false);
    await devicesOf();
    expect(fetches()).toBe(3);
    clocks.local -= 1;
    await devicesOf();
    expect(fetches()).toBe(4);
  });

  it("refuses the relay's answer about another contact point", async () => {
    const { n, listing, peers } = peerAndDirectory();
    expect(() => peers.accept('th-oag.someone-else', listing)).toThrow(
      expect.objectContaining({ code: 'CHAIN_MISMATCH' }),
    );
    expect(peers.remembers(n.contactPoint.contactPointId)).toBe(false);
  });
});
