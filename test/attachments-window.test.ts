import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fromBytes, isLiaisonError, type ReceivedMessage } from '@liaison/client';
import { type Attachment, BLOB_CHUNK_BYTES, LIMITS } from '@liaison/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { testNetwork } from './harness/network.js';
import { startTestRelay, type TestRelay } from './harness/relay.js';
import { type RelayFront, startRelayFront } from './harness/relay-front.js';
import { until } from './harness/until.js';

/**
 * A download fetches a few chunks ahead of the one it opens (docs/attachments.md). Here the
 * recipient downloads through a front that makes the relay's answers arrive out of order, answer
 * one chunk's request with another chunk, or lose a chunk the window had already passed: the file
 * arrives whole, or the download fails with what went wrong and hands over nothing unverified
 * past it, and never counts as downloaded. An answer longer than a chunk is refused as it arrives,
 * whether the relay states its length or not.
 */
const CHUNK = LIMITS.blobChunkPlaintextBytes;
/** Six chunks: more than the window, so that it fills, moves and drains. */
const FILE = randomBytes(5 * CHUNK + 1000);
const CHUNK_PATH = /^\/v1\/blobs\/[0-9a-f-]+\/chunks\/(\d+)$/;

/** The chunk index a request asks for, if it asks for one. */
const chunkIndex = (method: string, path: string) => {
  const match = method === 'GET' ? CHUNK_PATH.exec(path) : null;
  return match ? Number(match[1]) : undefined;
};

describe('a download with chunks fetched ahead, against a relay that answers out of order, wrongly or not at all', () => {
  let relay: TestRelay;
  let front: RelayFront;
  let blobDir: string;
  let alice: TestClient;
  let bob: TestClient;
  /** Chunk indexes in the order bob asked for them, and in the order their answers left the front. */
  let asked: number[];
  let answered: number[];
  /** What the front does to the next downloads: set by each test. */
  let forwardAs: (index: number) => number | undefined;
  let holdMs: (index: number) => number | undefined;
  let alter: (
    index: number,
    body: Buffer,
  ) => { body: Buffer; lengthStated: boolean; headers?: Record<string, string>; status?: number } | undefined;

  beforeAll(async () => {
    const net = await testNetwork();
    blobDir = await mkdtemp(join(tmpdir(), 'liaison-window-'));
    relay = await startTestRelay('pglite', {
      trustedRoots: [net.root],
      blobStore: { kind: 'folder', dir: blobDir },
    });
    front = await startRelayFront(relay.relay.port, undefined, {
      forwardAs: (method, path) => {
        const index = chunkIndex(method, path);
        if (index === undefined) return undefined;
        asked.push(index);
        const instead = forwardAs(index);
        return instead === undefined ? undefined : path.replace(/\d+$/, String(instead));
      },
      holdAnswer: (method, path) => {
        const index = chunkIndex(method, path);
        if (index === undefined) return undefined;
        const hold = holdMs(index);
        // Recorded when the answer leaves: after the hold.
        setTimeout(() => answered.push(index), hold ?? 0);
        return hold;
      },
      alterAnswer: (method, path, body) => {
        const index = chunkIndex(method, path);
        return index === undefined ? undefined : alter(index, body);
      },
    });
    alice = await startClient(relay.url, await net.authority('th-oag', 'TH').contactPoint('alice').addDevice(), [
      net.root,
    ]);
    // Bob addresses the front; the relay signs in as itself.
    bob = await startClient(
      front.url,
      await net.authority('vn-spp', 'VN').contactPoint('bob').addDevice(),
      [net.root],
      {
        relayOrigin: relay.url,
      },
    );
  }, 60_000);
  afterAll(async () => {
    await Promise.all([alice?.client.close(), bob?.client.close()]);
    await front?.close();
    await relay?.stop();
    await rm(blobDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    asked = [];
    answered = [];
    forwardAs = () => undefined;
    holdMs = () => undefined;
    alter = () => undefined;
  });

  const sent = async (): Promise<Attachment> => {
    const { messageId } = await alice.client.send(
      'vn-spp.bob',
      { text: 'Bank records' },
      { attachments: [fromBytes('records.bin', 'application/octet-stream', FILE)] },
    );
    await until(() => bob.messages.some((m) => m.messageId === messageId), `message ${messageId}`);
    const message = bob.messages.find((m) => m.messageId === messageId) as ReceivedMessage;
    return (message.attachments as Attachment[])[0] as Attachment;
  };
  /** Downloads into memory: what the sink was handed, and how it ended. */
  const download = async (attachment: Attachment) => {
    const parts: Buffer[] = [];
    let outcome = 'verified';
    try {
      await bob.client.download(attachment, (chunk) => void parts.push(Buffer.from(chunk)));
    } catch (error) {
      outcome = isLiaisonError(error) ? error.code : String(error);
    }
    return { outcome, handed: Buffer.concat(parts) };
  };
  /** Bob is the blob's only reader: a download counted as done deletes it. */
  const stillStored = async (attachment: Attachment) => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from blobs where blob_id = ${attachment.blobId}`.execute(relay.relay.db);
    return rows[0]?.n === 1;
  };

  it('asks for the next chunks before the first is answered, and puts answers that arrive out of order back in order', async () => {
    const attachment = await sent();
    // The first two answers are held back: the ones after them overtake them.
    holdMs = (index) => ({ 0: 600, 1: 300 })[index];
    const { outcome, handed } = await download(attachment);
    expect(outcome).toBe('verified');
    expect(handed.equals(FILE)).toBe(true);
    // Each chunk asked for once, the window's worth before the first answer came.
    expect([...asked].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(asked.slice(0, 3)).toEqual([0, 1, 2]);
    expect(answered.indexOf(2)).toBeLessThan(answered.indexOf(0));
  });

  it('detects a relay that answers one chunk for another (the same chunk twice), and hands over nothing past it', async () => {
    const attachment = await sent();
    forwardAs = (index) => (index === 2 ? 1 : undefined);
    const { outcome, handed } = await download(attachment);
    expect(outcome).toBe('DECRYPT_FAILED');
    expect(handed.equals(FILE.subarray(0, 2 * CHUNK))).toBe(true);
    // Not counted as downloaded: the blob waits, and an honest relay then serves it whole.
    expect(await stillStored(attachment)).toBe(true);
    forwardAs = () => undefined;
    expect((await download(attachment)).handed.equals(FILE)).toBe(true);
  });

  it('fails with NOT_FOUND when the relay loses a chunk the window had already passed, and hands over nothing past it', async () => {
    const attachment = await sent();
    // Chunk 1 is lost; its answer comes last, after chunks 2 and 3 were answered.
    forwardAs = (index) => (index === 1 ? 99 : undefined);
    holdMs = (index) => (index === 1 ? 300 : undefined);
    const { outcome, handed } = await download(attachment);
    expect(outcome).toBe('NOT_FOUND');
    expect(handed.equals(FILE.subarray(0, CHUNK))).toBe(true);
    expect(await stillStored(attachment)).toBe(true);
  });

  it('stops asking for the chunks ahead once the download failed, though the relay said to try them again', async () => {
    const attachment = await sent();
    // Chunk 0 is answered with chunk 1 (it fails to open); the chunks ahead are "unavailable", which
    // the SDK retries with backoff while the download runs.
    forwardAs = (index) => (index === 0 ? 1 : undefined);
    const unavailable = Buffer.from(JSON.stringify({ error: 'UNAVAILABLE', message: 'the relay is restarting' }));
    alter = (index) =>
      index > 0
        ? { body: unavailable, lengthStated: true, status: 503, headers: { 'content-type': 'application/json' } }
        : undefined;
    const { outcome, handed } = await download(attachment);
    expect(outcome).toBe('DECRYPT_FAILED');
    expect(handed.length).toBe(0);
    const askedWhenFailed = asked.length;
    // Longer than the first retries' backoff (250 ms, then 500 ms).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(asked.slice(askedWhenFailed)).toEqual([]);
  });

  it('refuses a chunk longer than a chunk can be, with its length stated or not, and one a byte short', async () => {
    const attachment = await sent();
    const padded = (body: Buffer) => Buffer.concat([body, Buffer.alloc(BLOB_CHUNK_BYTES - body.length + 1)]);
    for (const lengthStated of [true, false]) {
      alter = (index, body) => (index === 1 ? { body: padded(body), lengthStated } : undefined);
      const { outcome, handed } = await download(attachment);
      expect(outcome).toBe('INVALID_MESSAGE');
      expect(handed.equals(FILE.subarray(0, CHUNK))).toBe(true);
    }
    alter = (index, body) => (index === 1 ? { body: body.subarray(1), lengthStated: true } : undefined);
    expect((await download(attachment)).outcome).toBe('DECRYPT_FAILED');
    expect(await stillStored(attachment)).toBe(true);
  });

  it('reads a chunk a proxy compressed on the way (its stated length is the compressed one)', async () => {
    const attachment = await sent();
    alter = (index, body) =>
      index === 1 ? { body: gzipSync(body), lengthStated: true, headers: { 'content-encoding': 'gzip' } } : undefined;
    const { outcome, handed } = await download(attachment);
    expect(outcome).toBe('verified');
    expect(handed.equals(FILE)).toBe(true);
  });
});
