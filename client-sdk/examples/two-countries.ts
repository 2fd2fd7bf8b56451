/**
 * Two contact points in two countries exchange an end-to-end encrypted message with an encrypted
 * attachment through a relay started here, and compare safety numbers. Run from the repository root:
 *
 *   npm run example -w @liaison/client
 *
 * It uses only the SDK's public API. The relay is started as `npm start` starts it, trusting the
 * network root this example creates.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  certifyDevice,
  createNetworkRoot,
  designateContactPoint,
  generateIdentityKeyPair,
  type IdentityKeyPair,
  issueAuthorityCertificate,
  LiaisonClient,
  MemoryKeyStore,
  ready,
} from '@liaison/client';
import { downloadToFile, fileAttachment, nodeFetch, workerHash } from '@liaison/client/node';
import { encodeBase64url, PQ_HYBRID_CAPABILITY } from '@liaison/protocol';

await ready();
const YEAR = 365 * 24 * 3600 * 1000;
const validity = { notBefore: Date.now() - 60_000, notAfter: Date.now() + YEAR };

// 1. The network's secretariat creates a root; two central authorities are certified under it.
const { root, keyPair: rootKeys } = createNetworkRoot('seajust', 'SEAJust (example)');
function authority(authorityId: string, country: string, name: string) {
  const keys = generateIdentityKeyPair();
  const certificate = issueAuthorityCertificate(rootKeys, {
    networkId: 'seajust',
    authorityId,
    country,
    name,
    publicKey: encodeBase64url(keys.publicKey),
    ...validity,
  });
  return { keys, certificate };
}
const thailand = authority('th-oag', 'TH', 'Office of the Attorney General');
const vietnam = authority('vn-spp', 'VN', "Supreme People's Procuracy");

// 2. Each authority designates a contact point, whose account key certifies one device.
async function contactPoint(
  by: ReturnType<typeof authority>,
  id: string,
  displayName: string,
  languages: string[],
  timeZone: string,
) {
  const account: IdentityKeyPair = generateIdentityKeyPair();
  const designation = designateContactPoint(by.keys, {
    networkId: 'seajust',
    authorityId: by.certificate.authorityId,
    contactPointId: id,
    kind: 'person',
    displayName,
    role: 'Public Prosecutor',
    languages,
    competences: ['mla'],
    timeZone,
    accountKey: encodeBase64url(account.publicKey),
    escalationChain: [],
    ...validity,
  });
  const keyStore = new MemoryKeyStore(); // FileKeyStore (from '@liaison/client/node') in a real tool
  const deviceKeys = generateIdentityKeyPair();
  await keyStore.setIdentity(deviceKeys);
  const device = certifyDevice(account, {
    contactPointId: id,
    deviceId: encodeBase64url(deviceKeys.publicKey),
    deviceName: 'Office computer',
    ...validity,
    capabilities: [PQ_HYBRID_CAPABILITY],
  });
  return { keyStore, chain: { authority: by.certificate, contactPoint: designation, device } };
}
const somchai = await contactPoint(thailand, 'th-oag.somchai', 'Somchai Prasert', ['th', 'en'], 'Asia/Bangkok');
const lan = await contactPoint(vietnam, 'vn-spp.lan', 'Nguyen Thi Lan', ['vi', 'en'], 'Asia/Ho_Chi_Minh');

// 3. A relay on this machine, trusting only this network's root.
const dir = await mkdtemp(join(tmpdir(), 'liaison-example-'));
await writeFile(join(dir, 'seajust.root.json'), JSON.stringify(root));
const port = await new Promise<number>((done) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port } = probe.address() as { port: number };
    probe.close(() => done(port));
  });
});
const relay = spawn(process.execPath, ['--conditions=@liaison/source', '--import', 'tsx', 'src/main.ts'], {
  cwd: resolve(import.meta.dirname, '../../server'),
  env: {
    ...process.env,
    LIAISON_PORT: String(port),
    LIAISON_DATA_DIR: join(dir, 'data'),
    LIAISON_TRUSTED_ROOTS: join(dir, 'seajust.root.json'),
    LIAISON_LOG_LEVEL: 'warn',
    LIAISON_DATABASE_URL: '',
  },
  stdio: 'ignore',
});
const serverUrl = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  const ready = await fetch(`${serverUrl}/readyz`).then(
    (r) => r.ok,
    () => false,
  );
  if (ready) break;
  if (i > 300) throw new Error('the relay did not start');
  await new Promise((r) => setTimeout(r, 100));
}

try {
  // 4. Both tools connect (registering their device on first use) and talk.
  const alice = await LiaisonClient.create({
    serverUrl,
    keyStore: somchai.keyStore,
    trustedRoots: [root],
    chain: somchai.chain,
    // In Node: attachment uploads without fetch's copies, and their hash on a worker thread (docs/client.md).
    fetch: nodeFetch,
    attachmentHash: workerHash,
  });
  const bob = await LiaisonClient.create({
    serverUrl,
    keyStore: lan.keyStore,
    trustedRoots: [root],
    chain: lan.chain,
    fetch: nodeFetch,
    attachmentHash: workerHash,
  });
  await alice.connect();
  await bob.connect();

  const received = new Promise<void>((done) => {
    bob.on('message', async (message) => {
      const s = message.sender;
      console.log(
        `Lan received from ${s.displayName}, ${s.role}, ${s.authorityName} (${s.country}), network ${s.networkName}:`,
      );
      console.log(`  [${message.subject}] ${message.text}`);
      for (const attachment of message.attachments ?? []) {
        const saved = join(dir, `received-${attachment.name}`);
        await downloadToFile(bob, attachment, saved);
        console.log(`  Lan downloaded ${attachment.name} (${(await stat(saved)).size} bytes), SHA-256 verified`);
      }
      await bob.acknowledge(message.messageId);
      done();
    });
  });
  const acknowledged = new Promise<void>((done) => {
    alice.on('receipt', (receipt) => {
      console.log(
        `Somchai's receipt: ${receipt.status} by ${receipt.contactPointId} at ${new Date(receipt.at).toISOString()}`,
      );
      if (receipt.status === 'acknowledged') done();
    });
  });

  const order = join(dir, 'preservation-order.pdf');
  await writeFile(order, `%PDF-1.7\nOrder of the Criminal Court, account 4471\n${'.'.repeat(50_000)}\n%%EOF\n`);
  const { messageId } = await alice.send(
    'vn-spp.lan',
    {
      subject: 'Preservation request',
      text: 'Please preserve the records of account 4471 pending our formal MLA request.',
      reference: 'TH-OAG-2026-114',
      handling: ['purpose-limited'],
    },
    { attachments: [await fileAttachment(order, { type: 'application/pdf' })] },
  );
  console.log(`Somchai sent message ${messageId}, end-to-end encrypted.`);
  await received;
  await acknowledged;

  console.log('Safety number, as Somchai sees it: ', await alice.safetyNumber('vn-spp.lan'));
  console.log('Safety number, as Lan sees it:     ', await bob.safetyNumber('th-oag.somchai'));
  await alice.close();
  await bob.close();
} finally {
  relay.kill('SIGTERM');
  await new Promise((done) => relay.once('exit', done));
  await rm(dir, { recursive: true, force: true });
}
