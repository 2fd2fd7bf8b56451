import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentityKeyPair, type IdentityKeyPair, issueNetworkManifest } from '@liaison/client';
import { encodeBase64url, type NetworkManifest, type RelayKeyFile, type TrustedRoot } from '@liaison/protocol';
import type { RelayConfig } from '@liaison/server';
import { freshPostgresDatabase, type TestDatabase } from './databases.js';
import { testNetwork } from './network.js';
import { type RelayFront, startRelayFront } from './relay-front.js';
import { freePort, type RelayEnv, type RelayProcess, spawnRelay } from './relay-process.js';

export type TestNetwork = Awaited<ReturnType<typeof testNetwork>>;

/** One network of a federation under test: its root, its relay process, and what its secretariat signed. */
export interface FederatedNetwork {
  net: TestNetwork;
  relay: RelayProcess;
  origin: string;
  relayKey: IdentityKeyPair;
  manifest: NetworkManifest;
  /** Its PostgreSQL database, when it runs on one: what the relay stored, for tests that must look. */
  database?: TestDatabase;
  /** The HTTP front at its origin, when asked for (`frontB`): partner relays reach it only through this. */
  front?: RelayFront;
}

export interface Federation {
  a: FederatedNetwork;
  b: FederatedNetwork;
  /** Both roots: what every client of either network trusts. */
  roots: TrustedRoot[];
  /** Folder of the key and manifest files. */
  dir: string;
  stop(): Promise<void>;
}

export interface FederationOptions {
  /** Network ids; default a Thai SEAJust relay and an Armenian CASC one. */
  networks?: [string, string];
  /** B's relay runs on PostgreSQL (A's always on PGlite, the embedded default). */
  bOnPostgres?: boolean;
  env?: { a?: RelayEnv; b?: RelayEnv };
  /**
   * B's origin, as the manifests name it, is an HTTP front passing everything to B's relay, which
   * listens on a port of its own (relay-front.ts): a test may hold B's answer to a batch.
   */
  frontB?: boolean;
}

/**
 * Two networks, each with its own root, its own relay process on its own database (A on PGlite, B
 * on PostgreSQL), a manifest each naming the other as partner, and each relay trusting both roots.
 */
export async function federatedRelays(options: FederationOptions = {}): Promise<Federation> {
  const [idA, idB] = options.networks ?? ['seajust', 'casc'];
  const [netA, netB] = await Promise.all([testNetwork(idA), testNetwork(idB)]);
  const [portA, portB] = [await freePort(), await freePort()];
  const front = options.frontB ? await startRelayFront(portB) : undefined;
  const originB = front?.url ?? `http://127.0.0.1:${portB}`;
  const dir = await mkdtemp(join(tmpdir(), 'liaison-federation-'));
  const keyA = generateIdentityKeyPair();
  const keyB = generateIdentityKeyPair();
  const manifestA = manifestFor(netA, `http://127.0.0.1:${portA}`, keyA, [netB]);
  const manifestB = manifestFor(netB, originB, keyB, [netA]);
  const files = {
    keyA: await writeJson(dir, 'a.relay-key.json', relayKeyFile(keyA)),
    keyB: await writeJson(dir, 'b.relay-key.json', relayKeyFile(keyB)),
    manifestA: await writeJson(dir, `${idA}.manifest.json`, manifestA),
    manifestB: await writeJson(dir, `${idB}.manifest.json`, manifestB),
  };
  const roots = [netA.root, netB.root];
  const database: TestDatabase | undefined = (options.bOnPostgres ?? true) ? await freshPostgresDatabase() : undefined;
  const common = { LIAISON_URGENT_ACK_MIN_SECONDS: '1', LIAISON_FEDERATION_RETRY_MAX_SECONDS: '2' };
  const relayA = await spawnRelay(
    roots,
    {
      ...common,
      LIAISON_RELAY_KEY: files.keyA,
      LIAISON_NETWORK_MANIFESTS: `${files.manifestA},${files.manifestB}`,
      ...options.env?.a,
    },
    { port: portA },
  );
  const relayB = await spawnRelay(
    roots,
    {
      ...common,
      LIAISON_RELAY_KEY: files.keyB,
      LIAISON_NETWORK_MANIFESTS: `${files.manifestB},${files.manifestA}`,
      ...(database && { LIAISON_DATABASE_URL: database.url }),
      ...options.env?.b,
    },
    { port: portB },
  );
  return {
    a: { net: netA, relay: relayA, origin: relayA.url, relayKey: keyA, manifest: manifestA },
    b: {
      net: netB,
      relay: relayB,
      origin: originB,
      relayKey: keyB,
      manifest: manifestB,
      ...(database && { database }),
      ...(front && { front }),
    },
    roots,
    dir,
    async stop() {
      await Promise.all([relayA.stop(), relayB.stop()]);
      await front?.close();
      await database?.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The authority ids each test network's manifest owns: those its tests' contact point ids begin with. */
const AUTHORITIES: Record<string, string[]> = {
  seajust: ['th-oag', 'vn-spp', 'ph-doj', 'kh-moj'],
  casc: ['am-pgo', 'kz-gp', 'uz-gp'],
  wacap: ['sn-pj', 'ng-fmj'],
  ejn: ['fr-mj', 'de-bmj'],
};

export function authoritiesOf(networkId: string): string[] {
  return AUTHORITIES[networkId] ?? [`${networkId}-authority`];
}

/** A manifest signed by the network's root: one relay, its test authorities, and the given partners. */
export function manifestFor(
  net: TestNetwork,
  origin: string,
  relayKey: IdentityKeyPair,
  partners: TestNetwork[],
  version = 1,
  authorities = authoritiesOf(net.root.networkId),
): NetworkManifest {
  return issueNetworkManifest(net.rootKeys, {
    networkId: net.root.networkId,
    version,
    issuedAt: Date.now(),
    relays: [{ origin, signingKey: encodeBase64url(relayKey.publicKey) }],
    authorities,
    partners: partners.map((p) => ({ networkId: p.root.networkId, rootKey: p.root.publicKey })),
  });
}

/** A relay with its signing key and its own network's manifest, naming no partner. */
export interface ManifestRelay {
  relay: RelayProcess;
  relayKey: IdentityKeyPair;
  manifest: NetworkManifest;
  stop(): Promise<void>;
}

/**
 * One network's relay given its relay key and its own manifest alone: it federates with nobody,
 * registers only its manifest's authorities, and signs its "stored at" receipts with that key.
 */
export async function relayWithManifest(net: TestNetwork, env: RelayEnv = {}): Promise<ManifestRelay> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'liaison-manifest-'));
  const relayKey = generateIdentityKeyPair();
  const manifest = manifestFor(net, `http://127.0.0.1:${port}`, relayKey, []);
  const relay = await spawnRelay(
    [net.root],
    {
      LIAISON_RELAY_KEY: await writeJson(dir, 'relay-key.json', relayKeyFile(relayKey)),
      LIAISON_NETWORK_MANIFESTS: await writeJson(dir, `${net.root.networkId}.manifest.json`, manifest),
      ...env,
    },
    { port },
  );
  return {
    relay,
    relayKey,
    manifest,
    async stop() {
      await relay.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A network outside the federation under test: its own root, relay key and valid manifest (its
 * relay at `origin`, not started), naming `partners` as its partners, though none of them names it.
 */
export async function outsideNetwork(
  networkId: string,
  partners: TestNetwork[],
  origin = 'http://127.0.0.1:9',
): Promise<{ net: TestNetwork; relayKey: IdentityKeyPair; manifest: NetworkManifest }> {
  const net = await testNetwork(networkId);
  const relayKey = generateIdentityKeyPair();
  return { net, relayKey, manifest: manifestFor(net, origin, relayKey, partners) };
}

/**
 * What an in-process relay (relay.ts startTestRelay) is given to sign its "stored at" receipts with
 * `relayKey`, under `manifest` alone (as relayWithManifest's process reads it from files).
 */
export function ownManifestSettings(relayKey: IdentityKeyPair, manifest: NetworkManifest): RelayConfig['federation'] {
  return { signingSeed: relayKey.privateKey.subarray(0, 32), manifests: [manifest] };
}

/** The relay key file (as `liaison relay key` writes it): the 32-byte seed of its Ed25519 key, which libsodium's private key starts with. */
export function relayKeyFile(key: IdentityKeyPair): RelayKeyFile {
  return { seed: encodeBase64url(key.privateKey.subarray(0, 32)) };
}

export async function writeJson(dir: string, name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(value, null, 2));
  return path;
}
