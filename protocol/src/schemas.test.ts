import { describe, expect, it } from 'vitest';
import {
  authority,
  bytes,
  contactPoint,
  device,
  revocation,
  sendRequest,
  signedPrekey,
  T0,
} from './__fixtures__/statements.js';
import { AuthProof } from './auth.js';
import { AuthorityCertificate, ContactPointCertificate, DeviceCertificate, Revocation } from './certificates.js';
import { Envelope, EnvelopeAck, SendRequest } from './envelope.js';
import { ErrorBody } from './errors.js';
import { Availability, DirectoryQuery, RegisterDeviceRequest } from './http.js';
import { LIMITS } from './limits.js';
import { PrekeyBundle, PrekeyUpload, SignedPrekey } from './prekeys.js';

const accepts = (schema: { safeParse(v: unknown): { success: boolean } }, value: unknown) =>
  expect(schema.safeParse(value).success, JSON.stringify(value).slice(0, 200)).toBe(true);
const refuses = (schema: { safeParse(v: unknown): { success: boolean } }, value: unknown) =>
  expect(schema.safeParse(value).success, JSON.stringify(value).slice(0, 200)).toBe(false);

describe('certificate schemas', () => {
  it('accept well-formed certificates', () => {
    accepts(AuthorityCertificate, authority);
    accepts(ContactPointCertificate, contactPoint);
    accepts(DeviceCertificate, device);
    accepts(Revocation, revocation);
  });

  it('refuse unknown fields (strict), so nothing unsigned rides along', () => {
    refuses(AuthorityCertificate, { ...authority, admin: true });
    refuses(DeviceCertificate, JSON.parse(`{"__proto__": {"polluted": 1}, ${JSON.stringify(device).slice(1)}`));
  });

  it('refuse wrong types and missing fields', () => {
    refuses(AuthorityCertificate, { ...authority, notBefore: String(T0) });
    refuses(AuthorityCertificate, { ...authority, notAfter: 1.5 });
    refuses(AuthorityCertificate, { ...authority, notBefore: -1 });
    const { signature: _, ...unsigned } = authority;
    refuses(AuthorityCertificate, unsigned);
    refuses(ContactPointCertificate, { ...contactPoint, languages: 'en' });
  });

  it('refuse keys and signatures of the wrong length or spelling', () => {
    refuses(AuthorityCertificate, { ...authority, publicKey: bytes(31, 1) });
    refuses(AuthorityCertificate, { ...authority, publicKey: bytes(33, 1) });
    refuses(AuthorityCertificate, { ...authority, signature: bytes(63, 1) });
    // Same length, but a final character with non-zero trailing bits: not canonical.
    refuses(AuthorityCertificate, { ...authority, publicKey: `${authority.publicKey.slice(0, -1)}B` });
    refuses(AuthorityCertificate, { ...authority, publicKey: `${authority.publicKey.slice(0, -1)}=` });
  });

  it('refuse ids, countries and languages of the wrong shape', () => {
    refuses(AuthorityCertificate, { ...authority, authorityId: 'TH-OAG' });
    refuses(AuthorityCertificate, { ...authority, authorityId: '-th' });
    refuses(AuthorityCertificate, { ...authority, authorityId: 'a'.repeat(65) });
    refuses(AuthorityCertificate, { ...authority, country: 'th' });
    refuses(AuthorityCertificate, { ...authority, country: 'THA' });
    refuses(ContactPointCertificate, { ...contactPoint, languages: ['english'] });
    refuses(ContactPointCertificate, { ...contactPoint, competences: ['everything'] });
  });

  it('refuse text that could sign ambiguously or mislead', () => {
    refuses(AuthorityCertificate, { ...authority, name: 'Office\u0000of' });
    refuses(AuthorityCertificate, { ...authority, name: 'Office\nof' });
    refuses(AuthorityCertificate, { ...authority, name: 'bad \uD800 surrogate' });
    refuses(AuthorityCertificate, { ...authority, name: ' padded' });
    refuses(AuthorityCertificate, { ...authority, name: '' });
    refuses(AuthorityCertificate, { ...authority, name: 'x'.repeat(LIMITS.maxNameLength + 1) });
    accepts(AuthorityCertificate, { ...authority, name: 'Procuraduría General — 最高人民检察院 🇹🇭' });
  });

  it('refuse inverted validity windows', () => {
    refuses(AuthorityCertificate, { ...authority, notAfter: authority.notBefore });
    refuses(DeviceCertificate, { ...device, notAfter: device.notBefore - 1 });
  });

  it('refuse escalation chains that repeat, loop to themselves or run too long', () => {
    refuses(ContactPointCertificate, { ...contactPoint, escalationChain: ['a', 'a'] });
    refuses(ContactPointCertificate, { ...contactPoint, escalationChain: [contactPoint.contactPointId] });
    const long = Array.from({ length: LIMITS.maxEscalationChain + 1 }, (_, i) => `th-oag.d${i}`);
    refuses(ContactPointCertificate, { ...contactPoint, escalationChain: long });
    accepts(ContactPointCertificate, { ...contactPoint, escalationChain: [] });
  });

  it('refuse empty or repeated languages and competences', () => {
    refuses(ContactPointCertificate, { ...contactPoint, languages: [] });
    refuses(ContactPointCertificate, { ...contactPoint, competences: ['mla', 'mla'] });
  });
});

describe('prekey schemas', () => {
  it('accept an upload and a bundle with or without a one-time prekey', () => {
    const oneTime = { id: 1, publicKey: bytes(32, 20) };
    accepts(PrekeyUpload, { signedPrekey, oneTimePrekeys: [oneTime] });
    accepts(PrekeyUpload, { oneTimePrekeys: [] });
    accepts(PrekeyBundle, { device, signedPrekey, oneTimePrekey: oneTime });
    accepts(PrekeyBundle, { device, signedPrekey });
  });

  it('refuse oversize batches, repeated ids and out-of-range ids', () => {
    const many = Array.from({ length: LIMITS.maxOneTimePrekeysPerUpload + 1 }, (_, id) => ({
      id,
      publicKey: bytes(32, id),
    }));
    refuses(PrekeyUpload, { oneTimePrekeys: many });
    const key = { id: 1, publicKey: bytes(32, 1) };
    refuses(PrekeyUpload, { oneTimePrekeys: [key, key] });
    refuses(SignedPrekey, { ...signedPrekey, id: 2 ** 32 });
    refuses(SignedPrekey, { ...signedPrekey, id: -1 });
  });
});

describe('envelope schemas', () => {
  const urgent: SendRequest = {
    ...sendRequest,
    priority: 'urgent',
    acknowledgeWithinMs: 30 * 60 * 1000,
    envelopes: [
      { ...(sendRequest.envelopes[0] as SendRequest['envelopes'][0]), escalationLevel: 0 },
      { recipientDevice: bytes(32, 30), kind: 'prekey-message', ciphertext: bytes(50, 1), escalationLevel: 1 },
    ],
  };

  it('accept normal and urgent sends', () => {
    accepts(SendRequest, sendRequest);
    accepts(SendRequest, urgent);
  });

  it('tie acknowledgement times and escalation levels to urgency', () => {
    refuses(SendRequest, { ...urgent, acknowledgeWithinMs: undefined });
    refuses(SendRequest, { ...sendRequest, acknowledgeWithinMs: 60_000 });
    refuses(SendRequest, { ...urgent, priority: 'normal', acknowledgeWithinMs: undefined });
    refuses(SendRequest, { ...urgent, acknowledgeWithinMs: LIMITS.minAcknowledgeWithinMs - 1 });
    refuses(SendRequest, { ...urgent, acknowledgeWithinMs: LIMITS.maxAcknowledgeWithinMs + 1 });
    refuses(SendRequest, {
      ...urgent,
      envelopes: urgent.envelopes.map((e) => ({ ...e, escalationLevel: LIMITS.maxEscalationChain + 1 })),
    });
  });

  it('refuse two envelopes for one device, no envelopes, and a bad message id', () => {
    const one = sendRequest.envelopes[0];
    refuses(SendRequest, { ...sendRequest, envelopes: [one, one] });
    refuses(SendRequest, { ...sendRequest, envelopes: [] });
    refuses(SendRequest, { ...sendRequest, messageId: 'not-a-uuid' });
  });

  it('refuse ciphertext over the limit', () => {
    const envelope = { ...sendRequest.envelopes[0], ciphertext: bytes(LIMITS.maxCiphertextBytes + 1, 0) };
    refuses(SendRequest, { ...sendRequest, envelopes: [envelope] });
    const atLimit = { ...sendRequest.envelopes[0], ciphertext: bytes(LIMITS.maxCiphertextBytes, 0) };
    accepts(SendRequest, { ...sendRequest, envelopes: [atLimit] });
  });

  it('accept a delivered envelope and bounded ack batches', () => {
    const envelope = sendRequest.envelopes[0] as SendRequest['envelopes'][0];
    accepts(Envelope, {
      messageId: sendRequest.messageId,
      senderContactPoint: 'th-oag.somchai',
      senderDevice: device.deviceId,
      recipientDevice: envelope.recipientDevice,
      kind: envelope.kind,
      priority: 'normal',
      ciphertext: envelope.ciphertext,
      createdAt: T0,
      serverTime: T0 + 5,
      escalationLevel: 0,
    });
    refuses(EnvelopeAck, { messageIds: [] });
    refuses(EnvelopeAck, {
      messageIds: Array.from({ length: LIMITS.maxAcksPerBatch + 1 }, () => sendRequest.messageId),
    });
  });
});

describe('HTTP schemas', () => {
  it('accept a registration and refuse one with an extra field', () => {
    const registration = {
      chain: { authority, contactPoint, device },
      signedPrekey,
      oneTimePrekeys: [{ id: 1, publicKey: bytes(32, 1) }],
      proof: { deviceId: device.deviceId, nonce: bytes(32, 40), signature: bytes(64, 41) },
    };
    accepts(RegisterDeviceRequest, registration);
    refuses(RegisterDeviceRequest, { ...registration, role: 'admin' });
    refuses(AuthProof, { ...registration.proof, nonce: bytes(16, 1) });
  });

  it('read directory limits from the query string as plain digits and bound them', () => {
    expect(DirectoryQuery.parse({ country: 'VN', limit: '20' })).toEqual({ country: 'VN', limit: 20 });
    refuses(DirectoryQuery, { limit: String(LIMITS.maxDirectoryPage + 1) });
    refuses(DirectoryQuery, { limit: '-1' });
    refuses(DirectoryQuery, { sort: 'name' });
    for (const limit of ['', ' 5', '5\n', '1e1', '0x10', '05', '5.0']) refuses(DirectoryQuery, { limit });
    refuses(DirectoryQuery, { q: 'Somchai\u0000' });
    refuses(DirectoryQuery, { cursor: 'th-oag.a\u0085' });
  });

  it('name the subject of a revocation by its id: a slug or a device id', () => {
    accepts(Revocation, { ...revocation, subject: 'contact-point', subjectId: 'th-oag.somchai' });
    accepts(Revocation, { ...revocation, subject: 'device', subjectId: device.deviceId });
    for (const subjectId of ['th-oag.somchai\u0000', 'TH OAG', '', 'x'.repeat(65)]) {
      refuses(Revocation, { ...revocation, subjectId });
    }
  });

  it('keep delegate and until for "away"', () => {
    accepts(Availability, { status: 'away', delegate: 'th-oag.deputy', until: T0 });
    refuses(Availability, { status: 'available', delegate: 'th-oag.deputy' });
  });

  it('accept only known error codes', () => {
    accepts(ErrorBody, { error: 'DEVICE_MISMATCH', message: 'x', details: { missingDevices: [device.deviceId] } });
    refuses(ErrorBody, { error: 'SOMETHING_ELSE', message: 'x' });
  });
});
