import { decodeBase64url, encodeBase64url } from '@liaison/protocol';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isLiaisonError } from '../errors.js';
import { CLI_WRITTEN_KEY } from './__fixtures__/cli-written-key.js';
import { MAX_KEY_FILE_ARGON2, openKeyFile, publicKeyFile, sealKeyFile } from './key-file.js';
import { generateIdentityKeyPair } from './keys.js';
import { ready, sodium } from './sodium.js';

beforeAll(ready);
afterEach(() => {
  vi.restoreAllMocks();
});

const PASSPHRASE = 'correct horse battery staple';

/** The code (and message) a call is refused with. */
function refusal(work: () => unknown): { code: string; message: string } {
  try {
    work();
  } catch (error) {
    if (isLiaisonError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

/** Another value of the same length and alphabet: the first character changed. */
const flip = (text: string) => `${text[0] === 'A' ? 'B' : 'A'}${text.slice(1)}`;

describe('key files', () => {
  let keyPair: ReturnType<typeof generateIdentityKeyPair>;
  let text: string;
  beforeAll(() => {
    keyPair = generateIdentityKeyPair();
    text = sealKeyFile(keyPair, PASSPHRASE);
  });
  const edited = (change: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(text), ...change });

  it('open with their passphrase to the key pair they were sealed from, the private key nowhere in clear', () => {
    const opened = openKeyFile(text, PASSPHRASE);
    expect(opened.publicKey).toEqual(keyPair.publicKey);
    expect(opened.privateKey).toEqual(keyPair.privateKey);
    expect(JSON.parse(text)).toMatchObject({ liaisonKey: 1, publicKey: encodeBase64url(keyPair.publicKey) });
    expect(text).not.toContain(encodeBase64url(keyPair.privateKey));
    expect(text).not.toContain(encodeBase64url(keyPair.privateKey.subarray(0, 32)));
  });

  it('open a file the CLI wrote', () => {
    const opened = openKeyFile(CLI_WRITTEN_KEY.text, CLI_WRITTEN_KEY.passphrase);
    expect(encodeBase64url(opened.publicKey)).toBe(CLI_WRITTEN_KEY.publicKey);
    const s = sodium();
    expect(s.crypto_sign_ed25519_sk_to_pk(opened.privateKey)).toEqual(opened.publicKey);
  });

  it('refuse a wrong passphrase with KEY_STORE_LOCKED', () => {
    expect(refusal(() => openKeyFile(text, 'correct horse battery stapler'))).toEqual({
      code: 'KEY_STORE_LOCKED',
      message: 'wrong passphrase for the key file (or the file was altered)',
    });
    expect(refusal(() => openKeyFile(text, '')).code).toBe('KEY_STORE_LOCKED');
  });

  it.each(['publicKey', 'salt', 'nonce', 'sealed'])('do not open once %s is altered (KEY_STORE_LOCKED)', (field) => {
    const value = (JSON.parse(text) as Record<string, string>)[field] as string;
    expect(refusal(() => openKeyFile(edited({ [field]: flip(value) }), PASSPHRASE)).code).toBe('KEY_STORE_LOCKED');
  });

  it.each([
    ['opsLimit', 4],
    ['memLimit', 32 * 1024 * 1024],
  ])('do not open once %s is altered to another allowed cost (KEY_STORE_LOCKED)', (field, value) => {
    expect(refusal(() => openKeyFile(edited({ [field]: value }), PASSPHRASE)).code).toBe('KEY_STORE_LOCKED');
  });

  it('refuse a cost out of range before deriving anything, so a hostile file allocates nothing', () => {
    const derive = vi.spyOn(sodium(), 'crypto_pwhash');
    for (const change of [
      { memLimit: 1024 * 1024 * 1024 },
      { memLimit: MAX_KEY_FILE_ARGON2.memLimit + 1024 },
      { memLimit: 4096 },
      { opsLimit: MAX_KEY_FILE_ARGON2.opsLimit + 1 },
      { opsLimit: 0 },
      { opsLimit: 2.5 },
      { opsLimit: '3' },
      { memLimit: null },
    ]) {
      const { code, message } = refusal(() => openKeyFile(edited(change), PASSPHRASE));
      expect(code).toBe('INVALID_INPUT');
      expect(message).toContain('out of range');
    }
    expect(derive).not.toHaveBeenCalled();
    // The spy does watch the derivation a file in range makes.
    openKeyFile(text, PASSPHRASE);
    expect(derive).toHaveBeenCalledTimes(1);
  });

  it('refuse what is not a key file with INVALID_INPUT, saying so', () => {
    const cases = [
      publicKeyFile(keyPair.publicKey),
      '{"networkId":"ejn","name":"EJN","publicKey":"AR7JvexNUUCeolnV64o5gvwo8Ej80KIQEySfAoNsD3s"}',
      'null',
      '[]',
      '',
      edited({ liaisonKey: 2 }),
      `${text}${' '.repeat(5000)}`,
    ];
    for (const junk of cases) {
      expect(refusal(() => openKeyFile(junk, PASSPHRASE))).toEqual({
        code: 'INVALID_INPUT',
        message: 'not a Liaison private key file (.key); did you pass a .pub or certificate file?',
      });
    }
    for (const field of ['publicKey', 'salt', 'nonce', 'sealed']) {
      const value = (JSON.parse(text) as Record<string, string>)[field] as string;
      for (const bad of [undefined, 42, `${value}AAAA`, '!!!']) {
        expect(refusal(() => openKeyFile(edited({ [field]: bad }), PASSPHRASE))).toEqual({
          code: 'INVALID_INPUT',
          message: `not a Liaison key file: its field ${field} is missing or malformed`,
        });
      }
    }
  });

  it('refuse a file whose private key is not that of its public key (INVALID_INPUT)', () => {
    // Made by hand, as a faulty writer would: sealKeyFile itself refuses such a pair.
    const other = generateIdentityKeyPair();
    const s = sodium();
    const file = JSON.parse(text) as Record<string, string | number>;
    const ad = new TextEncoder().encode(
      `liaison-key/1|${file.publicKey}|${file.salt}|${file.opsLimit}|${file.memLimit}`,
    );
    const key = s.crypto_pwhash(
      32,
      PASSPHRASE,
      decodeBase64url(file.salt as string) as Uint8Array,
      file.opsLimit as number,
      file.memLimit as number,
      s.crypto_pwhash_ALG_ARGON2ID13,
    );
    const nonce = decodeBase64url(file.nonce as string) as Uint8Array;
    file.sealed = encodeBase64url(s.crypto_aead_xchacha20poly1305_ietf_encrypt(other.privateKey, ad, null, nonce, key));
    expect(refusal(() => openKeyFile(JSON.stringify(file), PASSPHRASE))).toEqual({
      code: 'INVALID_INPUT',
      message: 'the key file is inconsistent: its private key does not match its public key',
    });
    expect(
      refusal(() => sealKeyFile({ publicKey: keyPair.publicKey, privateKey: other.privateKey }, PASSPHRASE)),
    ).toEqual({ code: 'INVALID_INPUT', message: 'the private key does not match the public key' });
  });

  it('are sealed only under a passphrase of 8 characters or more, each time with a fresh salt and nonce', () => {
    expect(refusal(() => sealKeyFile(keyPair, 'short')).code).toBe('INVALID_INPUT');
    const again = JSON.parse(sealKeyFile(keyPair, PASSPHRASE));
    const first = JSON.parse(text);
    expect(again.salt).not.toBe(first.salt);
    expect(again.nonce).not.toBe(first.nonce);
  });

  it('have a public half the .pub file gives as `liaison device certify --device-key` reads it', () => {
    expect(publicKeyFile(keyPair.publicKey)).toBe(`${encodeBase64url(keyPair.publicKey)}\n`);
    expect(refusal(() => publicKeyFile(new Uint8Array(31))).code).toBe('INVALID_INPUT');
  });
});
