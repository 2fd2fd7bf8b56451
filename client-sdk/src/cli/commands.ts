import {
  AuthorityCertificate,
  COMPETENCES,
  ContactPointCertificate,
  DeviceCertificate,
  encodeBase64url,
  PQ_HYBRID_CAPABILITY,
  Revocation,
  RevocationReason,
  RevocationSubject,
  TrustedRoot,
  type VerifiedContactPoint,
} from '@liaison/protocol';
import { generateIdentityKeyPair, type IdentityKeyPair } from '../crypto/keys.js';
import { isLiaisonError } from '../errors.js';
import { FileKeyStore } from '../key-store/file-key-store.js';
import {
  certifyDevice,
  createNetworkRoot,
  designateContactPoint,
  issueAuthorityCertificate,
  revoke,
} from '../trust/issue.js';
import { checkContactPoint, checkDevice } from '../trust/verify.js';
import { CliError } from './cli-error.js';
import { type CommandContext, list, optional, required } from './command-context.js';
import { passphrase, readStatement, writeStatement } from './io.js';
import {
  checkNewPassphrase,
  readKeyFile,
  readPublicKey,
  refuseToOverwrite,
  writeKeyFile,
  writePublicKey,
} from './key-file.js';

const DAY = 24 * 3600 * 1000;

function validity(ctx: CommandContext, defaultDays: number) {
  const days = Number(optional(ctx.options, 'days') ?? defaultDays);
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new CliError('--days must be a whole number from 1 to 3650');
  return { notBefore: ctx.now, notAfter: ctx.now + days * DAY };
}

export function statementError(error: unknown, what: string): never {
  if (isLiaisonError(error)) throw new CliError(`cannot issue ${what}: ${error.message}`);
  throw error;
}

/** Opens a private key file and checks it is the key of `owner`, whose public key is known. */
export async function openKey(
  ctx: CommandContext,
  path: string,
  expectedPublicKey: string,
  owner: string,
): Promise<IdentityKeyPair> {
  const keyPair = await readKeyFile(path, await passphrase(ctx.passphrase, `for ${path}`));
  if (encodeBase64url(keyPair.publicKey) !== expectedPublicKey) {
    throw new CliError(`${path} is not the key of ${owner}`);
  }
  return keyPair;
}

async function newKeyPair(ctx: CommandContext, out: string): Promise<IdentityKeyPair> {
  const keyPair = generateIdentityKeyPair();
  await writeKeyFile(`${out}.key`, keyPair, await passphrase(ctx.passphrase, `for the new key ${out}.key`, true));
  return keyPair;
}

/** liaison key new --out NAME: a key pair for an authority, an account or a device. */
export async function keyNew(ctx: CommandContext): Promise<void> {
  const out = required(ctx.options, 'out');
  const keyPair = await newKeyPair(ctx, out);
  await writePublicKey(`${out}.pub`, keyPair.publicKey);
  ctx.print(`Wrote ${out}.key (private, encrypted, mode 0600) and ${out}.pub (public: give this one to the issuer).`);
}

/** liaison network init --id ID --name NAME --out NAME: the network's root key and its public root. */
export async function networkInit(ctx: CommandContext): Promise<void> {
  const out = required(ctx.options, 'out');
  let root: TrustedRoot;
  let keyPair: IdentityKeyPair;
  try {
    ({ root, keyPair } = createNetworkRoot(required(ctx.options, 'id'), required(ctx.options, 'name')));
  } catch (error) {
    statementError(error, 'the network root');
  }
  await writeKeyFile(`${out}.key`, keyPair, await passphrase(ctx.passphrase, `for the new root key ${out}.key`, true));
  await writeStatement(`${out}.root.json`, root);
  ctx.print(`Network "${root.name}" (${root.networkId}) created.`);
  ctx.print(`  ${out}.key        root private key: keep it offline`);
  ctx.print(`  ${out}.root.json  trusted root: configure it in every relay and client of the network`);
}

/** liaison authority issue: the root certifies an authority's public key. */
export async function authorityIssue(ctx: CommandContext): Promise<void> {
  const root = await readStatement(required(ctx.options, 'root'), TrustedRoot, 'a trusted root (.root.json)');
  const rootKeys = await openKey(ctx, required(ctx.options, 'root-key'), root.publicKey, `network "${root.networkId}"`);
  let certificate: AuthorityCertificate;
  try {
    certificate = issueAuthorityCertificate(rootKeys, {
      networkId: root.networkId,
      authorityId: required(ctx.options, 'id'),
      country: required(ctx.options, 'country'),
      name: required(ctx.options, 'name'),
      publicKey: await readPublicKey(required(ctx.options, 'public-key')),
      ...validity(ctx, 730),
    });
  } catch (error) {
    statementError(error, 'the authority certificate');
  }
  const out = required(ctx.options, 'out');
  await writeStatement(out, certificate);
  ctx.print(
    `Authority ${certificate.authorityId} (${certificate.country}) certified by ${root.networkId}; wrote ${out}.`,
  );
}

/** liaison contact designate: an authority designates a contact point. */
export async function contactDesignate(ctx: CommandContext): Promise<void> {
  const authority = await readStatement(
    required(ctx.options, 'authority-cert'),
    AuthorityCertificate,
    'an authority certificate',
  );
  const authorityKeys = await openKey(
    ctx,
    required(ctx.options, 'authority-key'),
    authority.publicKey,
    `authority "${authority.authorityId}"`,
  );
  let designation: ContactPointCertificate;
  try {
    designation = designateContactPoint(authorityKeys, {
      networkId: authority.networkId,
      authorityId: authority.authorityId,
      contactPointId: required(ctx.options, 'id'),
      kind: (optional(ctx.options, 'kind') ?? 'person') as ContactPointCertificate['kind'],
      displayName: required(ctx.options, 'name'),
      role: required(ctx.options, 'role'),
      languages: list(required(ctx.options, 'languages')),
      competences: list(required(ctx.options, 'competences')) as ContactPointCertificate['competences'],
      timeZone: required(ctx.options, 'time-zone'),
      accountKey: await readPublicKey(required(ctx.options, 'account-key')),
      escalationChain: list(optional(ctx.options, 'escalation')),
      ...validity(ctx, 365),
    });
  } catch (error) {
    if (isLiaisonError(error) && /competences/.test(error.message)) {
      throw new CliError(`cannot designate: --competences takes ${COMPETENCES.join(', ')} (${error.message})`);
    }
    statementError(error, 'the designation');
  }
  const out = required(ctx.options, 'out');
  await writeStatement(out, designation);
  ctx.print(`Contact point ${designation.contactPointId} designated by ${authority.authorityId}; wrote ${out}.`);
}

/** liaison device certify: a contact point's account key certifies one of its devices. */
export async function deviceCertify(ctx: CommandContext): Promise<void> {
  // A device certified for hybrid sessions is never reached classically: an agency tool whose SDK
  // predates them publishes no KEM prekeys, and every send to its contact point would be refused.
  const sessions = ctx.options.sessions ?? 'hybrid';
  if (sessions !== 'hybrid' && sessions !== 'classical') {
    throw new CliError('cannot certify: --sessions takes hybrid (the default) or classical');
  }
  const contactPoint = await readStatement(
    required(ctx.options, 'contact-cert'),
    ContactPointCertificate,
    'a contact-point certificate',
  );
  const accountKeys = await openKey(
    ctx,
    required(ctx.options, 'account-key'),
    contactPoint.accountKey,
    `contact point "${contactPoint.contactPointId}"`,
  );
  let device: DeviceCertificate;
  try {
    device = certifyDevice(accountKeys, {
      contactPointId: contactPoint.contactPointId,
      deviceId: await readPublicKey(required(ctx.options, 'device-key')),
      deviceName: required(ctx.options, 'name'),
      ...validity(ctx, 365),
      ...(sessions === 'hybrid' && { capabilities: [PQ_HYBRID_CAPABILITY] }),
    });
  } catch (error) {
    statementError(error, 'the device certificate');
  }
  const out = required(ctx.options, 'out');
  await writeStatement(out, device);
  ctx.print(`Device "${device.deviceName}" of ${device.contactPointId} certified; wrote ${out}.`);
}

/**
 * liaison device new --out NAME: the key store an agency tool opens on the device (FileKeyStore,
 * as `@liaison/client/node` exports it), holding a fresh device identity key, and NAME.pub for
 * `liaison device certify --device-key`. The key is made here, on the device, and never leaves the store.
 */
export async function deviceNew(ctx: CommandContext): Promise<void> {
  const out = required(ctx.options, 'out');
  const [storePath, publicPath] = [`${out}.store`, `${out}.pub`];
  // Both names are checked before anything is written, so a refusal leaves nothing half made.
  await refuseToOverwrite(storePath);
  await refuseToOverwrite(publicPath);
  const secret = await passphrase(ctx.passphrase, `for the new key store ${storePath}`, true);
  checkNewPassphrase(secret);
  // FileKeyStore writes its file with mode 0600, sealed under an Argon2id key from the passphrase.
  const store = await FileKeyStore.open(storePath, { passphrase: secret });
  const identity = generateIdentityKeyPair();
  await store.setIdentity(identity);
  await writePublicKey(publicPath, identity.publicKey);
  ctx.print('Device key store created.');
  ctx.print(`  ${storePath}  the device's keys, encrypted, mode 0600: the agency tool opens it with the passphrase`);
  ctx.print(`  ${publicPath.padEnd(storePath.length)}  its public key: certify it with liaison device certify`);
}

/** liaison revoke: the issuer above a subject revokes it. */
export async function revokeCommand(ctx: CommandContext): Promise<void> {
  const subject = RevocationSubject.safeParse(required(ctx.options, 'subject'));
  if (!subject.success) throw new CliError(`--subject takes ${RevocationSubject.options.join(', ')}`);
  const reason = RevocationReason.safeParse(optional(ctx.options, 'reason') ?? 'other');
  if (!reason.success) throw new CliError(`--reason takes ${RevocationReason.options.join(', ')}`);
  const keyPath = required(ctx.options, 'issuer-key');
  const issuer = await readKeyFile(keyPath, await passphrase(ctx.passphrase, `for ${keyPath}`));
  let revocation: Revocation;
  try {
    revocation = revoke(issuer, {
      networkId: required(ctx.options, 'network'),
      subject: subject.data,
      subjectId: required(ctx.options, 'id'),
      reason: reason.data,
      revokedAt: ctx.now,
    });
  } catch (error) {
    statementError(error, 'the revocation');
  }
  const out = required(ctx.options, 'out');
  await writeStatement(out, revocation);
  ctx.print(`Revocation of ${subject.data} ${revocation.subjectId} written to ${out}.`);
  ctx.print(
    `Publish it to the network's relays with liaison revocation publish, and add it to the agency tools' revocations.`,
  );
}

/** liaison verify: explains, in words, whether a chain verifies and why not. Exit code 1 when it does not. */
export async function verify(ctx: CommandContext): Promise<boolean> {
  const trustedRoots = await Promise.all(
    list(required(ctx.options, 'roots')).map((p) => readStatement(p, TrustedRoot, 'a trusted root')),
  );
  const revocations = await Promise.all(
    list(optional(ctx.options, 'revocations')).map((p) => readStatement(p, Revocation, 'a revocation')),
  );
  const authority = await readStatement(
    required(ctx.options, 'authority'),
    AuthorityCertificate,
    'an authority certificate',
  );
  const contactPoint = await readStatement(
    required(ctx.options, 'contact'),
    ContactPointCertificate,
    'a contact-point certificate',
  );
  const devicePath = optional(ctx.options, 'device');
  const device = devicePath ? await readStatement(devicePath, DeviceCertificate, 'a device certificate') : undefined;
  const anchors = { trustedRoots, revocations };
  const result = device
    ? checkDevice({ authority, contactPoint, device }, anchors, ctx.now)
    : checkContactPoint({ authority, contactPoint }, anchors, ctx.now);
  if (!result.ok) {
    ctx.print(`NOT VERIFIED (${result.code}, at the ${result.link} link): ${result.message}.`);
    return false;
  }
  describe(ctx, result, device);
  return true;
}

function describe(ctx: CommandContext, v: VerifiedContactPoint, device: DeviceCertificate | undefined): void {
  const until = (t: number) => new Date(t).toISOString().slice(0, 10);
  const cp = v.contactPoint;
  ctx.print(`VERIFIED: ${cp.displayName} (${cp.contactPointId}), ${cp.role}`);
  ctx.print(
    `  designated by ${v.authority.name} (${v.authority.authorityId}, ${v.authority.country}) until ${until(cp.notAfter)}`,
  );
  ctx.print(
    `  authority certified by the root of "${v.networkName}" (${v.networkId}) until ${until(v.authority.notAfter)}`,
  );
  ctx.print(
    `  languages ${cp.languages.join(', ')}; competences ${cp.competences.join(', ')}; time zone ${cp.timeZone}`,
  );
  if (cp.escalationChain.length > 0) ctx.print(`  escalates to ${cp.escalationChain.join(' → ')}`);
  if (device)
    ctx.print(
      `  device "${device.deviceName}" certified by the contact point's account key until ${until(device.notAfter)}`,
    );
}
