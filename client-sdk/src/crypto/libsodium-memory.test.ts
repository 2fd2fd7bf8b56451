import { beforeAll, describe, expect, it } from 'vitest';
import type { LiaisonError } from '../errors.js';
import { hkdfSha256, hmacSha256Each } from './hkdf.js';
import { generateKeyPair } from './keys.js';
import { decodeHeader, initiatorState, ratchetDecrypt, ratchetEncrypt, responderState } from './ratchet.js';
import { inLibsodiumMemory, type LibsodiumExports, ready, sodium } from './sodium.js';

// The SDK's calls into libsodium's WebAssembly module (inLibsodiumMemory): what passes through its
// memory is wiped before it is freed, whatever happens, and no size or length it is given can make
// it write outside what it took. After /work/review/raw-exports8.md.

beforeAll(ready);
const exported = () => (sodium() as unknown as { libsodium: LibsodiumExports }).libsodium;

/** Runs `work` watching the stretches inLibsodiumMemory takes: which are freed, and which still held a non-zero byte when freed. */
function watchStretches<T>(work: () => T) {
  const module = exported();
  const { _malloc: malloc, _free: free } = module;
  const taken = new Map<number, number>();
  const notWiped: number[] = [];
  // Only the SDK's own stretches: libsodium.js's wrappers free without wiping, as they always did.
  module._malloc = (size) => {
    const at = malloc(size);
    if (new Error().stack?.includes('inLibsodiumMemory')) taken.set(at, size);
    return at;
  };
  module._free = (at) => {
    const size = taken.get(at);
    if (size !== undefined && module.HEAPU8.subarray(at, at + size).some((byte) => byte !== 0)) notWiped.push(at);
    taken.delete(at);
    free(at);
  };
  try {
    return { result: work(), leftTaken: taken.size, notWiped };
  } finally {
    module._malloc = malloc;
    module._free = free;
  }
}

const sessionPair = () => {
  const shared = new Uint8Array(32).fill(3);
  const prekey = generateKeyPair();
  return { alice: initiatorState(shared, prekey.publicKey), bob: responderState(shared, prekey) };
};
const failedToDecrypt = expect.objectContaining({ code: 'DECRYPT_FAILED' }) as LiaisonError;

describe("libsodium's memory, as the SDK uses it", () => {
  it('is wiped and freed after sealing, after a message that fails authentication, and after an exception', () => {
    const { alice, bob } = sessionPair();
    const sent = watchStretches(() => ratchetEncrypt(alice, new TextEncoder().encode('secret'), (h) => h));
    expect(sent).toMatchObject({ leftTaken: 0, notWiped: [] });
    const { header, ciphertext } = sent.result;
    const forged = ciphertext.slice();
    forged[0] = (forged[0] as number) ^ 1;
    const failed = watchStretches(() =>
      expect(() => ratchetDecrypt(bob, decodeHeader(header), forged, header)).toThrowError(failedToDecrypt),
    );
    expect(failed).toMatchObject({ leftTaken: 0, notWiped: [] });
    const thrown = watchStretches(() =>
      expect(() =>
        inLibsodiumMemory(8, (stretch) => {
          stretch.put(Uint8Array.of(1, 2, 3));
          throw new Error('boom');
        }),
      ).toThrow('boom'),
    );
    expect(thrown).toMatchObject({ leftTaken: 0, notWiped: [] });
  });

  it('holds when the memory grows inside the allocation (its buffer is read again after it)', () => {
    const { alice, bob } = sessionPair();
    const large = new Uint8Array(exported().HEAPU8.length + 1).map((_, i) => i * 7);
    const before = exported().HEAPU8.buffer;
    const { header, ciphertext } = ratchetEncrypt(alice, large, (h) => h);
    expect(exported().HEAPU8.buffer).not.toBe(before);
    const { plaintext } = ratchetDecrypt(bob, decodeHeader(header), ciphertext, header);
    expect(Buffer.from(plaintext).equals(Buffer.from(large))).toBe(true);
  });

  it('seals an empty message under empty associated data to the tag alone, and opens it', () => {
    const { alice, bob } = sessionPair();
    const { header, ciphertext } = ratchetEncrypt(alice, new Uint8Array(0), () => new Uint8Array(0));
    expect(ciphertext).toHaveLength(16);
    expect(ratchetDecrypt(bob, decodeHeader(header), ciphertext, new Uint8Array(0)).plaintext).toHaveLength(0);
  });

  it('refuses a ciphertext shorter than the tag as a failed decryption', () => {
    const { alice, bob } = sessionPair();
    const { header } = ratchetEncrypt(alice, new Uint8Array(1), (h) => h);
    for (const length of [0, 1, 15]) {
      expect(() => ratchetDecrypt(bob, decodeHeader(header), new Uint8Array(length), header)).toThrowError(
        failedToDecrypt,
      );
    }
  });

  it('refuses a size it could not take whole, before asking libsodium for it', () => {
    // _malloc takes its size modulo 2^32: 2^32 + 64 would be 64 bytes, written and wiped as more.
    for (const size of [2 ** 32 + 64, 2 ** 31, -1, 1.5, Number.NaN]) {
      expect(() => inLibsodiumMemory(size, () => 0)).toThrow(RangeError);
    }
    expect(() => inLibsodiumMemory(8, (stretch) => stretch.put(new Uint8Array(9)))).toThrow(RangeError);
    expect(() => inLibsodiumMemory(8, (stretch) => stretch.read(stretch.reserve(8), 9))).toThrow(RangeError);
  });

  it('refuses an HKDF length that is not a whole number of bytes', () => {
    for (const length of [Number.NaN, 1.5]) {
      expect(() => hkdfSha256(new Uint8Array(1), new Uint8Array(0), new Uint8Array(0), length)).toThrow(RangeError);
    }
  });

  it('makes no HMAC of no message', () => {
    expect(hmacSha256Each(new Uint8Array(32), [])).toEqual([]);
  });
});
