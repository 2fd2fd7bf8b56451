import { beforeAll, describe, expect, it } from 'vitest';
import { network } from '../__fixtures__/network.js';
import { publicKeyFile, sealKeyFile } from '../crypto/key-file.js';
import { generateIdentityKeyPair } from '../crypto/keys.js';
import { ready } from '../crypto/sodium.js';
import { isLiaisonError } from '../errors.js';
import { MAX_STATEMENT_LENGTH, readStatement } from './statement.js';

beforeAll(ready);

/** A file as the CLI writes it (writeStatement): pretty-printed JSON and a newline. */
const file = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

function refusal(text: unknown): { code: string; message: string } {
  try {
    readStatement(text as string);
  } catch (error) {
    if (isLiaisonError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('readStatement', () => {
  let ejn: ReturnType<typeof network>;
  beforeAll(() => {
    ejn = network('ejn', 'FR', 'fr-moj');
  });

  it('tells each of the CLI files, and gives back what it holds', () => {
    expect(readStatement(file(ejn.root))).toEqual({ kind: 'trusted-root', root: ejn.root });
    expect(readStatement(file(ejn.authority))).toEqual({ kind: 'authority', certificate: ejn.authority });
    expect(readStatement(file(ejn.contactPoint))).toEqual({ kind: 'contact-point', certificate: ejn.contactPoint });
    expect(readStatement(file(ejn.device))).toEqual({ kind: 'device', certificate: ejn.device });
  });

  it('reads a private key file for its public key only, without its passphrase', () => {
    const keyPair = generateIdentityKeyPair();
    const statement = readStatement(sealKeyFile(keyPair, 'a long passphrase'));
    expect(statement).toEqual({ kind: 'key-file', publicKey: publicKeyFile(keyPair.publicKey).trim() });
  });

  it('says which file a malformed one looks like, and what is wrong', () => {
    expect(refusal(file({ ...ejn.device, signature: 'not a signature' }))).toEqual({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/^looks like a device certificate, but signature: /),
    });
    expect(refusal(file({ ...ejn.contactPoint, languages: [] })).message).toMatch(
      /^looks like a contact-point certificate \(designation\), but languages: /,
    );
    expect(refusal(file({ ...ejn.authority, name: 'x'.repeat(1000) }))).toEqual({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/^looks like an authority certificate, but name: /),
    });
    expect(refusal(file({ ...ejn.root, extra: 1 })).message).toBe(
      'looks like a trusted root, but input: unknown field',
    );
    const keyFile = JSON.parse(sealKeyFile(generateIdentityKeyPair(), 'a long passphrase'));
    expect(refusal(file({ ...keyFile, memLimit: 2 ** 30 })).message).toMatch(
      /key-derivation parameters are out of range/,
    );
  });

  it('names the files it does not take: a .pub, a revocation', () => {
    expect(refusal(publicKeyFile(generateIdentityKeyPair().publicKey))).toEqual({
      code: 'INVALID_INPUT',
      message: 'a public key file (.pub), not a certificate, trusted root or key file',
    });
    expect(refusal(file({ networkId: 'ejn', subject: 'device', revokedAt: 1 })).message).toBe(
      'a revocation, not a certificate, trusted root or key file',
    );
  });

  it('refuses junk with INVALID_INPUT, and does not parse a text longer than any Liaison file', () => {
    const cases: Array<[unknown, string]> = [
      ['', 'not a Liaison file: not JSON'],
      ['hello', 'not a Liaison file: not JSON'],
      ['{"networkId": ', 'not a Liaison file: not JSON'],
      ['[1, 2]', 'not a Liaison file: not a JSON object'],
      ['null', 'not a Liaison file: not a JSON object'],
      ['"text"', 'not a Liaison file: not a JSON object'],
      ['{}', 'not a Liaison certificate, trusted root or key file'],
      ['{"__proto__": {"networkId": "x", "publicKey": "y"}}', 'not a Liaison certificate, trusted root or key file'],
      [42, 'not a text'],
      [
        `{"name": "${'x'.repeat(MAX_STATEMENT_LENGTH)}"}`,
        'not a Liaison file: longer than any (65536 characters at most)',
      ],
    ];
    for (const [text, message] of cases) expect(refusal(text)).toEqual({ code: 'INVALID_INPUT', message });
  });
});
