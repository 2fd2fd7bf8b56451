import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentityKeyPair, type IdentityKeyPair } from '@liaison/client';
import type { NetworkManifest, TrustedRoot } from '@liaison/protocol';
import { manifestFor, relayKeyFile, type TestNetwork, writeJson } from './federation.js';
import { testNetwork } from './network.js';
import { freePort, type RelayEnv, type RelayProcess, spawnRelay } from './relay-process.js';

/**
 * One network of a federation of any shape: its root, its relay key and the manifest its root
 * signed (origin `http://127.0.0.1:<port>`), and its relay process, unless the test stands in for
 * that relay itself (stand-in-relay.ts, on `port`).
 */
export interface PartnerNetwork {
  net: TestNetwork;
  port: number;
  origin: string;
  relayKey: IdentityKeyPair;
  manifest: NetworkManifest;
  manifestFile: string;
  relay?: RelayProcess;
}

export interface NetworkPlan {
  id: string;
  /** The networks its manifest names as partners. */
  partners: string[];
  /** Started as a real relay process (default), or left to a stand-in the test runs on `port`. */
  standIn?: boolean;
  /** Its relay's settings, over the harness's; a function when they name files of the others (a manifest). */
  env?: RelayEnv | ((net: (id: string) => PartnerNetwork, dir: string) => Promise<RelayEnv>);
}

export interface PartnerNetworks {
  /** A network, by id. */
  net(id: string): PartnerNetwork;
  /** Its real relay, by network id (throws for a stand-in). */
  relay(id: string): RelayProcess;
  roots: TrustedRoot[];
  /** Folder of the key and manifest files: a test may write more (another version of a manifest). */
  dir: string;
  stop(): Promise<void>;
}

/**
 * Networks partnered as `plans` say (a hub with spokes, a chain), each relay given its own
 * manifest and those of the networks it names, and trusting only its own root and theirs. With
 * LIAISON_FEDERATION_RETRY_MAX_SECONDS 2, so that a partner back from away is not waited for long.
 */
export async function partnerNetworks(plans: NetworkPlan[]): Promise<PartnerNetworks> {
  const dir = await mkdtemp(join(tmpdir(), 'liaison-networks-'));
  const made = await Promise.all(plans.map((p) => testNetwork(p.id)));
  const byId = new Map(made.map((net, i) => [plans[i]?.id as string, net]));
  const nets = new Map<string, PartnerNetwork>();
  const net = (id: string): PartnerNetwork => {
    const found = nets.get(id);
    if (!found) throw new Error(`no network ${id} in this federation`);
    return found;
  };
  for (const [i, plan] of plans.entries()) {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const relayKey = generateIdentityKeyPair();
    const partners = plan.partners.map((id) => byId.get(id) as TestNetwork);
    const manifest = manifestFor(made[i] as TestNetwork, origin, relayKey, partners);
    const manifestFile = await writeJson(dir, `${plan.id}.manifest.json`, manifest);
    nets.set(plan.id, { net: made[i] as TestNetwork, port, origin, relayKey, manifest, manifestFile });
  }
  const started: RelayProcess[] = [];
  const stop = async () => {
    await Promise.all(started.map((r) => r.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const plan of plans.filter((p) => !p.standIn)) {
      const own = net(plan.id);
      const partners = plan.partners.map(net);
      own.relay = await spawnRelay(
        [own.net.root, ...partners.map((p) => p.net.root)],
        {
          LIAISON_RELAY_KEY: await writeJson(dir, `${plan.id}.relay-key.json`, relayKeyFile(own.relayKey)),
          LIAISON_NETWORK_MANIFESTS: [own, ...partners].map((n) => n.manifestFile).join(','),
          LIAISON_FEDERATION_RETRY_MAX_SECONDS: '2',
          ...(typeof plan.env === 'function' ? await plan.env(net, dir) : plan.env),
        },
        { port: own.port },
      );
      started.push(own.relay);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    net,
    relay(id) {
      const relay = net(id).relay;
      if (!relay) throw new Error(`network ${id} has no relay process here`);
      return relay;
    },
    roots: made.map((n) => n.root),
    dir,
    stop,
  };
}
