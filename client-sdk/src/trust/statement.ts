import {
  AuthorityCertificate,
  ContactPointCertificate,
  DeviceCertificate,
  encodeBase64url,
  parseInput,
  TrustedRoot,
} from '@liaison/protocol';
import type { z } from 'zod';
import { keyFileFields } from '../crypto/key-file.js';
import { LiaisonError } from '../errors.js';

/**
 * Which of the CLI's files a text is, for an application that lets a person pick or drop one (the web
 * app's enrolment): a trusted root, an authority certificate, a designation, a device certificate, or
 * a private key file (of which only the public key is read). Each is checked against its schema, not
 * its signature: checkDevice and verifiedDevice do that, against the trusted roots.
 */
export type Statement =
  | { kind: 'trusted-root'; root: TrustedRoot }
  | { kind: 'authority'; certificate: AuthorityCertificate }
  | { kind: 'contact-point'; certificate: ContactPointCertificate }
  | { kind: 'device'; certificate: DeviceCertificate }
  | { kind: 'key-file'; publicKey: string };

/** The largest designation the schemas allow is a few kilobytes, pretty-printed; a text longer is not parsed. */
export const MAX_STATEMENT_LENGTH = 64 * 1024;

const invalid = (message: string) => new LiaisonError('INVALID_INPUT', message);

/** Throws INVALID_INPUT, saying what the text is (when it can tell) and what is wrong with it. */
export function readStatement(text: string): Statement {
  if (typeof text !== 'string') throw invalid('not a text');
  if (text.length > MAX_STATEMENT_LENGTH) {
    throw invalid(`not a Liaison file: longer than any (${MAX_STATEMENT_LENGTH} characters at most)`);
  }
  const trimmed = text.trim();
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    // A .pub file is one line of base64url: the most likely mistake, so it is named.
    throw invalid(
      /^[A-Za-z0-9_-]{43}$/.test(trimmed)
        ? 'a public key file (.pub), not a certificate, trusted root or key file'
        : 'not a Liaison file: not JSON',
    );
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw invalid('not a Liaison file: not a JSON object');
  // The four statements and the key file have fields no other has; the schema then checks it all.
  const has = (...names: string[]) => names.every((name) => name in json);
  if (has('liaisonKey')) return { kind: 'key-file', publicKey: encodeBase64url(keyFileFields(json).publicKey) };
  if (has('deviceId')) return { kind: 'device', certificate: checked(DeviceCertificate, json, 'a device certificate') };
  if (has('accountKey')) {
    return {
      kind: 'contact-point',
      certificate: checked(ContactPointCertificate, json, 'a contact-point certificate (designation)'),
    };
  }
  if (has('authorityId', 'country')) {
    return { kind: 'authority', certificate: checked(AuthorityCertificate, json, 'an authority certificate') };
  }
  if (has('revokedAt')) throw invalid('a revocation, not a certificate, trusted root or key file');
  if (has('networkId', 'publicKey')) {
    return { kind: 'trusted-root', root: checked(TrustedRoot, json, 'a trusted root') };
  }
  throw invalid('not a Liaison certificate, trusted root or key file');
}

function checked<S extends z.ZodType>(schema: S, json: unknown, what: string): z.infer<S> {
  const parsed = parseInput(schema, json);
  // Every refusal is INVALID_INPUT here (parseInput says PAYLOAD_TOO_LARGE for an over-long field).
  if (!parsed.ok) throw new LiaisonError('INVALID_INPUT', `looks like ${what}, but ${parsed.error.message}`);
  return parsed.value;
}
