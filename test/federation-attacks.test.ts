import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentityKeyPair, type IdentityKeyPair, ready } from '@liaison/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestFor, relayKeyFile, type TestNetwork, writeJson } from './harness/federation.js';
import { relayCounter } from './harness/metrics.js';
import { testNetwork } from './harness/network.js';
import { type PartnerNetworks, partnerNetworks } from './harness/partner-networks.js';
import { sendPeerRequest, signPeerRequest } from './harness/peer-requests.js';
import { freePort, runRelayToExit } from './harness/relay-process.js';

/**
 * The attacks of the federation security review (issue #23), each made as the review made it (a
 * hostile partner relay, an outsider, a client of our own relay), and each asserting that it now
 * fails. Each group names the finding it guards.
 */

describe('manifests (review #23, finding 14): only the newest version of a network counts, and a relay belongs to one network', () => {
  let fed: PartnerNetworks;
  let rotated: IdentityKeyPair;
  const lookup = (key: IdentityKeyPair) =>
    sendPeerRequest(
      fed.relay('seajust').url,
      signPeerRequest(key, `${fed.net('seajust').origin}/federation/v1/contact-points/th-oag.nobody`, undefined, {
        method: 'GET',
      }),
    );

  beforeAll(async () => {
    await ready();
    rotated = generateIdentityKeyPair();
    // CASC rotated its relay key in version 2; the Thai operator added the new file beside the old.
    fed = await partnerNetworks([
      {
        id: 'seajust',
        partners: ['casc'],
        env: async (net, dir) => {
          const [seajust, casc] = [net('seajust'), net('casc')];
          const v2 = manifestFor(casc.net, casc.origin, rotated, [seajust.net], 2);
          const files = [seajust.manifestFile, await writeJson(dir, 'casc.v2.manifest.json', v2), casc.manifestFile];
          return { LIAISON_NETWORK_MANIFESTS: files.join(',') };
        },
      },
      { id: 'casc', partners: ['seajust'], standIn: true },
    ]);
  }, 120_000);
  afterAll(() => fed?.stop());

  it('refuses the relay key CASC retired in version 2, though the file of version 1 is still given, and says so at start', async () => {
    const url = fed.relay('seajust').url;
    const before = await relayCounter(url, 'liaison_federation_refused_total', 'reason="not-partner"');
    const retired = await lookup(fed.net('casc').relayKey);
    expect(retired.status).toBe(403);
    expect(retired.body.error).toBe('FORBIDDEN');
    expect(await relayCounter(url, 'liaison_federation_refused_total', 'reason="not-partner"')).toBe(before + 1);
    // The current key is CASC's: it is heard, and told there is no such contact point.
    expect((await lookup(rotated)).body.error).toBe('NOT_FOUND');
    const warning = fed
      .relay('seajust')
      .output()
      .split('\n')
      .find((line) => line.includes('federation.manifest-replaced'));
    expect(JSON.parse(warning ?? '{}').msg).toContain('"casc" version 1 is replaced by version 2');
  });

  describe('a relay named by two networks', () => {
    let dir: string;
    let nets: TestNetwork[];
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'liaison-shared-relay-'));
      nets = await Promise.all(['seajust', 'casc', 'wacap'].map((id) => testNetwork(id)));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    /**
     * The Thai relay (SEAJust, partnered with CASC and WACAP) started with the manifests of CASC's
     * and WACAP's relays as given: it must refuse to start. What it says.
     */
    const refusal = async (
      relays: (ours: { origin: string; key: IdentityKeyPair }) => { origin: string; key: IdentityKeyPair }[],
    ) => {
      const [seajust, casc, wacap] = nets as [TestNetwork, TestNetwork, TestNetwork];
      const port = await freePort();
      const ours = { origin: `http://127.0.0.1:${port}`, key: generateIdentityKeyPair() };
      const [ofCasc, ofWacap] = relays(ours) as [typeof ours, typeof ours];
      const manifests = [
        manifestFor(seajust, ours.origin, ours.key, [casc, wacap]),
        manifestFor(casc, ofCasc.origin, ofCasc.key, [seajust]),
        manifestFor(wacap, ofWacap.origin, ofWacap.key, [seajust]),
      ];
      const files = async (values: unknown[], name: string) =>
        (await Promise.all(values.map((v, i) => writeJson(dir, `${name}-${i}.json`, v)))).join(',');
      const exit = await runRelayToExit(
        {
          LIAISON_PORT: String(port),
          LIAISON_TRUSTED_ROOTS: await files(
            nets.map((n) => n.root),
            'root',
          ),
          LIAISON_RELAY_KEY: await writeJson(dir, 'relay-key.json', relayKeyFile(ours.key)),
          LIAISON_NETWORK_MANIFESTS: await files(manifests, 'manifest'),
        },
        {},
        30_000,
      );
      expect(exit.code).toBe(1);
      const fatal = exit.logLines.find((l) => l.level === 60);
      expect(fatal?.variable).toBe('LIAISON_NETWORK_MANIFESTS');
      return String(fatal?.msg);
    };

    it("refuses to start when WACAP's manifest names CASC's relay key: CASC's requests would be taken as WACAP's", async () => {
      const cascKey = generateIdentityKeyPair();
      const said = await refusal(() => [
        { origin: 'https://relay.casc.example', key: cascKey },
        { origin: 'https://relay.wacap.example', key: cascKey },
      ]);
      expect(said).toContain('relay signing key');
      expect(said).toContain('named by the manifests of both "casc" and "wacap"');
    }, 60_000);

    it('refuses to start when a partner manifest names our own origin for its relay', async () => {
      const said = await refusal((ours) => [
        { origin: ours.origin, key: generateIdentityKeyPair() },
        { origin: 'https://relay.wacap.example', key: generateIdentityKeyPair() },
      ]);
      expect(said).toContain('relay origin http://127.0.0.1:');
      expect(said).toContain('named by the manifests of both "seajust" and "casc"');
    }, 60_000);
  });
});
