import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type ConnectionEvent, LiaisonClient } from '@liaison/client';
import { FileKeyStore } from '@liaison/client/node';
import type { AuthorityCertificate, ContactPointCertificate, DeviceCertificate, TrustedRoot } from '@liaison/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';
import { until } from './harness/until.js';

const exec = promisify(execFile);
const repo = resolve(import.meta.dirname, '..');
const liaison = join(repo, 'node_modules/.bin/liaison');

/** The shell blocks of the README's walkthrough, in order. */
async function walkthroughBlocks(): Promise<string[]> {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const section = /<!-- walkthrough:start -->\n([\s\S]*?)<!-- walkthrough:end -->/.exec(readme)?.[1] ?? '';
  return [...section.matchAll(/```sh\n([\s\S]*?)```\n/g)].map((m) => m[1] as string);
}

/** Runs a block as a reader would paste it: every line must succeed (bash -e, pipefail). */
async function runBlock(block: string, env: Record<string, string>): Promise<string> {
  const { stdout } = await exec('bash', ['-euo', 'pipefail', '-c', block], {
    cwd: repo,
    env: { ...process.env, ...env },
  });
  return stdout;
}

/** Runs the real `liaison` binary; resolves with its exit code and output, never throws on failure. */
async function cli(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(liaison, args, { cwd, env: { ...process.env, LIAISON_PASSPHRASE: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The walkthrough starts some twenty CLI processes, each compiling with tsx and most running Argon2id. */
const WALKTHROUGH_MS = 240_000;

const json = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

describe('the README walkthrough, run as written, against a real relay', () => {
  let dir: string;
  /** Where the walkthrough wrote its keys, certificates and revocation. */
  let D: string | undefined;
  let relay: RelayProcess | undefined;
  let laptop: LiaisonClient | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'liaison-walkthrough-'));
  });
  afterAll(async () => {
    await laptop?.close();
    await relay?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'provisions a device without code, and the published revocation cuts it off',
    async () => {
      const [admin, publish, ...more] = await walkthroughBlocks();
      expect(more).toEqual([]);

      // The first block: keys, certificates and checks, all offline. Its last added line tells the test where they went.
      const stdout = await runBlock(`${admin}\necho "D=$D"`, { TMPDIR: dir });
      D = /^D=(.+)$/m.exec(stdout)?.[1] as string;
      expect(stdout.match(/^VERIFIED: /gm)).toHaveLength(3);
      expect(stdout).toContain('VERIFIED: Somchai Prasert (th-oag.somchai), Public Prosecutor');
      expect(stdout).toContain("designated by Supreme People's Procuracy (vn-spp, VN)");
      expect(stdout).toContain('Device key store created.');
      expect(stdout).toContain(`device "Office laptop" certified by the contact point's account key until`);
      expect(stdout).toMatch(/NOT VERIFIED \(REVOKED, at the contact-point link\)/);
      expect(stdout).toContain('refused, as it should be');
      expect(stdout).not.toContain('a long demo passphrase');

      // Between the blocks, what the README says happens elsewhere: a relay of the network trusts
      // its root, and the agency tool on the laptop opens the key store `device new` made and
      // connects with the certified chain, which registers the laptop.
      const root = await json<TrustedRoot>(join(D, 'seajust.root.json'));
      relay = await spawnRelay([root]);
      const passphrase = (await readFile(join(D, 'passphrase'), 'utf8')).split('\n')[0] as string;
      const keyStore = await FileKeyStore.open(join(D, 'somchai-laptop.store'), { passphrase });
      // Certified for post-quantum hybrid sessions, as `device certify` does unless told --sessions classical.
      expect((await json<DeviceCertificate>(join(D, 'somchai-laptop.device.json'))).capabilities).toEqual([
        'pq-hybrid',
      ]);
      laptop = await LiaisonClient.create({
        serverUrl: relay.url,
        keyStore,
        trustedRoots: [root],
        chain: {
          authority: await json<AuthorityCertificate>(join(D, 'th-oag.authority.json')),
          contactPoint: await json<ContactPointCertificate>(join(D, 'somchai.contact.json')),
          device: await json<DeviceCertificate>(join(D, 'somchai-laptop.device.json')),
        },
      });
      const events: ConnectionEvent[] = [];
      laptop.on('connection', (event) => void events.push(event));
      await laptop.connect();

      // The second block: the authority publishes the revocation to the relay.
      const published = await runBlock(publish as string, { D: D as string, RELAY: relay.url });
      expect(published).toContain(
        `PUBLISHED to ${relay.url}: the relay recorded the revocation of contact point th-oag.somchai in seajust;`,
      );
      expect(published).toContain('its devices are cut off there and cannot register again.');
      // What Somchai notices: the relay drops the laptop's connection, saying why, and refuses it from then on.
      await until(() => events.some((e) => e.state === 'replaced'), 'the relay to drop the laptop', 30_000);
      expect(events.at(-1)).toEqual({ state: 'replaced', reason: 'this device was revoked' });
      await expect(laptop.connect()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      // The SDK remembers that it registered; forgetting that, it would register again, and be refused.
      await keyStore.setState('registered', undefined);
      await expect(laptop.connect()).rejects.toMatchObject({ code: 'REVOKED' });
    },
    WALKTHROUGH_MS,
  );

  it('says in words why a relay refused a revocation, and exits 1; publishing again is harmless', async () => {
    if (!D || !relay) throw new Error('the walkthrough did not run');
    const P = ['--passphrase-file', 'passphrase'];
    const publish = (file: string, ...issuer: string[]) =>
      cli(
        D as string,
        'revocation',
        'publish',
        '--relay',
        (relay as RelayProcess).url,
        '--revocation',
        file,
        ...issuer,
      );

    const revokeContactPoint = (issuerKey: string, id: string, out: string) =>
      cli(
        D as string,
        'revoke',
        '--issuer-key',
        issuerKey,
        '--network',
        'seajust',
        '--subject',
        'contact-point',
        '--id',
        id,
        '--out',
        out,
        ...P,
      );

    const again = await publish('somchai.revoked.json');
    expect([again.code, again.stdout.split('\n')[0]]).toEqual([
      0,
      `PUBLISHED to ${relay.url}: the relay recorded the revocation of contact point th-oag.somchai in seajust;`,
    ]);

    // Lan's laptop never registered there: alone, the revocation tells the relay nothing of who may
    // revoke her, and it records nothing; with her authority's certificate, it checks the issuer.
    await revokeContactPoint('vn-spp.key', 'vn-spp.lan', 'lan.revoked.json');
    const unknown = await publish('lan.revoked.json');
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toMatch(
      new RegExp(
        `^NOT PUBLISHED to ${relay.url} \\(NOT_FOUND\\): no contact-point "vn-spp.lan" known in "seajust"; for a subject not registered here, send the issuer's certificates with the revocation\\.\n` +
          '  The relay did not record the revocation of contact point vn-spp.lan in seajust\\.\n' +
          "  This relay has not seen that contact point yet: publish again with --authority-cert \\(the authority's certificate\\), so it can check the issuer\\.\n" +
          "  Request id [\\w-]+: quote it to the relay's operator\\.\n$",
      ),
    );
    const certified = await publish('lan.revoked.json', '--authority-cert', 'vn-spp.authority.json');
    expect([certified.code, certified.stdout.split('\n')[0]]).toEqual([
      0,
      `PUBLISHED to ${relay.url}: the relay recorded the revocation of contact point vn-spp.lan in seajust;`,
    ]);

    // Another authority's key cannot withdraw Somchai's designation.
    await revokeContactPoint('vn-spp.key', 'th-oag.somchai', 'forged.json');
    const forged = await publish('forged.json');
    expect(forged.code).toBe(1);
    expect(forged.stdout).toContain('(FORBIDDEN): only the issuer above the subject may revoke it.');
    expect(forged.stdout).toContain('Only the issuer right above the subject may revoke it');

    // A revocation changed after it was signed.
    const altered = { ...(await json<object>(join(D, 'somchai.revoked.json'))), reason: 'superseded' };
    await writeFile(join(D, 'altered.json'), JSON.stringify(altered));
    const tampered = await publish('altered.json');
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain('(BAD_SIGNATURE): the revocation is not signed by its issuer.');
    expect(tampered.stdout).toContain('The file was changed after it was signed; make it again with liaison revoke.');
  });
});
