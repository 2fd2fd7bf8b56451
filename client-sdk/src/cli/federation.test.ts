import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBase64url, encodeBase64url, manifestSignedBy, NetworkManifest, TrustedRoot } from '@liaison/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../crypto/keys.js';
import { ready, sodium } from '../crypto/sodium.js';
import { runCli } from './__fixtures__/run-cli.js';

let dir: string;
const cli = (...args: string[]) => runCli(dir, ...args);
const json = async (name: string) => JSON.parse(await readFile(join(dir, name), 'utf8')) as unknown;
const root = async (name: string) => TrustedRoot.parse(await json(`${name}.root.json`));
const exists = (name: string) =>
  stat(join(dir, name)).then(
    () => true,
    () => false,
  );

/** A relay key made by `liaison relay key`, as the public key it printed. */
async function relayKey(out: string): Promise<string> {
  const made = await cli('relay', 'key', '--out', out);
  const key = /^Public key: (\S+)$/m.exec(made.stdout)?.[1];
  if (made.code !== 0 || !key) throw new Error(`liaison relay key failed: ${made.stderr}`);
  return key;
}

let ejnRelay: string;
let seajustRelay: string;

beforeAll(async () => {
  await ready();
  dir = await mkdtemp(join(tmpdir(), 'liaison-federation-cli-'));
  await writeFile(join(dir, 'pass'), 'a long test passphrase\n');
  for (const [id, name] of [
    ['ejn', 'European Judicial Network'],
    ['seajust', 'SEAJust'],
    ['casc', 'CASC'],
  ] as const) {
    const init = await cli('network', 'init', '--id', id, '--name', name, '--out', id, '--passphrase-file', 'pass');
    if (init.code !== 0) throw new Error(init.stderr);
  }
  ejnRelay = await relayKey('ejn-relay.json');
  seajustRelay = await relayKey('seajust-relay.json');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('liaison relay key', () => {
  it('writes the seed alone, mode 0600, prints only its public key, and never overwrites', async () => {
    const made = await cli('relay', 'key', '--out', 'relay.json');
    expect(made.code).toBe(0);
    expect((await stat(join(dir, 'relay.json'))).mode & 0o777).toBe(0o600);
    const file = (await json('relay.json')) as { seed: string };
    expect(Object.keys(file)).toEqual(['seed']);
    const seed = decodeBase64url(file.seed) as Uint8Array;
    expect(seed.length).toBe(32);
    // The key the relay will make from the seed is the one printed for the manifest.
    const publicKey = encodeBase64url(sodium().crypto_sign_seed_keypair(seed).publicKey);
    expect(made.stdout).toBe(
      "Wrote relay.json: the relay's signing key (secret, mode 0600). The relay reads it from LIAISON_RELAY_KEY.\n" +
        `Public key: ${publicKey}\n` +
        `Name it in the network manifest: liaison network manifest … --relay https://RELAY-ORIGIN=${publicKey}\n`,
    );
    expect(`${made.stdout}${made.stderr}`).not.toContain(file.seed);

    const again = await cli('relay', 'key', '--out', 'relay.json');
    expect([again.code, again.stderr]).toEqual([
      1,
      'liaison: relay.json already exists; choose another name or remove it first\n',
    ]);
    expect(await json('relay.json')).toEqual(file);
  });
});

describe('liaison network manifest', () => {
  it('signs with the root the relays and partners given; verify says what it names', async () => {
    const [ejn, seajust] = [await root('ejn'), await root('seajust')];
    const made = await cli(
      'network',
      'manifest',
      '--root',
      'ejn.root.json',
      '--root-key',
      'ejn.key',
      '--version',
      '3',
      '--authorities',
      'fr-mj,de-bmj',
      '--relay',
      `https://relay.ejn.example=${ejnRelay}`,
      '--relay',
      `http://127.0.0.1:8443=${seajustRelay}`,
      '--partner-root',
      'seajust.root.json',
      '--out',
      'ejn.manifest.json',
      '--passphrase-file',
      'pass',
    );
    expect(made.stderr).toBe('');
    const lines = [
      `  relay https://relay.ejn.example  signing key ${ejnRelay}`,
      `  relay http://127.0.0.1:8443  signing key ${seajustRelay}`,
      '  authorities fr-mj, de-bmj  (the contact point ids this network speaks for begin with one)',
      `  partner seajust  root key ${seajust.publicKey}`,
    ];
    expect(made.stdout).toBe(
      [
        'Manifest version 3 of "ejn" signed by its root; wrote ejn.manifest.json.',
        ...lines,
        "Give it to the network's relays, and to each partner network's secretariat: a partnership counts once their manifest names this network too.",
        '',
      ].join('\n'),
    );
    // What a relay reads: the schema's shape, signed by the network's root, in the order given.
    const manifest = NetworkManifest.parse(await json('ejn.manifest.json'));
    expect(manifestSignedBy(manifest, ejn.publicKey, verifySignature)).toBe(true);
    expect(manifest).toMatchObject({
      networkId: 'ejn',
      version: 3,
      relays: [
        { origin: 'https://relay.ejn.example', signingKey: ejnRelay },
        { origin: 'http://127.0.0.1:8443', signingKey: seajustRelay },
      ],
      authorities: ['fr-mj', 'de-bmj'],
      partners: [{ networkId: 'seajust', rootKey: seajust.publicKey }],
    });

    const verified = await cli('network', 'manifest', 'verify', 'ejn.manifest.json', '--root', 'ejn.root.json');
    expect([verified.code, verified.stderr]).toEqual([0, '']);
    expect(verified.stdout).toBe(
      [
        `VERIFIED: manifest version 3 of "European Judicial Network" (ejn), issued ${new Date(manifest.issuedAt).toISOString()}`,
        ...lines,
        '',
      ].join('\n'),
    );
  });

  it('says whether each partnership is mutual, and why not', async () => {
    const [ejn, casc] = [await root('ejn'), await root('casc')];
    const sign = (name: string, ...args: string[]) =>
      cli(
        'network',
        'manifest',
        '--root',
        `${name}.root.json`,
        '--root-key',
        `${name}.key`,
        '--version',
        '1',
        '--authorities',
        `${name}-authority`,
        ...args,
        '--out',
        `${name}.partners.json`,
        '--passphrase-file',
        'pass',
      );
    // EJN names SEAJust and CASC; SEAJust names EJN back; CASC names EJN with a key that is not EJN's root.
    await sign(
      'ejn',
      '--relay',
      `https://relay.ejn.example=${ejnRelay}`,
      '--partner-root',
      'seajust.root.json',
      '--partner',
      `casc=${casc.publicKey}`,
    );
    await sign(
      'seajust',
      '--relay',
      `https://relay.seajust.example=${seajustRelay}`,
      '--partner',
      `ejn=${ejn.publicKey}`,
    );
    const cascRelay = await relayKey('casc-relay.json');
    await sign('casc', '--relay', `https://relay.casc.example=${cascRelay}`, '--partner', `ejn=${casc.publicKey}`);

    const mutual = await cli(
      'network',
      'manifest',
      'verify',
      'ejn.partners.json',
      '--root',
      'ejn.root.json',
      '--partner-manifest',
      'seajust.partners.json',
    );
    expect(mutual.code).toBe(0);
    expect(mutual.stdout).toContain(
      'PARTNERSHIP with "seajust": mutual (seajust.partners.json, version 1); its relays: https://relay.seajust.example\n',
    );

    const notMutual = await cli(
      'network',
      'manifest',
      'verify',
      'ejn.partners.json',
      '--root',
      'ejn.root.json',
      '--partner-manifest',
      'seajust.partners.json',
      '--partner-manifest',
      'casc.partners.json',
    );
    expect(notMutual.code).toBe(1);
    expect(notMutual.stdout).toContain('PARTNERSHIP with "seajust": mutual');
    expect(notMutual.stdout).toContain(
      'NO PARTNERSHIP with "casc" (not-mutual, casc.partners.json): the manifest of "casc" does not name "ejn" with our root key as a partner.\n',
    );

    // SEAJust's manifest does not name CASC: a manifest of a network ours does not name is refused,
    // whatever it says.
    const notNamed = await cli(
      'network',
      'manifest',
      'verify',
      'seajust.partners.json',
      '--root',
      'seajust.root.json',
      '--partner-manifest',
      'casc.partners.json',
    );
    expect([notNamed.code, notNamed.stdout.split('\n').at(-2)]).toEqual([
      1,
      'NO PARTNERSHIP with "casc" (not-named, casc.partners.json): our manifest does not name "casc" as a partner.',
    ]);
  });

  it('refuses a manifest altered after signing, or verified against another root', async () => {
    const signed = (await json('ejn.manifest.json')) as NetworkManifest;
    // Still a well-formed manifest: only what it says changed, not its shape.
    const altered = { ...signed, relays: [{ ...signed.relays[0], origin: 'https://relay.attacker.example' }] };
    await writeFile(join(dir, 'altered.json'), JSON.stringify(altered));
    const tampered = await cli('network', 'manifest', 'verify', 'altered.json', '--root', 'ejn.root.json');
    expect([tampered.code, tampered.stdout]).toEqual([
      1,
      'NOT VERIFIED: altered.json is not signed by the root of "ejn" (it was altered, or signed with another key).\n',
    ]);
    const otherRoot = await cli('network', 'manifest', 'verify', 'ejn.manifest.json', '--root', 'casc.root.json');
    expect([otherRoot.code, otherRoot.stdout]).toEqual([
      1,
      'NOT VERIFIED: ejn.manifest.json is the manifest of "ejn", and the root given is of "casc".\n',
    ]);
    // A root key file that is not the network's is refused before anything is signed.
    const wrongKey = await cli(
      'network',
      'manifest',
      '--root',
      'ejn.root.json',
      '--root-key',
      'casc.key',
      '--version',
      '1',
      '--authorities',
      'fr-mj',
      '--relay',
      `https://relay.ejn.example=${ejnRelay}`,
      '--out',
      'wrong-key.json',
      '--passphrase-file',
      'pass',
    );
    expect([wrongKey.code, wrongKey.stderr]).toEqual([1, 'liaison: casc.key is not the key of network "ejn"\n']);
    expect(await exists('wrong-key.json')).toBe(false);
  });

  it('refuses a bad origin, version or partner before asking for the passphrase, and writes nothing', async () => {
    const casc = await root('casc');
    // No --passphrase-file and no terminal: each refusal below comes before the root key is opened.
    const attempt = (...args: string[]) =>
      cli(
        'network',
        'manifest',
        '--root',
        'ejn.root.json',
        '--root-key',
        'ejn.key',
        '--authorities',
        'fr-mj',
        '--out',
        'bad.json',
        ...args,
      );
    const relay = (origin: string) => ['--relay', `${origin}=${ejnRelay}`];
    const refusals: [string[], string][] = [
      [
        ['--version', '1', ...relay('http://relay.ejn.example')],
        `--relay http://relay.ejn.example=${ejnRelay}: origin: an origin such as https://relay.example.org (plain http only on a loopback address)`,
      ],
      [
        ['--version', '1', ...relay('https://relay.ejn.example/federation')],
        `--relay https://relay.ejn.example/federation=${ejnRelay}: origin: an origin such as https://relay.example.org (plain http only on a loopback address)`,
      ],
      [
        ['--version', '1', '--relay', 'https://relay.ejn.example'],
        '--relay takes ORIGIN=PUBLICKEY, like https://relay.example.org=KEY (the key liaison relay key printed), not "https://relay.ejn.example"',
      ],
      [
        ['--version', '1', '--relay', 'https://relay.ejn.example=not-a-key'],
        '--relay https://relay.ejn.example=not-a-key: signingKey: 32 bytes as base64url (43 characters)',
      ],
      [
        ['--version', '1', ...relay('https://a.example'), ...relay('https://a.example')],
        'cannot sign the manifest: relays: each relay origin once',
      ],
      [['--version', '1'], '--relay is required: each relay of the network as ORIGIN=PUBLICKEY'],
      [
        ['--version', '0', ...relay('https://relay.ejn.example')],
        '--version must be a whole number from 1 up; each new manifest of a network takes a higher one',
      ],
      [
        ['--version', '1', ...relay('https://relay.ejn.example'), '--partner-root', 'ejn.root.json'],
        'cannot sign the manifest: partners: a network is not its own partner',
      ],
      [
        ['--version', '1', ...relay('https://relay.ejn.example'), '--partner', casc.publicKey],
        `--partner takes NETWORK-ID=ROOT-PUBLICKEY (or give the partner's .root.json with --partner-root), not "${casc.publicKey}"`,
      ],
      [
        ['--version', '1', ...relay('https://relay.ejn.example'), '--partner-root', 'ejn-relay.json'],
        'ejn-relay.json is not a trusted root (.root.json): networkId: Invalid input: expected string, received undefined',
      ],
    ];
    for (const [args, message] of refusals) {
      const result = await attempt(...args);
      expect([result.code, result.stderr]).toEqual([1, `liaison: ${message}\n`]);
    }
    expect(await exists('bad.json')).toBe(false);
  });

  it('names a missing manifest FILE or a repeated option as a usage mistake, exit code 2', async () => {
    const noFile = await cli('network', 'manifest', 'verify', '--root', 'ejn.root.json');
    expect([noFile.code, noFile.stderr.split('\n')[0]]).toEqual([
      2,
      'liaison network manifest verify: the manifest FILE to verify is missing',
    ]);
    const twoFiles = await cli('network', 'manifest', 'verify', 'a.json', 'b.json', '--root', 'ejn.root.json');
    expect(twoFiles.stderr.split('\n')[0]).toBe('liaison network manifest verify: unexpected argument "b.json"');
    const twoOuts = await cli('relay', 'key', '--out', 'one.json', '--out', 'two.json');
    expect([twoOuts.code, twoOuts.stderr.split('\n')[0]]).toEqual([
      2,
      'liaison relay key: --out is given more than once',
    ]);
    expect(await exists('one.json')).toBe(false);
  });
});
