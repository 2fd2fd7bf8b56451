import { writeFile } from 'node:fs/promises';
import {
  checkPartnership,
  encodeBase64url,
  ManifestPartner,
  ManifestRelay,
  manifestSignedBy,
  NetworkManifest,
  parseInput,
  type RelayKeyFile,
  TrustedRoot,
  type UnsignedNetworkManifest,
} from '@liaison/protocol';
import { wipe } from '../crypto/bytes.js';
import { verifySignature } from '../crypto/keys.js';
import { randomBytes, sodium } from '../crypto/sodium.js';
import { issueNetworkManifest } from '../trust/issue.js';
import { CliError } from './cli-error.js';
import { type CommandContext, repeated, required } from './command-context.js';
import { openKey, statementError } from './commands.js';
import { readStatement, writeStatement } from './io.js';
import { refuseToOverwrite } from './key-file.js';

// Federation: the relay's signing key, and the network manifest that names the network's relays
// and partner networks (protocol/src/federation.ts). A partnership counts only when both networks'
// manifests name each other; `manifest verify` says, in words, whether they do.

const ROOT_FILE = 'a trusted root (.root.json)';
const MANIFEST_FILE = 'a network manifest';

/**
 * liaison relay key --out FILE: a new Ed25519 key for a relay to sign its requests to partner
 * relays. FILE holds the 32-byte seed as JSON (RelayKeyFile), unencrypted because the relay reads
 * it unattended at start (LIAISON_RELAY_KEY); mode 0600, never overwritten. Only the public key
 * is printed.
 */
export async function relayKey(ctx: CommandContext): Promise<void> {
  const out = required(ctx.options, 'out');
  await refuseToOverwrite(out);
  const seed = randomBytes(32);
  const { publicKey, privateKey } = sodium().crypto_sign_seed_keypair(seed);
  const file: RelayKeyFile = { seed: encodeBase64url(seed) };
  wipe(seed, privateKey);
  await writeFile(out, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  const key = encodeBase64url(publicKey);
  ctx.print(`Wrote ${out}: the relay's signing key (secret, mode 0600). The relay reads it from LIAISON_RELAY_KEY.`);
  ctx.print(`Public key: ${key}`);
  ctx.print(`Name it in the network manifest: liaison network manifest … --relay https://RELAY-ORIGIN=${key}`);
}

/**
 * liaison network manifest: the network root signs the list of the network's relays and of its
 * partner networks. Everything given is checked before the root key is opened, so a mistake costs
 * no passphrase.
 */
export async function networkManifest(ctx: CommandContext): Promise<void> {
  const root = await readStatement(required(ctx.options, 'root'), TrustedRoot, ROOT_FILE);
  const keyPath = required(ctx.options, 'root-key');
  const version = manifestVersion(required(ctx.options, 'version'));
  const relays = repeated(ctx.options, 'relay').map(relayOption);
  if (relays.length === 0) throw new CliError('--relay is required: each relay of the network as ORIGIN=PUBLICKEY');
  const authorities = required(ctx.options, 'authorities')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  const partners = [
    ...repeated(ctx.options, 'partner').map(partnerOption),
    ...(await Promise.all(repeated(ctx.options, 'partner-root').map(partnerRoot))),
  ];
  const out = required(ctx.options, 'out');
  const body: UnsignedNetworkManifest = {
    networkId: root.networkId,
    version,
    issuedAt: ctx.now,
    relays,
    authorities,
    partners,
  };
  // The whole manifest (each origin once, each partner once, not itself a partner, the counts).
  const checked = parseInput(NetworkManifest, { ...body, signature: encodeBase64url(new Uint8Array(64)) });
  if (!checked.ok) throw new CliError(`cannot sign the manifest: ${checked.error.message}`);
  await refuseToOverwrite(out);
  const rootKeys = await openKey(ctx, keyPath, root.publicKey, `network "${root.networkId}"`);
  let manifest: NetworkManifest;
  try {
    manifest = issueNetworkManifest(rootKeys, body);
  } catch (error) {
    statementError(error, 'the manifest');
  } finally {
    wipe(rootKeys.privateKey);
  }
  await writeStatement(out, manifest);
  ctx.print(`Manifest version ${version} of "${root.networkId}" signed by its root; wrote ${out}.`);
  describe(ctx, manifest);
  ctx.print(
    "Give it to the network's relays, and to each partner network's secretariat: a partnership counts once their manifest names this network too.",
  );
}

/**
 * liaison network manifest verify FILE --root ROOT [--partner-manifest FILE ...]: what the manifest
 * says, if its network's root signed it, and for each partner manifest given whether the
 * partnership is mutual. Exit code 1 when the signature or any partnership fails.
 */
export async function networkManifestVerify(ctx: CommandContext): Promise<boolean> {
  const path = ctx.argument as string;
  const manifest = await readStatement(path, NetworkManifest, MANIFEST_FILE);
  const root = await readStatement(required(ctx.options, 'root'), TrustedRoot, ROOT_FILE);
  const partnerPaths = repeated(ctx.options, 'partner-manifest');
  const theirs = await Promise.all(partnerPaths.map((p) => readStatement(p, NetworkManifest, MANIFEST_FILE)));
  if (manifest.networkId !== root.networkId) {
    ctx.print(
      `NOT VERIFIED: ${path} is the manifest of "${manifest.networkId}", and the root given is of "${root.networkId}".`,
    );
    return false;
  }
  if (!manifestSignedBy(manifest, root.publicKey, verifySignature)) {
    ctx.print(
      `NOT VERIFIED: ${path} is not signed by the root of "${root.networkId}" (it was altered, or signed with another key).`,
    );
    return false;
  }
  ctx.print(
    `VERIFIED: manifest version ${manifest.version} of "${root.name}" (${root.networkId}), issued ${new Date(manifest.issuedAt).toISOString()}`,
  );
  describe(ctx, manifest);
  let mutual = true;
  for (const [i, partner] of theirs.entries()) {
    const check = checkPartnership(manifest, root.publicKey, partner, verifySignature);
    if (check.ok) {
      const origins = check.partnership.relays.map((r) => r.origin).join(', ');
      ctx.print(
        `PARTNERSHIP with "${partner.networkId}": mutual (${partnerPaths[i]}, version ${partner.version}); its relays: ${origins}`,
      );
    } else {
      ctx.print(`NO PARTNERSHIP with "${partner.networkId}" (${check.reason}, ${partnerPaths[i]}): ${check.message}.`);
      mutual = false;
    }
  }
  return mutual;
}

function describe(ctx: CommandContext, manifest: NetworkManifest): void {
  for (const relay of manifest.relays) ctx.print(`  relay ${relay.origin}  signing key ${relay.signingKey}`);
  ctx.print(
    `  authorities ${manifest.authorities.join(', ')}  (the contact point ids this network speaks for begin with one)`,
  );
  for (const partner of manifest.partners) ctx.print(`  partner ${partner.networkId}  root key ${partner.rootKey}`);
  if (manifest.partners.length === 0) ctx.print('  no partner networks');
}

function manifestVersion(value: string): number {
  const version = /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(version)) {
    throw new CliError('--version must be a whole number from 1 up; each new manifest of a network takes a higher one');
  }
  return version;
}

/** `ORIGIN=PUBLICKEY`: neither an origin nor a base64url key holds "=", so the last one splits them. */
function relayOption(value: string): ManifestRelay {
  const at = value.lastIndexOf('=');
  if (at <= 0) {
    throw new CliError(
      `--relay takes ORIGIN=PUBLICKEY, like https://relay.example.org=KEY (the key liaison relay key printed), not "${value}"`,
    );
  }
  const parsed = parseInput(ManifestRelay, { origin: value.slice(0, at), signingKey: value.slice(at + 1) });
  if (!parsed.ok) throw new CliError(`--relay ${value}: ${parsed.error.message}`);
  return parsed.value;
}

/** `NETWORK-ID=ROOT-PUBLICKEY`: a network id holds no "=". */
function partnerOption(value: string): ManifestPartner {
  const at = value.indexOf('=');
  if (at <= 0) {
    throw new CliError(
      `--partner takes NETWORK-ID=ROOT-PUBLICKEY (or give the partner's .root.json with --partner-root), not "${value}"`,
    );
  }
  const parsed = parseInput(ManifestPartner, { networkId: value.slice(0, at), rootKey: value.slice(at + 1) });
  if (!parsed.ok) throw new CliError(`--partner ${value}: ${parsed.error.message}`);
  return parsed.value;
}

async function partnerRoot(path: string): Promise<ManifestPartner> {
  const root = await readStatement(path, TrustedRoot, ROOT_FILE);
  return { networkId: root.networkId, rootKey: root.publicKey };
}
