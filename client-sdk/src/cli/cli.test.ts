import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBase64url } from '@liaison/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentityKeyPair } from '../crypto/keys.js';
import { ready } from '../crypto/sodium.js';
import { FileKeyStore } from '../key-store/file-key-store.js';
import { createNetworkRoot, designateContactPoint, issueAuthorityCertificate } from '../trust/issue.js';
import { runCli } from './__fixtures__/run-cli.js';

let dir: string;

beforeAll(async () => {
  await ready();
  dir = await mkdtemp(join(tmpdir(), 'liaison-cli-'));
  await writeFile(join(dir, 'pass'), 'a long test passphrase\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli(dir, ...args);

/** A loopback port nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

describe('the liaison CLI', () => {
  it('writes private keys encrypted with mode 0600, and never overwrites', async () => {
    expect((await cli('key', 'new', '--out', 'k1', '--passphrase-file', 'pass')).code).toBe(0);
    expect((await stat(join(dir, 'k1.key'))).mode & 0o777).toBe(0o600);
    const file = await readFile(join(dir, 'k1.key'), 'utf8');
    expect(file).toContain('"sealed"');
    const again = await cli('key', 'new', '--out', 'k1', '--passphrase-file', 'pass');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('k1.key already exists');
  });

  it('explains mistakes clearly and exits non-zero', async () => {
    await cli('network', 'init', '--id', 'ejn', '--name', 'EJN', '--out', 'ejn', '--passphrase-file', 'pass');
    await cli('key', 'new', '--out', 'fr', '--passphrase-file', 'pass');
    await writeFile(join(dir, 'wrong'), 'not the passphrase\n');
    const common = ['--id', 'fr-dacg', '--country', 'FR', '--name', 'DACG', '--out', 'fr.json'];
    const wrongPassphrase = await cli(
      'authority',
      'issue',
      '--root',
      'ejn.root.json',
      '--root-key',
      'ejn.key',
      '--public-key',
      'fr.pub',
      ...common,
      '--passphrase-file',
      'wrong',
    );
    expect([wrongPassphrase.code, wrongPassphrase.stderr]).toEqual([
      1,
      'liaison: wrong passphrase for ejn.key (or the file was altered)\n',
    ]);
    const wrongKey = await cli(
      'authority',
      'issue',
      '--root',
      'ejn.root.json',
      '--root-key',
      'fr.key',
      '--public-key',
      'fr.pub',
      ...common,
      '--passphrase-file',
      'pass',
    );
    expect(wrongKey.stderr).toContain('fr.key is not the key of network "ejn"');
    const pubAsKey = await cli(
      'authority',
      'issue',
      '--root',
      'ejn.root.json',
      '--root-key',
      'fr.pub',
      '--public-key',
      'fr.pub',
      ...common,
      '--passphrase-file',
      'pass',
    );
    expect(pubAsKey.stderr).toContain('did you pass a .pub or certificate file?');
    const badCountry = await cli(
      'authority',
      'issue',
      '--root',
      'ejn.root.json',
      '--root-key',
      'ejn.key',
      '--public-key',
      'fr.pub',
      ...common.map((a) => (a === 'FR' ? 'France' : a)),
      '--passphrase-file',
      'pass',
    );
    expect(badCountry.stderr).toContain('country: ISO 3166-1 alpha-2');
    const missing = await cli('authority', 'issue', '--root', 'ejn.root.json');
    expect([missing.code, missing.stderr]).toEqual([1, 'liaison: --root-key is required\n']);
    const badSessions = await cli('device', 'certify', '--sessions', 'quantum', '--contact-cert', 'x.json');
    expect(badSessions.stderr).toContain('--sessions takes hybrid (the default) or classical');
    const noPassphrase = await cli('key', 'new', '--out', 'k2');
    expect(noPassphrase.stderr).toContain('give --passphrase-file FILE or set LIAISON_PASSPHRASE');
  });

  it('names an unknown command or option, and exits 2', async () => {
    const bogus = await cli('bogus');
    expect([bogus.code, bogus.stderr.split('\n')[0]]).toEqual([2, 'liaison: unknown command "bogus"']);
    expect(bogus.stdout).toBe('');
    expect((await cli('device')).stderr).toContain(
      'unknown command "device"; did you mean liaison device new or liaison device certify?',
    );
    const colour = await cli('key', 'new', '--colour', 'red');
    expect([colour.code, colour.stderr.split('\n')[0]]).toEqual([
      2,
      'liaison key new: unknown option --colour (it takes --out, --passphrase-file)',
    ]);
    // An option of another command is unknown here too, rather than silently ignored.
    const elsewhere = await cli('verify', '--relay', 'https://relay.example.org');
    expect([elsewhere.code, elsewhere.stderr]).toMatchObject([2, expect.stringContaining('unknown option --relay')]);
    expect((await cli('key', 'new', '--out')).stderr).toContain('liaison key new: --out needs a value');
    expect((await cli('key', 'new', 'k9')).stderr).toContain('liaison key new: unexpected argument "k9"');
  });

  it('lists every command in --help', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    const commands = ['network init', 'key new', 'device new', 'device certify', 'revocation publish', 'relay key'];
    for (const command of [...commands, 'network manifest', 'network manifest verify']) {
      expect(help.stdout).toContain(`liaison ${command} `);
    }
  });

  it('device new: a key store the SDK opens, holding the key whose .pub it writes; never overwritten', async () => {
    const made = await cli('device', 'new', '--out', 'laptop', '--passphrase-file', 'pass');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain("laptop.store  the device's keys, encrypted, mode 0600");
    expect(made.stdout).toContain('laptop.pub    its public key: certify it with liaison device certify');
    expect((await stat(join(dir, 'laptop.store'))).mode & 0o777).toBe(0o600);
    const store = await FileKeyStore.open(join(dir, 'laptop.store'), { passphrase: 'a long test passphrase' });
    const identity = await store.getIdentity();
    const publicKey = (await readFile(join(dir, 'laptop.pub'), 'utf8')).trim();
    expect(encodeBase64url(identity?.publicKey as Uint8Array)).toBe(publicKey);
    // Neither the passphrase nor the private key is ever shown, and the store holds the key only sealed.
    const privateKey = encodeBase64url(identity?.privateKey as Uint8Array);
    const sealed = await readFile(join(dir, 'laptop.store'));
    for (const text of [made.stdout, made.stderr, sealed.toString('latin1'), sealed.toString('base64url')]) {
      expect(text).not.toContain('a long test passphrase');
      expect(text).not.toContain(privateKey);
    }
    expect(Buffer.from(sealed).includes(Buffer.from(identity?.privateKey as Uint8Array))).toBe(false);

    const again = await cli('device', 'new', '--out', 'laptop', '--passphrase-file', 'pass');
    expect([again.code, again.stderr]).toEqual([
      1,
      'liaison: laptop.store already exists; choose another name or remove it first\n',
    ]);
    expect(await readFile(join(dir, 'laptop.store'))).toEqual(sealed);
    // A name half taken is refused before anything is written.
    await writeFile(join(dir, 'phone.pub'), "someone else's key\n");
    expect((await cli('device', 'new', '--out', 'phone', '--passphrase-file', 'pass')).stderr).toContain(
      'phone.pub already exists',
    );
    await expect(stat(join(dir, 'phone.store'))).rejects.toMatchObject({ code: 'ENOENT' });
    await writeFile(join(dir, 'short'), 'short\n');
    const short = await cli('device', 'new', '--out', 'tablet', '--passphrase-file', 'short');
    expect([short.code, short.stderr]).toEqual([1, 'liaison: the passphrase must have at least 8 characters\n']);
    await expect(stat(join(dir, 'tablet.store'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('revocation publish: says in words when the relay cannot be reached, and exits 1', async () => {
    await cli('network', 'init', '--id', 'wacap', '--name', 'WACAP', '--out', 'wacap', '--passphrase-file', 'pass');
    const revoke = await cli(
      'revoke',
      '--issuer-key',
      'wacap.key',
      '--network',
      'wacap',
      '--subject',
      'authority',
      '--id',
      'gh-oag',
      '--out',
      'gh.revoked.json',
      '--passphrase-file',
      'pass',
    );
    expect(revoke.stdout).toContain("Publish it to the network's relays with liaison revocation publish");
    const port = await closedPort();
    const result = await cli(
      'revocation',
      'publish',
      '--relay',
      `http://127.0.0.1:${port}/`,
      '--revocation',
      'gh.revoked.json',
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      `NOT PUBLISHED to http://127.0.0.1:${port}: the relay cannot be reached (nothing answers at that address).\n` +
        '  Check the address and try again; publishing the same revocation twice is harmless.\n',
    );
    const badAddress = await cli(
      'revocation',
      'publish',
      '--relay',
      'relay.example.org',
      '--revocation',
      'gh.revoked.json',
    );
    expect([badAddress.code, badAddress.stderr]).toEqual([
      1,
      'liaison: --relay takes a relay\'s address, like https://relay.example.org, not "relay.example.org"\n',
    ]);
    const notARevocation = await cli(
      'revocation',
      'publish',
      '--relay',
      'https://relay.example.org',
      '--revocation',
      'pass',
    );
    expect(notARevocation.stderr).toContain('cannot read a revocation from pass');
  });

  it('says when a certificate has expired', async () => {
    const { root, keyPair } = createNetworkRoot('ejn2', 'EJN test');
    const authorityKeys = generateIdentityKeyPair();
    const past = { notBefore: Date.now() - 20 * 86_400_000, notAfter: Date.now() - 10 * 86_400_000 };
    const authority = issueAuthorityCertificate(keyPair, {
      networkId: 'ejn2',
      authorityId: 'fr-dacg',
      country: 'FR',
      name: 'DACG',
      publicKey: encodeBase64url(authorityKeys.publicKey),
      notBefore: past.notBefore,
      notAfter: Date.now() + 86_400_000,
    });
    const contact = designateContactPoint(authorityKeys, {
      networkId: 'ejn2',
      authorityId: 'fr-dacg',
      contactPointId: 'fr-dacg.marie',
      kind: 'person',
      displayName: 'Marie',
      role: 'Magistrate',
      languages: ['fr'],
      competences: ['mla'],
      timeZone: 'Europe/Paris',
      accountKey: encodeBase64url(generateIdentityKeyPair().publicKey),
      escalationChain: [],
      ...past,
    });
    await writeFile(join(dir, 'ejn2.root.json'), JSON.stringify(root));
    await writeFile(join(dir, 'a.json'), JSON.stringify(authority));
    await writeFile(join(dir, 'c.json'), JSON.stringify(contact));
    const result = await cli('verify', '--roots', 'ejn2.root.json', '--authority', 'a.json', '--contact', 'c.json');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^NOT VERIFIED \(EXPIRED, at the contact-point link\): the designation of "fr-dacg.marie" expired on /,
    );
  });
});
