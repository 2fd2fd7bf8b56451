import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  authority,
  bytes,
  contactPoint,
  device,
  kemPrekey,
  revocation,
  signedPrekey,
  T0,
} from './__fixtures__/statements.js';
import {
  encodeAuthChallenge,
  encodeAuthorityCertificate,
  encodeContactPointCertificate,
  encodeDeviceCertificate,
  encodeKemPrekey,
  encodeRevocation,
  encodeRoomStatement,
  encodeSignedPrekey,
  encodeWebhookRegistration,
} from './canonical.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Fixed vectors, assembled independently of this code from the layout documented in canonical.ts.
// A change here breaks every signature ever issued: bump PROTOCOL_VERSION instead.
const VECTORS = {
  authorityCertificate:
    '4c494149534f4e0101000000077365616a7573740000000674682d6f6167000000025448000000284f6666696365206f6620746865204174746f726e65792047656e6572616c2c20546861696c616e64000000200102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20000001a0c4506c00000001a81c019800',
  contactPointCertificate:
    '4c494149534f4e0102000000077365616a7573740000000674682d6f61670000000e74682d6f61672e736f6d6368616900000006706572736f6e0000000f536f6d636861692050726173657274000000115075626c69632050726f73656375746f720000000200000002746800000002656e00000002000000036d6c610000000b6578747261646974696f6e0000000c417369612f42616e676b6f6b00000020030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122000000020000000d74682d6f61672e6465707574790000001074682d6f61672e647574792d6465736b000001a0c4506c00000001a81c019800',
  deviceCertificate:
    '4c494149534f4e01030000000e74682d6f61672e736f6d636861690000002005060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223240000000d4f6666696365206c6170746f70000001a0c4506c00000001a81c019800',
  revocation:
    '4c494149534f4e0104000000077365616a757374000000066465766963650000002b4251594843416b4b4377774e4467385145524954464255574678675a47687363485234664943456949795100000020030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021220000000e6b65792d636f6d70726f6d697365000001a0c4506fe8',
  signedPrekey:
    '4c494149534f4e010500000000000000070000002008090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627000001a0c4506c00',
  authChallenge:
    '4c494149534f4e010600000006736f636b65740000002028292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f4041424344454647000001a0c4506c000000001568747470733a2f2f72656c61792e6578616d706c650000002005060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324',
};

const challenge = {
  purpose: 'socket' as const,
  nonce: bytes(32, 40),
  issuedAt: T0,
  origin: 'https://relay.example',
  deviceId: device.deviceId,
};

// Room statements (tag 9), assembled the same way: room id, parents, author, device, time, op and its fields.
const ROOM = '6f1c2b3a-0e4d-4c6b-9a1f-3d2e5b7c8a90';
const ROOM_VECTORS = {
  add: '4c494149534f4e01090000002436663163326233612d306534642d346336622d396131662d336432653562376338613930000000020000002032333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f5051000000205a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778790000000e74682d6f61672e736f6d636861690000002005060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324000001a0c4506c00000000036164640000000a766e2d7370702e6c616e000000066d656d626572',
  create:
    '4c494149534f4e01090000002436663163326233612d306534642d346336622d396131662d336432653562376338613930000000000000000e74682d6f61672e736f6d636861690000002005060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324000001a0c4506c00000000066372656174650000001ac389717569706520636f6d6d756e6520e28094204d656b6f6e67010000000c4a49542d323032362d303134000000020000000e74682d6f61672e736f6d636861690000000561646d696e0000000a766e2d7370702e6c616e000000066d656d626572',
  rename:
    '4c494149534f4e01090000002436663163326233612d306534642d346336622d396131662d336432653562376338613930000000010000002032333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f50510000000e74682d6f61672e736f6d636861690000002005060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324000001a0c4506c010000000672656e616d65000000075068617365203200',
  leave:
    '4c494149534f4e01090000002436663163326233612d306534642d346336622d396131662d336432653562376338613930000000010000002032333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f50510000000a766e2d7370702e6c616e000000200708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526000001a0c4506c02000000056c65617665',
};

describe('canonical encoding of room statements', () => {
  const by = { roomId: ROOM, author: 'th-oag.somchai', authorDevice: device.deviceId, createdAt: T0 };
  it('matches the committed vectors for each kind of change', () => {
    expect(
      hex(
        encodeRoomStatement({
          ...by,
          parents: [bytes(32, 50), bytes(32, 90)],
          change: { op: 'add', contactPointId: 'vn-spp.lan', role: 'member' },
        }),
      ),
    ).toBe(ROOM_VECTORS.add);
    expect(
      hex(
        encodeRoomStatement({
          ...by,
          parents: [],
          change: {
            op: 'create',
            title: 'Équipe commune — Mekong',
            caseReference: 'JIT-2026-014',
            members: [
              { contactPointId: 'th-oag.somchai', role: 'admin' },
              { contactPointId: 'vn-spp.lan', role: 'member' },
            ],
          },
        }),
      ),
    ).toBe(ROOM_VECTORS.create);
    expect(
      hex(
        encodeRoomStatement({
          ...by,
          parents: [bytes(32, 50)],
          createdAt: T0 + 1,
          change: { op: 'rename', title: 'Phase 2' },
        }),
      ),
    ).toBe(ROOM_VECTORS.rename);
    expect(
      hex(
        encodeRoomStatement({
          roomId: ROOM,
          author: 'vn-spp.lan',
          authorDevice: bytes(32, 7),
          createdAt: T0 + 2,
          parents: [bytes(32, 50)],
          change: { op: 'leave' },
        }),
      ),
    ).toBe(ROOM_VECTORS.leave);
  });

  it('tells an absent case reference from an empty one, and parents in another order apart', () => {
    const rename = { ...by, parents: [bytes(32, 50)], change: { op: 'rename' as const, title: 'Phase 2' } };
    expect(hex(encodeRoomStatement(rename))).not.toBe(
      hex(encodeRoomStatement({ ...rename, change: { ...rename.change, caseReference: 'X' } })),
    );
    const two = { ...by, change: { op: 'remove' as const, contactPointId: 'vn-spp.lan' } };
    expect(hex(encodeRoomStatement({ ...two, parents: [bytes(32, 1), bytes(32, 2)] }))).not.toBe(
      hex(encodeRoomStatement({ ...two, parents: [bytes(32, 2), bytes(32, 1)] })),
    );
  });
});

describe('canonical encoding', () => {
  it('matches the committed vectors for every statement kind', () => {
    expect(hex(encodeAuthorityCertificate(authority))).toBe(VECTORS.authorityCertificate);
    expect(hex(encodeContactPointCertificate(contactPoint))).toBe(VECTORS.contactPointCertificate);
    expect(hex(encodeDeviceCertificate(device))).toBe(VECTORS.deviceCertificate);
    expect(hex(encodeRevocation(revocation))).toBe(VECTORS.revocation);
    expect(hex(encodeSignedPrekey(signedPrekey))).toBe(VECTORS.signedPrekey);
    expect(hex(encodeAuthChallenge(challenge))).toBe(VECTORS.authChallenge);
  });

  it('ignores the signature and the order of object keys', () => {
    const reordered = Object.fromEntries(Object.entries(authority).reverse()) as typeof authority;
    expect(encodeAuthorityCertificate({ ...reordered, signature: bytes(64, 99) } as typeof authority)).toEqual(
      encodeAuthorityCertificate(authority),
    );
  });

  it('keeps fields apart: moving a character across a boundary changes the bytes', () => {
    const a = encodeDeviceCertificate({ ...device, contactPointId: 'ab', deviceName: 'c' });
    const b = encodeDeviceCertificate({ ...device, contactPointId: 'a', deviceName: 'bc' });
    expect(hex(a)).not.toBe(hex(b));
  });

  it('keeps list items apart: ["a,b"] and ["a","b"] differ', () => {
    const one = encodeContactPointCertificate({ ...contactPoint, escalationChain: ['a,b'] });
    const two = encodeContactPointCertificate({ ...contactPoint, escalationChain: ['a', 'b'] });
    expect(hex(one)).not.toBe(hex(two));
  });

  it('separates statement kinds by tag', () => {
    const tags = [
      encodeAuthorityCertificate(authority),
      encodeContactPointCertificate(contactPoint),
      encodeDeviceCertificate(device),
      encodeRevocation(revocation),
      encodeSignedPrekey(signedPrekey),
      encodeAuthChallenge(challenge),
      encodeKemPrekey(kemPrekey),
    ].map((b) => b[8]);
    expect(new Set(tags).size).toBe(7);
  });

  it('encodes a device certificate with capabilities after its other fields, and one without as before', () => {
    // Assembled independently (Python struct): the same bytes as VECTORS.deviceCertificate, then a list of one string.
    expect(hex(encodeDeviceCertificate({ ...device, capabilities: ['pq-hybrid'] }))).toBe(
      `${VECTORS.deviceCertificate}000000010000000970712d687962726964`,
    );
  });

  it('encodes a KEM prekey with its key type and its role, as the layout says', () => {
    // Assembled independently (Python struct): tag 8 | id u64 | "ml-kem-768" | last resort u8 | key (1,184 bytes) | createdAt.
    const encoded = encodeKemPrekey(kemPrekey);
    expect(encoded.length).toBe(1228);
    expect(hex(encoded.slice(0, 60))).toBe(
      '4c494149534f4e010800000000000000070000000a6d6c2d6b656d2d37363801000004a00c0d0e0f101112131415161718191a1b1c1d1e1f20212223',
    );
    expect(createHash('sha256').update(encoded).digest('hex')).toBe(
      'fce1de60d31fdc0d2ef7747b6f72d30ed10680f63a8e5e261c257a4f349899df',
    );
    expect(hex(encodeKemPrekey({ ...kemPrekey, lastResort: false }))).not.toBe(hex(encoded));
    expect(() => encodeKemPrekey({ ...kemPrekey, keyType: 'x25519' as 'ml-kem-768' })).toThrow();
  });

  it('encodes a webhook registration, with its URL and without (the removal), as the layout says', () => {
    // Assembled independently (Python struct) from the layout: tag 7, optional URL as u8 flag + string.
    const registration = {
      networkId: 'seajust',
      authorityId: 'th-oag',
      url: 'https://alerts.th-oag.example/liaison',
      secret: bytes(32, 9),
      issuedAt: T0,
    };
    expect(hex(encodeWebhookRegistration(registration))).toBe(
      '4c494149534f4e0107000000077365616a7573740000000674682d6f6167010000002568747470733a2f2f616c657274732e74682d6f61672e6578616d706c652f6c696169736f6e00000020090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728000001a0c4506c00',
    );
    const { url: _, ...removal } = registration;
    expect(hex(encodeWebhookRegistration(removal))).toBe(
      '4c494149534f4e0107000000077365616a7573740000000674682d6f61670000000020090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728000001a0c4506c00',
    );
  });

  it('refuses values it cannot encode unambiguously', () => {
    expect(() => encodeAuthorityCertificate({ ...authority, publicKey: 'not base64!' })).toThrow();
    expect(() => encodeAuthorityCertificate({ ...authority, notAfter: 2 ** 53 })).toThrow();
    expect(() => encodeAuthorityCertificate({ ...authority, notAfter: 1.5 })).toThrow();
  });
});
