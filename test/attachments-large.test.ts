import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { LiaisonClient, ReceivedMessage } from '@liaison/client';
import { downloadToFile, fileAttachment } from '@liaison/client/node';
import { type Attachment, BLOB_CHUNK_BYTES, LIMITS } from '@liaison/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { relayCounter } from './harness/metrics.js';
import { testNetwork } from './harness/network.js';
import { watchPeakMemory } from './harness/proc.js';
import { type RelayProcess, spawnRelay } from './harness/relay-process.js';
import { folderChunks } from './harness/stored-chunks.js';
import { until } from './harness/until.js';

/**
 * A 300 MB evidence file through a relay process (PGlite, blobs in its folder), with the relay
 * killed and restarted once during the upload and once during the download, each at a random
 * chunk. Memory of the relay, and of this process while it sends and while it receives, is
 * sampled throughout and must stay flat: about a chunk per transfer, not the file.
 */
const MB = 1024 * 1024;
const CHUNK = LIMITS.blobChunkPlaintextBytes;
const SIZE = Number(process.env.LIAISON_LARGE_ATTACHMENT_MB ?? 300) * MB;
const MARKER = Buffer.from('SEIZED-LEDGER-MARKER-5521');
/** Growth of resident memory over its level before the transfer, in MiB, that this test allows. */
const BOUND_MB = { relay: 100, sender: 150, recipient: 150 };

/** Writes `size` random bytes to `path`, the marker in the middle; returns their SHA-256. */
async function generate(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  async function* chunks() {
    for (let offset = 0; offset < size; offset += MB) {
      const chunk = randomBytes(Math.min(MB, size - offset));
      if (offset <= size / 2 && size / 2 < offset + MB) MARKER.copy(chunk, size / 2 - offset);
      hash.update(chunk);
      yield chunk;
    }
  }
  await pipeline(chunks, createWriteStream(path));
  return hash.digest('hex');
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

const rssMb = () => process.memoryUsage().rss / MB;

describe(`a ${SIZE / MB} MB attachment through a relay process`, () => {
  let relay: RelayProcess;
  let dir: string;
  let sender: TestClient;
  let recipient: TestClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'liaison-large-'));
    const net = await testNetwork();
    relay = await spawnRelay([net.root], { LIAISON_BLOB_DIR: join(dir, 'relay-blobs') });
    sender = await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint('alice').addDevice(), [
      net.root,
    ]);
    recipient = await startClient(relay.url, await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice(), [
      net.root,
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([sender, recipient].map((c) => c?.client.close()));
    await relay?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('streams it both ways in flat memory, resumes after a relay crash each way, and verifies it', async () => {
    const source = join(dir, 'evidence.bin');
    const digest = await generate(source, SIZE);
    const chunks = Math.ceil(SIZE / CHUNK);
    const crashAt = {
      upload: 1 + Math.floor(Math.random() * (chunks - 2)),
      download: 1 + Math.floor(Math.random() * (chunks - 2)),
    };
    console.error(
      `relay killed after upload chunk ${crashAt.upload} and download chunk ${crashAt.download} of ${chunks}`,
    );

    // ---- upload, interrupted once ----
    const relayMemory = watchPeakMemory(() => relay.pid());
    const relayBefore = relayMemory.peak();
    let restart: Promise<void> | undefined;
    let confirmedAtCrash = 0;
    const upload = async (client: LiaisonClient) => {
      const started = performance.now();
      const senderBefore = rssMb();
      const senderMemory = watchPeakMemory(() => process.pid);
      const { messageId } = await client.send(
        'vn-spp.bob',
        { text: 'Evidence package, ledger images', subject: 'MLA 2026/301' },
        {
          attachments: [await fileAttachment(source, { name: 'ledger.bin' })],
          onProgress: ({ transferred }) => {
            if (!restart && transferred >= crashAt.upload * CHUNK) {
              confirmedAtCrash = transferred / CHUNK;
              restart = relay.restart();
            }
          },
        },
      );
      return { messageId, seconds: (performance.now() - started) / 1000, growth: senderMemory.stop() - senderBefore };
    };
    const sent = await upload(sender.client);
    await restart;
    // After the crash only what was not confirmed went again: at most the chunk in flight.
    // Counted by the relay process since it restarted.
    const resent = await relayCounter(relay.url, 'liaison_blob_bytes_total', 'direction="upload"');
    expect(resent).toBeLessThanOrEqual((chunks - confirmedAtCrash) * BLOB_CHUNK_BYTES);
    expect(resent).toBeGreaterThan(0);

    // The relay holds ciphertext only: one file per chunk, none with the marker.
    const stored = folderChunks(join(dir, 'relay-blobs'));
    const [blobId] = await readdir(join(dir, 'relay-blobs'));
    expect(await stored.count(blobId as string)).toBe(chunks);
    expect(await stored.containing(MARKER)).toBe(0);

    // ---- download, interrupted once ----
    await until(() => recipient.messages.some((m) => m.messageId === sent.messageId), 'the message', 60_000);
    const message = recipient.messages.find((m) => m.messageId === sent.messageId) as ReceivedMessage;
    const attachment = message.attachments?.[0] as Attachment;
    expect([attachment.name, attachment.size]).toEqual(['ledger.bin', SIZE]);
    const target = join(dir, 'received.bin');
    restart = undefined;
    const started = performance.now();
    const recipientBefore = rssMb();
    const recipientMemory = watchPeakMemory(() => process.pid);
    await downloadToFile(recipient.client, attachment, target, {
      onProgress: ({ transferred }) => {
        if (!restart && transferred >= crashAt.download * CHUNK) restart = relay.restart();
      },
    });
    const received = {
      seconds: (performance.now() - started) / 1000,
      growth: recipientMemory.stop() - recipientBefore,
    };
    await restart;
    const relayPeak = relayMemory.stop();

    expect((await stat(target)).size).toBe(SIZE);
    expect(await sha256Of(target)).toBe(digest);
    // The only reader has it: the relay deleted the ciphertext.
    expect(await readdir(join(dir, 'relay-blobs'))).toEqual([]);

    const figures = {
      sizeMb: SIZE / MB,
      uploadMbPerS: +(SIZE / MB / sent.seconds).toFixed(1),
      downloadMbPerS: +(SIZE / MB / received.seconds).toFixed(1),
      relayRssBeforeMb: Math.round(relayBefore),
      relayGrowthMb: Math.round(relayPeak - relayBefore),
      senderGrowthMb: Math.round(sent.growth),
      recipientGrowthMb: Math.round(received.growth),
    };
    console.error(`large attachment (each way includes one relay crash and restart): ${JSON.stringify(figures)}`);
    expect(figures.relayGrowthMb).toBeLessThan(BOUND_MB.relay);
    expect(figures.senderGrowthMb).toBeLessThan(BOUND_MB.sender);
    expect(figures.recipientGrowthMb).toBeLessThan(BOUND_MB.recipient);
  }, 300_000);
});
