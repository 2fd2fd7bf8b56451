import { encodeBase64url } from '@liaison/protocol';
import { describe, expect, it } from 'vitest';
import { RelayError } from '../errors.js';
import { randomBytes, readySodium, signDetached, signingKeyPair, verifySignature } from '../sodium.js';
import {
  contentDigest,
  signatureBase,
  signatureParams,
  signRequest,
  verifyRequest,
  verifyRequestBody,
  verifyRequestHeaders,
} from './http-signature.js';

// Before the describe blocks are collected: one of them makes its key pair there.
await readySodium();

const utf8 = (text: string) => new TextEncoder().encode(text);

/**
 * RFC 9421 Appendix B.1.4, the Ed25519 test key, as its PEM bodies: PKCS#8 (the seed is the last
 * 32 bytes) and SubjectPublicKeyInfo (the public key is the last 32 bytes).
 */
const RFC_PRIVATE_KEY_DER = 'MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF';
const RFC_PUBLIC_KEY_DER = 'MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=';
const rfcSeed = () => Buffer.from(RFC_PRIVATE_KEY_DER, 'base64').subarray(-32);
const rfcPublicKey = () => Buffer.from(RFC_PUBLIC_KEY_DER, 'base64').subarray(-32);

/** RFC 9421 Appendix B.2.6: the request, its signature base, and the signature the RFC gives. */
const B26 = {
  components: [
    ['date', 'Tue, 20 Apr 2021 02:07:55 GMT'],
    ['@method', 'POST'],
    ['@path', '/foo'],
    ['@authority', 'example.com'],
    ['content-type', 'application/json'],
    ['content-length', '18'],
  ] as const,
  params: { created: 1618884473, keyid: 'test-key-ed25519' },
  signatureInput:
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
  base: [
    '"date": Tue, 20 Apr 2021 02:07:55 GMT',
    '"@method": POST',
    '"@path": /foo',
    '"@authority": example.com',
    '"content-type": application/json',
    '"content-length": 18',
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
  ].join('\n'),
  signature: 'wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==',
};

describe('RFC 9421 known answers', () => {
  it('B.1.4: the seed of the test key makes its public key', () => {
    expect(signingKeyPair(rfcSeed()).publicKey).toEqual(new Uint8Array(rfcPublicKey()));
  });

  it('B.2.6: the signature parameters and the signature base, byte for byte', () => {
    const params = signatureParams(
      B26.components.map(([name]) => name),
      B26.params,
    );
    expect(`sig-b26=${params}`).toBe(B26.signatureInput);
    expect(signatureBase(B26.components, params)).toBe(B26.base);
  });

  it("B.2.6: the RFC's signature verifies over that base, and signing it again gives the same bytes", () => {
    const signature = Buffer.from(B26.signature, 'base64');
    expect(verifySignature(rfcPublicKey(), utf8(B26.base), signature)).toBe(true);
    // Ed25519 is deterministic: the RFC's private key signs the base to exactly the RFC's value.
    const { privateKey } = signingKeyPair(rfcSeed());
    expect(Buffer.from(signDetached(privateKey, utf8(B26.base))).toString('base64')).toBe(B26.signature);
    // And one byte changed in the base is not signed by it.
    expect(verifySignature(rfcPublicKey(), utf8(B26.base.replace('/foo', '/fop')), signature)).toBe(false);
  });

  it('RFC 9530: the Content-Digest of the example body, and of an empty one', () => {
    expect(contentDigest(utf8('{"hello": "world"}'))).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
    expect(contentDigest(new Uint8Array())).toBe('sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
  });
});

describe('signRequest and verifyRequest', () => {
  const relay = signingKeyPair(randomBytes(32));
  const keyid = encodeBase64url(relay.publicKey);
  const partnerKeys = (id: string) => (id === keyid ? relay.publicKey : undefined);
  const request = {
    method: 'POST',
    targetUri: 'https://relay.casc.example/v1/federation/forward',
    body: utf8('{"items":[]}'),
  };
  const created = 1_790_000_000;
  const nonce = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const headers = signRequest(relay, request, { created, nonce });
  const asReceived = (h: Record<string, string | undefined> = headers) => ({
    contentDigest: h['content-digest'],
    signatureInput: h['signature-input'],
    signature: h.signature,
  });

  /** The RelayError code a verification throws, or 'accepted'. */
  function outcome(
    changes: Partial<typeof request> = {},
    received = asReceived(),
    keyFor: (id: string) => Uint8Array | undefined = partnerKeys,
  ): string {
    try {
      verifyRequest({ ...request, ...changes, headers: received }, keyFor);
      return 'accepted';
    } catch (error) {
      if (error instanceof RelayError) return error.code;
      throw error;
    }
  }

  it('signs the method, the target URI and the body digest, and gives back the parameters', () => {
    expect(headers).toEqual({
      'content-digest': contentDigest(request.body),
      'signature-input': `liaison=("@method" "@target-uri" "content-digest");created=${created};keyid="${keyid}";nonce="${encodeBase64url(nonce)}";tag="liaison-federation"`,
      signature: expect.stringMatching(/^liaison=:[A-Za-z0-9+/]{86}==:$/),
    });
    expect(verifyRequest({ ...request, headers: asReceived() }, partnerKeys)).toEqual({
      created,
      keyid,
      nonce: encodeBase64url(nonce),
    });
  });

  it('refuses a body other than the one signed, even with its own digest', () => {
    expect(outcome({ body: utf8('{"items":[1]}') })).toBe('BAD_SIGNATURE');
    const recomputed = { ...headers, 'content-digest': contentDigest(utf8('{"items":[1]}')) };
    expect(outcome({ body: utf8('{"items":[1]}') }, asReceived(recomputed))).toBe('BAD_SIGNATURE');
  });

  it('refuses the request at another target URI, or with another method', () => {
    expect(outcome({ targetUri: 'https://relay.wacap.example/v1/federation/forward' })).toBe('BAD_SIGNATURE');
    expect(outcome({ targetUri: 'https://relay.casc.example/v1/federation/forward?again' })).toBe('BAD_SIGNATURE');
    expect(outcome({ method: 'PUT' })).toBe('BAD_SIGNATURE');
  });

  it('refuses a key no partner relay holds, and a signature by another key than its keyid names', () => {
    expect(outcome({}, asReceived(), () => undefined)).toBe('FORBIDDEN');
    const other = signingKeyPair(randomBytes(32));
    const byOther = signRequest(other, request, { created, nonce });
    // The other key's signature, presented under the partner relay's keyid.
    const forged = { ...headers, signature: byOther.signature };
    expect(outcome({}, asReceived(forged))).toBe('BAD_SIGNATURE');
  });

  it('refuses parameters changed after signing', () => {
    const input = headers['signature-input'];
    const later = input.replace(`created=${created}`, `created=${created + 1}`);
    expect(outcome({}, asReceived({ ...headers, 'signature-input': later }))).toBe('BAD_SIGNATURE');
    const otherNonce = input.replace(encodeBase64url(nonce), encodeBase64url(new Uint8Array(16)));
    expect(outcome({}, asReceived({ ...headers, 'signature-input': otherNonce }))).toBe('BAD_SIGNATURE');
  });

  it('refuses missing or malformed headers as UNAUTHENTICATED, before looking up any key', () => {
    const input = headers['signature-input'];
    const malformed: Record<string, Record<string, string | undefined>> = {
      'no Signature': { ...headers, signature: undefined },
      'no Signature-Input': { ...headers, 'signature-input': undefined },
      'no Content-Digest': { ...headers, 'content-digest': undefined },
      'another label': { ...headers, 'signature-input': input.replace('liaison=', 'sig1=') },
      'components in another order': {
        ...headers,
        'signature-input': input.replace('"@method" "@target-uri"', '"@target-uri" "@method"'),
      },
      'a component left out': { ...headers, 'signature-input': input.replace(' "content-digest"', '') },
      'another tag': { ...headers, 'signature-input': input.replace('liaison-federation', 'other') },
      'an extra parameter': { ...headers, 'signature-input': `${input};alg="ed25519"` },
      'a second signature': { ...headers, signature: `${headers.signature}, ${headers.signature}` },
      'a short signature': { ...headers, signature: headers.signature.replace(/[A-Za-z0-9+/]{4}==:$/, '==:') },
      'a SHA-512 digest': {
        ...headers,
        'content-digest': `sha-512=:${Buffer.alloc(64).toString('base64')}:`,
      },
      'a nonce of another length': {
        ...headers,
        'signature-input': input.replace(encodeBase64url(nonce), encodeBase64url(new Uint8Array(32))),
      },
    };
    let lookedUp = false;
    for (const [what, received] of Object.entries(malformed)) {
      const code = outcome({}, asReceived(received), (id) => {
        lookedUp = true;
        return partnerKeys(id);
      });
      expect([what, code]).toEqual([what, 'UNAUTHENTICATED']);
    }
    expect(lookedUp).toBe(false);
  });

  it('establishes who signed from the headers alone, then checks the body once it is read', () => {
    // No body at hand: the signature covers the digest header, so it verifies without one.
    const signed = verifyRequestHeaders({ ...request, headers: asReceived() }, partnerKeys);
    expect(signed).toEqual({ created, keyid, nonce: encodeBase64url(nonce), contentDigest: headers['content-digest'] });
    expect(() => verifyRequestBody(signed, request.body)).not.toThrow();
    for (const body of [utf8('{"items":[1]}'), new Uint8Array(0)]) {
      expect(() => verifyRequestBody(signed, body)).toThrow(
        expect.objectContaining({ code: 'BAD_SIGNATURE', message: 'the body is not the one signed' }),
      );
    }
  });

  it('refuses from the headers alone what does not need the body to be refused', () => {
    const headersOnly = (received: ReturnType<typeof asReceived>, keyFor = partnerKeys) => {
      try {
        verifyRequestHeaders({ ...request, headers: received }, keyFor);
        return 'accepted';
      } catch (error) {
        return (error as RelayError).code;
      }
    };
    expect(headersOnly(asReceived({ ...headers, signature: undefined }))).toBe('UNAUTHENTICATED');
    expect(headersOnly(asReceived(), () => undefined)).toBe('FORBIDDEN');
    // Another key's signature under the partner's keyid, and a digest changed after signing.
    const byOther = signRequest(signingKeyPair(randomBytes(32)), request, { created, nonce });
    expect(headersOnly(asReceived({ ...headers, signature: byOther.signature }))).toBe('BAD_SIGNATURE');
    const otherDigest = { ...headers, 'content-digest': contentDigest(utf8('{"items":[1]}')) };
    expect(headersOnly(asReceived(otherDigest))).toBe('BAD_SIGNATURE');
  });

  it('refuses a nonce that is not canonical base64url as malformed too', () => {
    // 22 characters carry 132 bits; a canonical 16-byte nonce leaves the last 4 at zero.
    const canonical = encodeBase64url(nonce);
    const stray = `${canonical.slice(0, -1)}${canonical.at(-1) === 'B' ? 'C' : 'B'}`;
    const input = headers['signature-input'].replace(canonical, stray);
    expect(outcome({}, asReceived({ ...headers, 'signature-input': input }))).toBe('UNAUTHENTICATED');
  });
});
