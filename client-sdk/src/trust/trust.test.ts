import { encodeBase64url, LIMITS, type TrustedRoot } from '@liaison/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { NOW } from '../__fixtures__/devices.js';
import { network, valid, YEAR } from '../__fixtures__/network.js';
import { generateIdentityKeyPair } from '../crypto/keys.js';
import { ready } from '../crypto/sodium.js';
import { isLiaisonError, type LiaisonErrorCode } from '../errors.js';
import { certifyDevice, createNetworkRoot, designateContactPoint, issueAuthorityCertificate, revoke } from './issue.js';
import { type TrustAnchors, verifiedContactPoint, verifiedDevice, verifiedEscalationChain } from './verify.js';

beforeAll(ready);

function expectFailure(run: () => unknown, code: LiaisonErrorCode, message?: RegExp) {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(isLiaisonError(error) ? error.code : error).toBe(code);
  if (message && isLiaisonError(error)) expect(error.message).toMatch(message);
}

describe('certificate chains', () => {
  const seajust = () => network('seajust', 'TH', 'th-oag');
  const anchors = (...roots: TrustedRoot[]): TrustAnchors => ({ trustedRoots: roots });

  it('verify a valid chain and say which network designated the contact point', () => {
    const n = seajust();
    const verified = verifiedDevice(n, anchors(n.root), NOW);
    expect(verified.networkId).toBe('seajust');
    expect(verified.networkName).toBe('seajust network');
    expect(verified.authority.country).toBe('TH');
    expect(verified.device.deviceName).toBe('Office laptop');
  });

  it('verify a practitioner designated in two networks, by a client trusting both roots', () => {
    const a = network('seajust', 'TH', 'th-oag');
    const b = network('wacap', 'TH', 'th-oag');
    // The same person, same account key, designated by the same country's authority in a second network.
    const inB = b.designate(a.contactPoint.contactPointId, a.accountKeys);
    const trusted = anchors(a.root, b.root);
    expect(verifiedContactPoint(a, trusted, NOW).networkName).toBe('seajust network');
    expect(verifiedContactPoint({ authority: b.authority, contactPoint: inB }, trusted, NOW).networkName).toBe(
      'wacap network',
    );
    expectFailure(
      () => verifiedContactPoint({ authority: b.authority, contactPoint: inB }, anchors(a.root), NOW),
      'UNKNOWN_ROOT',
    );
  });

  it('UNKNOWN_ROOT: a network the client does not trust', () => {
    const n = seajust();
    const other = network('ejn', 'FR', 'fr-dacg');
    expectFailure(
      () => verifiedDevice(n, anchors(other.root), NOW),
      'UNKNOWN_ROOT',
      /"seajust" is not one this client trusts/,
    );
  });

  it('BAD_SIGNATURE: at each link, and for any field changed after signing', () => {
    const n = seajust();
    const trusted = anchors(n.root);
    expectFailure(
      () => verifiedDevice({ ...n, authority: { ...n.authority, name: 'Someone else' } }, trusted, NOW),
      'BAD_SIGNATURE',
    );
    expectFailure(
      () =>
        verifiedDevice(
          { ...n, contactPoint: { ...n.contactPoint, competences: ['mla', 'extradition'] } },
          trusted,
          NOW,
        ),
      'BAD_SIGNATURE',
    );
    expectFailure(
      () => verifiedDevice({ ...n, device: { ...n.device, deviceName: 'Attacker phone' } }, trusted, NOW),
      'BAD_SIGNATURE',
    );
    // A device signed by another account key than the designated one.
    const stranger = certifyDevice(generateIdentityKeyPair(), { ...n.device });
    expectFailure(() => verifiedDevice({ ...n, device: stranger }, trusted, NOW), 'BAD_SIGNATURE', /account key/);
  });

  it('EXPIRED and NOT_YET_VALID: at each link', () => {
    const n = seajust();
    const trusted = anchors(n.root);
    expectFailure(() => verifiedDevice(n, trusted, NOW + YEAR), 'EXPIRED', /authority "th-oag"/);
    // A verifier whose clock is behind the issuer's by up to the tolerated skew still accepts the chain.
    const notBefore = valid.notBefore;
    expect(verifiedDevice(n, trusted, notBefore - LIMITS.maxClockSkewMs).device.deviceId).toBe(n.device.deviceId);
    expectFailure(() => verifiedDevice(n, trusted, notBefore - LIMITS.maxClockSkewMs - 1), 'NOT_YET_VALID');
    const shortDesignation = n.designate('th-oag.temp', n.accountKeys);
    const expiringDevice = certifyDevice(n.accountKeys, { ...n.device, notAfter: NOW + 10 });
    expectFailure(
      () => verifiedDevice({ ...n, device: expiringDevice }, trusted, NOW + 10),
      'EXPIRED',
      /device "Office laptop"/,
    );
    const future = designateContactPoint(n.authorityKeys, {
      ...(({ signature: _, ...rest }) => rest)(shortDesignation),
      notBefore: NOW + LIMITS.maxClockSkewMs + 5000,
    });
    expectFailure(
      () => verifiedContactPoint({ authority: n.authority, contactPoint: future }, trusted, NOW),
      'NOT_YET_VALID',
    );
  });

  it('REVOKED: authority by its root, contact point by its authority, device by its account', () => {
    const n = seajust();
    const byRoot = revoke(n.rootKeys, {
      networkId: 'seajust',
      subject: 'authority',
      subjectId: 'th-oag',
      reason: 'key-compromise',
      revokedAt: NOW,
    });
    const byAuthority = revoke(n.authorityKeys, {
      networkId: 'seajust',
      subject: 'contact-point',
      subjectId: n.contactPoint.contactPointId,
      reason: 'left-post',
      revokedAt: NOW,
    });
    const byAccount = revoke(n.accountKeys, {
      networkId: 'seajust',
      subject: 'device',
      subjectId: n.device.deviceId,
      reason: 'key-compromise',
      revokedAt: NOW,
    });
    expectFailure(
      () => verifiedDevice(n, { trustedRoots: [n.root], revocations: [byRoot] }, NOW),
      'REVOKED',
      /authority/,
    );
    expectFailure(
      () => verifiedDevice(n, { trustedRoots: [n.root], revocations: [byAuthority] }, NOW),
      'REVOKED',
      /designation/,
    );
    expectFailure(
      () => verifiedDevice(n, { trustedRoots: [n.root], revocations: [byAccount] }, NOW),
      'REVOKED',
      /device/,
    );
  });

  it('ignores a revocation not signed by the issuer above the subject', () => {
    const n = seajust();
    // The relay, or anyone, cannot revoke a designation: only the authority can.
    const forged = revoke(generateIdentityKeyPair(), {
      networkId: 'seajust',
      subject: 'contact-point',
      subjectId: n.contactPoint.contactPointId,
      reason: 'other',
      revokedAt: NOW,
    });
    const claimed = { ...forged, issuerKey: n.authority.publicKey };
    expect(verifiedDevice(n, { trustedRoots: [n.root], revocations: [forged, claimed] }, NOW).device).toEqual(n.device);
    // A device revocation by the authority (not the account key) does not count either.
    const wrongLevel = revoke(n.authorityKeys, {
      networkId: 'seajust',
      subject: 'device',
      subjectId: n.device.deviceId,
      reason: 'other',
      revokedAt: NOW,
    });
    expect(verifiedDevice(n, { trustedRoots: [n.root], revocations: [wrongLevel] }, NOW).device).toEqual(n.device);
  });

  it('CHAIN_MISMATCH: a designation of another authority, a device of another contact point', () => {
    const n = seajust();
    const other = network('seajust', 'VN', 'vn-spp');
    expectFailure(
      () => verifiedDevice({ ...n, contactPoint: other.contactPoint }, anchors(n.root, other.root), NOW),
      'CHAIN_MISMATCH',
    );
    const colleague = n.designate('th-oag.deputy', n.accountKeys);
    expectFailure(
      () => verifiedDevice({ ...n, contactPoint: colleague }, anchors(n.root), NOW),
      'CHAIN_MISMATCH',
      /belongs to/,
    );
  });

  it('accepts an escalation chain of the same authority, and refuses one that leaves it', () => {
    const n = seajust();
    const deputy = n.designate('th-oag.deputy', generateIdentityKeyPair());
    const desk = n.designate('th-oag.duty-desk', generateIdentityKeyPair());
    const head = n.designate('th-oag.head', generateIdentityKeyPair(), {
      escalationChain: ['th-oag.deputy', 'th-oag.duty-desk'],
    });
    const trusted = anchors(n.root);
    const verifiedHead = verifiedContactPoint({ authority: n.authority, contactPoint: head }, trusted, NOW);
    const members = [deputy, desk].map((contactPoint) => ({ authority: n.authority, contactPoint }));
    expect(verifiedEscalationChain(verifiedHead, members, trusted, NOW)).toHaveLength(2);

    // Another authority designates a contact point with the same id: it is not this authority's deputy.
    const elsewhere = network('seajust', 'VN', 'vn-spp');
    const impostor = elsewhere.designate('th-oag.deputy', generateIdentityKeyPair());
    const mixed = [{ authority: elsewhere.authority, contactPoint: impostor }, members[1] as (typeof members)[0]];
    expectFailure(
      () => verifiedEscalationChain(verifiedHead, mixed, anchors(n.root, elsewhere.root), NOW),
      'CHAIN_MISMATCH',
      /another authority/,
    );
    expectFailure(
      () => verifiedEscalationChain(verifiedHead, [members[1] as (typeof members)[0]], trusted, NOW),
      'CHAIN_MISMATCH',
    );
  });

  it('rejects a chain forged by an attacker who controls the relay: own root, own authority, copied names', () => {
    const real = seajust();
    // The attacker copies every public field and re-signs with keys of its own.
    const attacker = createNetworkRoot('seajust', real.root.name);
    const attackerAuthority = generateIdentityKeyPair();
    const attackerAccount = generateIdentityKeyPair();
    const strip = <T extends { signature: string }>({ signature: _, ...rest }: T) => rest;
    const authority = issueAuthorityCertificate(attacker.keyPair, {
      ...strip(real.authority),
      publicKey: encodeBase64url(attackerAuthority.publicKey),
    });
    const contactPoint = designateContactPoint(attackerAuthority, {
      ...strip(real.contactPoint),
      accountKey: encodeBase64url(attackerAccount.publicKey),
    });
    const device = certifyDevice(attackerAccount, {
      ...strip(real.device),
      deviceId: encodeBase64url(generateIdentityKeyPair().publicKey),
    });
    expectFailure(
      () => verifiedDevice({ authority, contactPoint, device }, anchors(real.root), NOW),
      'BAD_SIGNATURE',
      /not signed by the root/,
    );
    // Keeping the real authority certificate but substituting the designation fails one link lower.
    expectFailure(
      () => verifiedDevice({ authority: real.authority, contactPoint, device }, anchors(real.root), NOW),
      'BAD_SIGNATURE',
      /designation/,
    );
    // Under a network id of its own, the forged root is simply unknown.
    const elsewhere = createNetworkRoot('seajust-official', real.root.name);
    const relabelled = issueAuthorityCertificate(elsewhere.keyPair, {
      ...strip(authority),
      networkId: 'seajust-official',
    });
    expectFailure(
      () => verifiedContactPoint({ authority: relabelled, contactPoint }, anchors(real.root), NOW),
      'UNKNOWN_ROOT',
    );
  });

  it('refuses to issue a statement its schema would refuse', () => {
    const n = seajust();
    expectFailure(() => certifyDevice(n.accountKeys, { ...n.device, deviceName: ' padded ' }), 'INVALID_INPUT');
    expectFailure(() => createNetworkRoot('Not A Slug', 'x'), 'INVALID_INPUT');
  });
});
