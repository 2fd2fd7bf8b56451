import { createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bytes, T0 } from './__fixtures__/statements.js';
import { encodeBase64url } from './base64url.js';
import { encodeNetworkManifest } from './canonical.js';
import {
  checkPartnership,
  manifestSignedBy,
  NetworkManifest,
  RelayKeyFile,
  type UnsignedNetworkManifest,
} from './federation.js';
import { parseInput } from './validate.js';
import type { SignatureCheck } from './verify.js';

// Ed25519 from Node's own crypto: this package has none, and an implementation other than the
// libsodium the relay and the SDK use makes the check independent of theirs.
const verifySignature: SignatureCheck = (publicKey, message, signature) =>
  verify(
    null,
    message,
    createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: encodeBase64url(publicKey) }, format: 'jwk' }),
    signature,
  );

interface Root {
  publicKey: string;
  privateKey: KeyObject;
}

function newRoot(): Root {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { publicKey: publicKey.export({ format: 'jwk' }).x as string, privateKey };
}

function signed(root: Root, body: UnsignedNetworkManifest): NetworkManifest {
  const signature = encodeBase64url(sign(null, encodeNetworkManifest(body), root.privateKey));
  return NetworkManifest.parse({ ...body, signature });
}

const PLACEHOLDER = bytes(64, 0);

function manifest(overrides: Partial<NetworkManifest> = {}): unknown {
  return {
    networkId: 'ejn',
    version: 1,
    issuedAt: T0,
    relays: [{ origin: 'https://relay.ejn.example', signingKey: bytes(32, 1) }],
    authorities: ['fr-mj'],
    partners: [],
    signature: PLACEHOLDER,
    ...overrides,
  };
}

const withOrigin = (origin: string) => manifest({ relays: [{ origin, signingKey: bytes(32, 1) }] });
const problem = (input: unknown) => {
  const parsed = parseInput(NetworkManifest, input);
  return parsed.ok ? undefined : parsed.error.message;
};

describe('NetworkManifest', () => {
  it('takes https origins, and plain http only on a loopback address', () => {
    for (const origin of [
      'https://relay.ejn.example',
      'https://relay.ejn.example:8443',
      'http://127.0.0.1:4000',
      'http://localhost:4000',
      'http://[::1]:4000',
    ]) {
      expect([origin, problem(withOrigin(origin))]).toEqual([origin, undefined]);
    }
  });

  it('refuses plain http elsewhere, and anything but an origin written the one way', () => {
    const refused =
      'relays.0.origin: an origin such as https://relay.example.org (plain http only on a loopback address)';
    for (const origin of [
      'http://relay.ejn.example',
      // Loopback spelled otherwise, or a name that only begins like one.
      'http://127.0.0.2:4000',
      'http://127.1:4000',
      'http://localhost.relay.example',
      // A path, even "/"; a query; credentials; a default port; capitals.
      'https://relay.ejn.example/federation',
      'https://relay.ejn.example/',
      'https://relay.ejn.example?x=1',
      'https://ops:secret@relay.ejn.example',
      'https://relay.ejn.example:443',
      'https://Relay.EJN.example',
      'ftp://relay.ejn.example',
      'relay.ejn.example',
    ]) {
      expect([origin, problem(withOrigin(origin))]).toEqual([origin, refused]);
    }
  });

  it('refuses a relay origin or a partner named twice, the network as its own partner, and no relay at all', () => {
    const relay = { origin: 'https://relay.ejn.example', signingKey: bytes(32, 1) };
    const casc = { networkId: 'casc', rootKey: bytes(32, 2) };
    expect(problem(manifest({ relays: [relay, { ...relay, signingKey: bytes(32, 3) }] }))).toBe(
      'relays: each relay origin once',
    );
    expect(problem(manifest({ partners: [casc, { ...casc, rootKey: bytes(32, 4) }] }))).toBe(
      'partners: each partner network once',
    );
    expect(problem(manifest({ partners: [{ networkId: 'ejn', rootKey: bytes(32, 2) }] }))).toBe(
      'partners: a network is not its own partner',
    );
    expect(problem(manifest({ relays: [] }))).toMatch(/^relays: /);
    // Two relays may share a key (one relay process reachable at two origins).
    expect(problem(manifest({ relays: [relay, { ...relay, origin: 'https://relay2.ejn.example' }] }))).toBeUndefined();
    expect(problem(manifest({ version: 0 }))).toMatch(/^version: /);
  });
});

describe('RelayKeyFile', () => {
  it('is the 32-byte seed alone', () => {
    expect(parseInput(RelayKeyFile, { seed: bytes(32, 7) }).ok).toBe(true);
    for (const input of [
      { seed: bytes(31, 7) },
      { seed: bytes(64, 7) },
      { seed: bytes(32, 7), publicKey: bytes(32, 1) },
    ]) {
      expect(parseInput(RelayKeyFile, input).ok).toBe(false);
    }
  });
});

describe('encodeNetworkManifest', () => {
  const body: UnsignedNetworkManifest = {
    networkId: 'ejn',
    version: 2,
    issuedAt: T0,
    relays: [
      { origin: 'https://relay.ejn.example', signingKey: bytes(32, 1) },
      { origin: 'http://127.0.0.1:8443', signingKey: bytes(32, 33) },
    ],
    authorities: ['fr-mj'],
    partners: [{ networkId: 'casc', rootKey: bytes(32, 65) }],
  };

  // Assembled by hand from the layout documented in canonical.ts, not by the code under test. A
  // change here breaks every manifest ever signed: bump PROTOCOL_VERSION instead.
  const FIELDS = [
    '4c494149534f4e', // "LIAISON"
    '01', // protocol version
    '0a', // tag 10: network manifest
    '00000003' + '656a6e', // networkId "ejn"
    '0000000000000002', // version 2, u64
    '000001a0c4506c00', // issuedAt T0 (1,790,000,000,000 ms), u64
    '00000002', // two relays
    '00000019' + '68747470733a2f2f72656c61792e656a6e2e6578616d706c65', // "https://relay.ejn.example"
    '00000020' + '0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20', // its key, 32 bytes
    '00000015' + '687474703a2f2f3132372e302e302e313a38343433', // "http://127.0.0.1:8443"
    '00000020' + '2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40', // its key
    '00000001' + '00000005' + '66722d6d6a', // one authority: "fr-mj"
    '00000001', // one partner
    '00000004' + '63617363', // "casc"
    '00000020' + '4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60', // its root key
  ];
  const VECTOR = FIELDS.join('');

  it('matches the vector assembled by hand', () => {
    expect(Buffer.from(encodeNetworkManifest(body)).toString('hex')).toBe(VECTOR);
  });

  it('encodes the relays in the order given, and no partners as a count of zero', () => {
    const swapped = encodeNetworkManifest({ ...body, relays: [...body.relays].reverse() });
    expect(Buffer.from(swapped).toString('hex')).not.toBe(VECTOR);
    const alone = Buffer.from(encodeNetworkManifest({ ...body, partners: [] })).toString('hex');
    expect(alone).toBe(`${FIELDS.slice(0, -3).join('')}00000000`);
  });

  it('ignores the signature and the order of object keys', () => {
    const reordered = Object.fromEntries(Object.entries(body).reverse()) as UnsignedNetworkManifest;
    const withSignature = { ...body, signature: PLACEHOLDER } as UnsignedNetworkManifest;
    expect(encodeNetworkManifest(reordered)).toEqual(encodeNetworkManifest(body));
    expect(encodeNetworkManifest(withSignature)).toEqual(encodeNetworkManifest(body));
  });
});

describe('manifestSignedBy', () => {
  const ejn = newRoot();
  const ours = signed(ejn, manifest() as UnsignedNetworkManifest);

  it('is true for the root that signed it, and false for another root or an altered manifest', () => {
    expect(manifestSignedBy(ours, ejn.publicKey, verifySignature)).toBe(true);
    expect(manifestSignedBy(ours, newRoot().publicKey, verifySignature)).toBe(false);
    expect(manifestSignedBy({ ...ours, version: 2 }, ejn.publicKey, verifySignature)).toBe(false);
    const moved = {
      ...ours,
      relays: [{ ...(ours.relays[0] as NetworkManifest['relays'][0]), origin: 'https://x.example' }],
    };
    expect(manifestSignedBy(moved, ejn.publicKey, verifySignature)).toBe(false);
  });

  it('is false, not an exception, for a key that does not decode or a check that throws', () => {
    expect(manifestSignedBy(ours, 'not base64url!', verifySignature)).toBe(false);
    expect(
      manifestSignedBy(ours, ejn.publicKey, () => {
        throw new Error('bad point');
      }),
    ).toBe(false);
  });
});

describe('checkPartnership', () => {
  const [ejn, casc, impostor] = [newRoot(), newRoot(), newRoot()];
  const ejnManifest = (partners: NetworkManifest['partners']) =>
    signed(ejn, {
      networkId: 'ejn',
      version: 1,
      issuedAt: T0,
      relays: [{ origin: 'https://relay.ejn.example', signingKey: bytes(32, 1) }],
      authorities: ['fr-mj'],
      partners,
    });
  const cascManifest = (by: Root, partners: NetworkManifest['partners']) =>
    signed(by, {
      networkId: 'casc',
      version: 4,
      issuedAt: T0,
      relays: [{ origin: 'https://relay.casc.example', signingKey: bytes(32, 9) }],
      authorities: ['am-pgo'],
      partners,
    });
  const ours = ejnManifest([{ networkId: 'casc', rootKey: casc.publicKey }]);

  it('holds when each manifest names the other with its root key, and gives the partner relays', () => {
    const theirs = cascManifest(casc, [{ networkId: 'ejn', rootKey: ejn.publicKey }]);
    expect(checkPartnership(ours, ejn.publicKey, theirs, verifySignature)).toEqual({
      ok: true,
      partnership: { networkId: 'casc', rootKey: casc.publicKey, relays: theirs.relays, manifest: theirs },
    });
  });

  it('not-named: our manifest does not name their network', () => {
    const theirs = cascManifest(casc, [{ networkId: 'ejn', rootKey: ejn.publicKey }]);
    expect(checkPartnership(ejnManifest([]), ejn.publicKey, theirs, verifySignature)).toEqual({
      ok: false,
      reason: 'not-named',
      message: 'our manifest does not name "casc" as a partner',
    });
  });

  it('bad-signature: their manifest is not signed by the root key ours names for them', () => {
    // Someone else's root signs a manifest in CASC's name, naming EJN back: refused all the same.
    const forged = cascManifest(impostor, [{ networkId: 'ejn', rootKey: ejn.publicKey }]);
    expect(checkPartnership(ours, ejn.publicKey, forged, verifySignature)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
      message: 'the manifest of "casc" is not signed by the root key our manifest names for it',
    });
    const real = cascManifest(casc, [{ networkId: 'ejn', rootKey: ejn.publicKey }]);
    const altered = { ...real, relays: [{ origin: 'https://relay.attacker.example', signingKey: bytes(32, 9) }] };
    expect(checkPartnership(ours, ejn.publicKey, altered, verifySignature)).toMatchObject({ reason: 'bad-signature' });
  });

  it('not-mutual: their manifest does not name us, or names us with another root key', () => {
    const message = 'the manifest of "casc" does not name "ejn" with our root key as a partner';
    for (const partners of [[], [{ networkId: 'ejn', rootKey: impostor.publicKey }]]) {
      expect(checkPartnership(ours, ejn.publicKey, cascManifest(casc, partners), verifySignature)).toEqual({
        ok: false,
        reason: 'not-mutual',
        message,
      });
    }
  });
});
