import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AttachmentSource,
  fromBytes,
  hashOnThisThread,
  isLiaisonError,
  type ReceivedMessage,
  revoke,
} from '@liaison/client';
import { downloadToFile, nodeFetch } from '@liaison/client/node';
import {
  type Attachment,
  BLOB_CHUNK_BYTES,
  BLOB_CHUNK_OVERHEAD,
  blobSizeFor,
  encodeBase64url,
  LIMITS,
} from '@liaison/protocol';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startClient, type TestClient } from './harness/clients.js';
import { http, register, token } from './harness/device-client.js';
import { relayCounter } from './harness/metrics.js';
import { type TestContactPoint, type TestDevice, testNetwork } from './harness/network.js';
import { describeEachBackend, startTestRelay, type TestRelay } from './harness/relay.js';
import { databaseChunks, folderChunks, type StoredChunks } from './harness/stored-chunks.js';
import { until } from './harness/until.js';

const MB = 1024 * 1024;
const CHUNK = LIMITS.blobChunkPlaintextBytes;
const MARKER = 'EVIDENCE-PACKAGE-MARKER-7731';
const WITHIN = 30 * 60_000;

/** A file of random bytes with a plaintext marker inside, which must never be found on the relay. */
function evidence(size: number): Uint8Array {
  const file = randomBytes(size);
  file.set(new TextEncoder().encode(MARKER), Math.floor(size / 2));
  return file;
}

/** Downloads an attachment into memory (the test's files are small), with the progress seen. */
async function fetchAttachment(c: TestClient, attachment: Attachment) {
  const parts: Uint8Array[] = [];
  const progress: number[] = [];
  await c.client.download(attachment, (chunk) => void parts.push(chunk), {
    onProgress: (p) => progress.push(p.transferred),
  });
  return { bytes: Buffer.concat(parts), progress };
}

async function failureOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
    return 'succeeded';
  } catch (error) {
    return isLiaisonError(error) ? error.code : String(error);
  }
}

/** Each backend with the blob store it has in real use: PGlite a folder (one node), PostgreSQL the database (a cluster). */
describeEachBackend('encrypted attachments (%s)', (backend) => {
  let relay: TestRelay;
  let net: Awaited<ReturnType<typeof testNetwork>>;
  let alice: TestClient;
  let alicePhone: TestClient;
  let bobs: TestClient[];
  let deputy: TestClient;
  let strangerDevice: TestDevice;
  let bobDevice: TestDevice;
  let bobCp: TestContactPoint;
  const clients: TestClient[] = [];
  const start = async (device: TestDevice) => {
    const c = await startClient(relay.url, device, [net.root]);
    clients.push(c);
    return c;
  };
  const received = async (c: TestClient, messageId: string): Promise<ReceivedMessage> => {
    await until(() => c.messages.some((m) => m.messageId === messageId), `message ${messageId}`);
    return c.messages.find((m) => m.messageId === messageId) as ReceivedMessage;
  };
  let chunks: StoredChunks;
  let blobDir: string | undefined;
  const uploadedBytes = () => relayCounter(relay.url, 'liaison_blob_bytes_total', 'direction="upload"');
  const downloadedBytes = () => relayCounter(relay.url, 'liaison_blob_bytes_total', 'direction="download"');
  const count = async (table: 'blobs' | 'blob_chunks' | 'blob_readers', blobId: string) => {
    if (table === 'blob_chunks') return chunks.count(blobId);
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from ${sql.table(table)} where blob_id = ${blobId}`.execute(relay.relay.db);
    return rows[0]?.n;
  };

  beforeAll(async () => {
    net = await testNetwork();
    blobDir = backend === 'pglite' ? await mkdtemp(join(tmpdir(), 'liaison-blobs-')) : undefined;
    relay = await startTestRelay(backend, {
      trustedRoots: [net.root],
      blobStore: blobDir ? { kind: 'folder', dir: blobDir } : { kind: 'database' },
      escalationPollMs: 3_600_000,
      maxBlobBytes: 64 * MB,
      blobQuotaBytes: 100 * MB,
    });
    const vn = net.authority('vn-spp', 'VN');
    const deputyCp = vn.contactPoint('deputy');
    bobCp = vn.contactPoint('bob', { escalationChain: [deputyCp.id] });
    const alicecp = net.authority('th-oag', 'TH').contactPoint('alice');
    alice = await start(await alicecp.addDevice('Alice office'));
    alicePhone = await start(await alicecp.addDevice('Alice phone'));
    bobDevice = await bobCp.addDevice('Bob office');
    bobs = [await start(bobDevice), await start(await bobCp.addDevice('Bob phone'))];
    deputy = await start(await deputyCp.addDevice());
    chunks = blobDir ? folderChunks(blobDir) : databaseChunks(relay.relay.db);
    strangerDevice = await net.authority('ph-doj', 'PH').contactPoint('stranger').addDevice();
    await start(strangerDevice);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.client.close()));
    await relay.stop();
    if (blobDir) await rm(blobDir, { recursive: true, force: true });
  });

  it('sends files to every device of both sides, each verified, with progress; the relay keeps no plaintext, and deletes the blob once all have it', async () => {
    const file = evidence(3 * CHUNK + 12_345);
    const uploaded: number[] = [];
    const { messageId } = await alice.client.send(
      'vn-spp.bob',
      { text: 'Court order and bank records attached', subject: 'MLA 2026/201' },
      {
        attachments: [
          fromBytes('bank-records.bin', 'application/octet-stream', file),
          fromBytes('empty-annex.txt', 'text/plain', new Uint8Array(0)),
        ],
        onProgress: (p) => p.name === 'bank-records.bin' && uploaded.push(p.transferred),
      },
    );
    expect(uploaded).toEqual([1, 2, 3, 4].map((n) => Math.min(n * CHUNK, file.length)));

    const message = await received(bobs[0] as TestClient, messageId);
    expect(message.attachments?.map((a) => [a.name, a.type, a.size])).toEqual([
      ['bank-records.bin', 'application/octet-stream', file.length],
      ['empty-annex.txt', 'text/plain', 0],
    ]);
    const [records, annex] = message.attachments as [Attachment, Attachment];
    expect(
      Number(
        (await sql<{ size: number }>`select size from blobs where blob_id = ${records.blobId}`.execute(relay.relay.db))
          .rows[0]?.size,
      ),
    ).toBe(blobSizeFor(file.length));
    // The relay holds ciphertext only: the marker is in no chunk, and the stored size is the ciphertext's.
    expect(await chunks.containing(Buffer.from(MARKER))).toBe(0);
    expect(await count('blob_chunks', records.blobId)).toBe(4);

    for (const c of [...(bobs as TestClient[]), alicePhone]) {
      const copy = (await received(c, messageId)).attachments as Attachment[];
      const got = await fetchAttachment(c, copy[0] as Attachment);
      expect(Buffer.compare(got.bytes, file)).toBe(0);
      expect(got.progress.at(-1)).toBe(file.length);
      expect((await fetchAttachment(c, copy[1] as Attachment)).bytes.length).toBe(0);
    }
    // Every reader has both: nothing of either is left.
    for (const blobId of [records.blobId, annex.blobId]) {
      expect([
        await count('blobs', blobId),
        await count('blob_chunks', blobId),
        await count('blob_readers', blobId),
      ]).toEqual([0, 0, 0]);
    }
  });

  it("makes its requests, each chunk's upload among them, through the fetch the application gives", async () => {
    const seen: { method: string; bytes: boolean }[] = [];
    const counting: typeof fetch = (input, init) => {
      seen.push({ method: init?.method ?? 'GET', bytes: init?.body instanceof Uint8Array });
      return nodeFetch(input, init);
    };
    const sender = await startClient(
      relay.url,
      await net.authority('th-oag', 'TH').contactPoint('fetcher').addDevice(),
      [net.root],
      // The hash on the calling thread too, as without `workerHash`: the other tests use the worker.
      { fetch: counting, attachmentHash: hashOnThisThread },
    );
    clients.push(sender);
    const file = evidence(CHUNK + 1);

    const { messageId } = await sender.client.send(
      'vn-spp.bob',
      { text: 'Two chunks' },
      { attachments: [fromBytes('two.bin', 'application/octet-stream', file)] },
    );

    expect(seen.filter((r) => r.bytes)).toEqual([
      { method: 'PUT', bytes: true },
      { method: 'PUT', bytes: true },
    ]);
    expect(seen.length).toBeGreaterThan(2);
    const attachment = (await received(bobs[0] as TestClient, messageId)).attachments?.[0] as Attachment;
    expect((await fetchAttachment(bobs[0] as TestClient, attachment)).bytes.equals(file)).toBe(true);
  });

  it('lets no device the sender did not name read a blob, nor learn it exists', async () => {
    const { messageId } = await alice.client.send(
      'vn-spp.bob',
      { text: 'For Bob only' },
      { attachments: [fromBytes('a.bin', 'application/octet-stream', evidence(1000))] },
    );
    const [attachment] = (await received(bobs[0] as TestClient, messageId)).attachments as Attachment[];
    const blobId = (attachment as Attachment).blobId;
    const outsider = await token(relay.url, strangerDevice);
    const unknown = crypto.randomUUID();
    for (const [method, path] of [
      ['GET', '/v1/blobs/:id'],
      ['GET', '/v1/blobs/:id/chunks/0'],
      ['POST', '/v1/blobs/:id/downloaded'],
      ['PUT', '/v1/blobs/:id/readers'],
      ['PUT', '/v1/blobs/:id/chunks/0'],
    ] as const) {
      const body = path.endsWith('readers')
        ? { readers: [strangerDevice.id] }
        : method === 'PUT'
          ? new Uint8Array(1)
          : undefined;
      const ask = async (id: string) => {
        const { status, body: answer } = await http(relay.url, method, path.replace(':id', id), body, outsider);
        const { requestId: _, ...rest } = answer;
        return { status, ...rest };
      };
      // A blob that exists and one that does not get the same answer (and the same statement: storage/blobs.ts).
      const answer = await ask(blobId);
      expect(answer.error, `${method} ${path}`).toBe('NOT_FOUND');
      expect(await ask(unknown), `${method} ${path}`).toEqual(answer);
    }
    // Even with the key, the SDK of an outsider gets nothing from the relay.
    expect(
      await failureOf(clients.at(-1)?.client.download(attachment as Attachment, () => undefined) as Promise<void>),
    ).toBe('NOT_FOUND');
    expect(await count('blob_readers', blobId)).toBe(3);
  });

  it('lets no browser or proxy cache keep an answer: chunk bytes, a blob status, a refusal', async () => {
    const { messageId } = await alice.client.send(
      'vn-spp.bob',
      { text: 'Not for any cache' },
      { attachments: [fromBytes('c.bin', 'application/octet-stream', evidence(1000))] },
    );
    const { blobId } = (
      (await received(bobs[0] as TestClient, messageId)).attachments as Attachment[]
    )[0] as Attachment;
    const authorization = `Bearer ${await token(relay.url, bobDevice)}`;
    for (const path of [`/v1/blobs/${blobId}/chunks/0`, `/v1/blobs/${blobId}`, `/v1/blobs/${crypto.randomUUID()}`]) {
      const answer = await fetch(`${relay.url}${path}`, { headers: { authorization } });
      await answer.arrayBuffer();
      expect([answer.status, answer.headers.get('cache-control')], path).toEqual([
        path.startsWith(`/v1/blobs/${blobId}`) ? 200 : 404,
        'no-store',
      ]);
    }
  });

  it('detects a tampered chunk, swapped chunks and a missing last chunk, and hands over nothing as verified', async () => {
    const file = evidence(3 * CHUNK);
    const send = async () => {
      const { messageId } = await alice.client.send(
        'vn-spp.bob',
        { text: 'Tamper target' },
        { attachments: [fromBytes('t.bin', 'application/octet-stream', file)] },
      );
      return ((await received(bobs[0] as TestClient, messageId)).attachments as Attachment[])[0] as Attachment;
    };
    const db = relay.relay.db;
    const attempt = (a: Attachment) => failureOf(fetchAttachment(bobs[0] as TestClient, a));

    const flipped = await send();
    await chunks.flip(flipped.blobId, 1, 999);
    expect(await attempt(flipped)).toBe('DECRYPT_FAILED');

    const swapped = await send();
    await chunks.swap(swapped.blobId, 0, 1);
    expect(await attempt(swapped)).toBe('DECRYPT_FAILED');

    // The relay drops the last chunk and claims the blob was that much smaller.
    const cut = await send();
    await chunks.drop(cut.blobId, 2);
    await sql`update blobs set chunks = 2, size = ${2 * BLOB_CHUNK_BYTES} where blob_id = ${cut.blobId}`.execute(db);
    expect(await attempt(cut)).toBe('DECRYPT_FAILED');

    // The relay lies about nothing but loses the last chunk.
    const lost = await send();
    await chunks.drop(lost.blobId, 2);
    expect(await attempt(lost)).toBe('NOT_FOUND');
    // Every chunk intact and in place, but not the file the message names (its SHA-256, checked on
    // the hashing thread: the file is more than one chunk).
    const other = await send();
    expect(await attempt({ ...other, sha256: encodeBase64url(new Uint8Array(32)) })).toBe('DECRYPT_FAILED');

    // None of these counted as downloaded: the blobs wait for their readers.
    for (const a of [flipped, swapped, cut, lost, other]) expect(await count('blobs', a.blobId)).toBe(1);
  });

  it('checks every upload request against the blob, and a repeated request changes nothing', async () => {
    const me = await token(relay.url, strangerDevice);
    const blobId = crypto.randomUUID();
    const create = {
      blobId,
      messageId: crypto.randomUUID(),
      size: 2 * BLOB_CHUNK_BYTES + 100,
      readers: [alice.client.deviceId],
    };
    const put = (index: number, bytes: Uint8Array, t = me) =>
      http(relay.url, 'PUT', `/v1/blobs/${blobId}/chunks/${index}`, bytes, t);
    expect((await http(relay.url, 'POST', '/v1/blobs', create, me)).body).toMatchObject({
      chunks: 3,
      storedChunks: 0,
      complete: false,
    });
    expect((await http(relay.url, 'POST', '/v1/blobs', create, me)).body).toMatchObject({ chunks: 3, storedChunks: 0 });
    expect((await http(relay.url, 'POST', '/v1/blobs', { ...create, size: 100 }, me)).body.error).toBe('CONFLICT');
    const full = new Uint8Array(BLOB_CHUNK_BYTES);
    expect((await put(1, full)).body.error).toBe('CONFLICT');
    expect((await put(0, full.subarray(1))).body.error).toBe('INVALID_INPUT');
    expect((await put(0, new Uint8Array(BLOB_CHUNK_BYTES + 1))).body.error).toBe('PAYLOAD_TOO_LARGE');
    expect((await put(3, new Uint8Array(100))).body.error).toBe('INVALID_INPUT');
    expect((await http(relay.url, 'PUT', `/v1/blobs/${blobId}/chunks/0`, { bytes: 'json' }, me)).body.error).toBe(
      'INVALID_INPUT',
    );
    // Another device cannot add to someone else's upload.
    expect((await put(0, full, await token(relay.url, bobDevice))).body.error).toBe('NOT_FOUND');
    expect((await put(0, full)).body).toMatchObject({ storedChunks: 1 });
    expect((await put(0, full)).body).toMatchObject({ storedChunks: 1 });
    expect((await put(1, full)).body).toMatchObject({ storedChunks: 2, complete: false });
    expect((await put(2, new Uint8Array(100))).body).toMatchObject({ storedChunks: 3, complete: true });
    expect(
      (await http(relay.url, 'POST', '/v1/blobs', { ...create, blobId: crypto.randomUUID(), size: 65 * MB }, me)).body
        .error,
    ).toBe('PAYLOAD_TOO_LARGE');
    // The quota counts what is stored: 100 MB here.
    for (let i = 0; i < 2; i++) {
      const more = { ...create, blobId: crypto.randomUUID(), size: 60 * MB };
      expect((await http(relay.url, 'POST', '/v1/blobs', more, me)).status).toBe(i === 0 ? 200 : 429);
    }
  });

  it('stops a device revoked in the middle of a transfer at its next chunk, up or down, with the token it already had', async () => {
    const cp = net.authority('th-oag', 'TH').contactPoint(`leaver-${backend}`);
    const [uploader, reader, staying] = [await cp.addDevice('A'), await cp.addDevice('B'), await cp.addDevice('C')];
    for (const device of [uploader, reader, staying]) expect((await register(relay.url, device)).status).toBe(200);
    const [up, down, kept] = [
      await token(relay.url, uploader),
      await token(relay.url, reader),
      await token(relay.url, staying),
    ];
    const revokeDevice = async (device: TestDevice) => {
      const revocation = revoke(cp.accountKeys, {
        networkId: 'seajust',
        subject: 'device',
        subjectId: device.id,
        reason: 'key-compromise',
        revokedAt: Date.now(),
      });
      expect((await http(relay.url, 'POST', '/v1/revocations', revocation)).status).toBe(200);
    };
    const chunk = new Uint8Array(BLOB_CHUNK_BYTES);
    // Read by the reader, uploaded by the staying device: complete, then the reader goes.
    const done = crypto.randomUUID();
    const size = BLOB_CHUNK_BYTES;
    const create = (blobId: string, readers: string[]) => ({ blobId, messageId: crypto.randomUUID(), size, readers });
    expect((await http(relay.url, 'POST', '/v1/blobs', create(done, [reader.id]), kept)).status).toBe(200);
    expect((await http(relay.url, 'PUT', `/v1/blobs/${done}/chunks/0`, chunk, kept)).body.complete).toBe(true);
    expect((await http(relay.url, 'GET', `/v1/blobs/${done}/chunks/0`, undefined, down)).status).toBe(200);
    // Two chunks by the uploader: the first stored, then the uploader goes.
    const half = crypto.randomUUID();
    const two = { ...create(half, [staying.id]), size: 2 * BLOB_CHUNK_BYTES };
    expect((await http(relay.url, 'POST', '/v1/blobs', two, up)).status).toBe(200);
    expect((await http(relay.url, 'PUT', `/v1/blobs/${half}/chunks/0`, chunk, up)).body.storedChunks).toBe(1);

    await revokeDevice(reader);
    await revokeDevice(uploader);
    expect((await http(relay.url, 'GET', `/v1/blobs/${done}/chunks/0`, undefined, down)).body.error).toBe(
      'UNAUTHENTICATED',
    );
    expect((await http(relay.url, 'PUT', `/v1/blobs/${half}/chunks/1`, chunk, up)).body.error).toBe('UNAUTHENTICATED');
    // Nor a blob that is not there: the same answer, not a NOT_FOUND that says the token still works.
    const nowhere = `/v1/blobs/${crypto.randomUUID()}/chunks/0`;
    expect((await http(relay.url, 'GET', nowhere, undefined, down)).body.error).toBe('UNAUTHENTICATED');
    expect((await http(relay.url, 'PUT', nowhere, chunk, up)).body.error).toBe('UNAUTHENTICATED');
    // Nothing of the refused chunk was kept; the device of the same contact point not revoked goes on.
    expect(await chunks.count(half)).toBe(1);
    expect((await http(relay.url, 'GET', `/v1/blobs/${half}`, undefined, kept)).body).toMatchObject({
      storedChunks: 1,
    });
  });

  it('lets every escalation level read an urgent attachment, and drops the readers of levels never released', async () => {
    const file = evidence(CHUNK + 1);
    const send = () =>
      alice.client.send(
        'vn-spp.bob',
        { text: 'Urgent preservation, order attached' },
        { urgent: { acknowledgeWithin: WITHIN }, attachments: [fromBytes('order.pdf', 'application/pdf', file)] },
      );
    const escalated = await send();
    relay.clock.now += WITHIN;
    await relay.relay.escalate();
    const atDeputy = await received(deputy, escalated.messageId);
    expect(atDeputy.escalationLevel).toBe(1);
    const got = await fetchAttachment(deputy, (atDeputy.attachments as Attachment[])[0] as Attachment);
    expect(Buffer.compare(got.bytes, file)).toBe(0);

    const acknowledged = await send();
    const atBob = await received(bobs[0] as TestClient, acknowledged.messageId);
    const blobId = ((atBob.attachments as Attachment[])[0] as Attachment).blobId;
    expect(await count('blob_readers', blobId)).toBe(4);
    await (bobs[0] as TestClient).client.acknowledge(acknowledged.messageId);
    // The deputy's copy is cancelled, so the blob no longer waits for the deputy.
    expect(await count('blob_readers', blobId)).toBe(3);
    for (const c of [...(bobs as TestClient[]), alicePhone]) {
      const copy = (await received(c, acknowledged.messageId)).attachments as Attachment[];
      await fetchAttachment(c, copy[0] as Attachment);
    }
    expect(await count('blobs', blobId)).toBe(0);
  });

  it('lets a device the recipient added while the sender had an old list read the attachment', async () => {
    // Alice's client knows Bob's two devices and has sessions with both; Bob adds a third.
    await alice.client.send('vn-spp.bob', { text: 'Sessions first' });
    const tablet = await start(await bobCp.addDevice('Bob tablet'));
    const file = evidence(CHUNK + 5);
    const { messageId } = await alice.client.send(
      'vn-spp.bob',
      { text: 'After the device change' },
      { attachments: [fromBytes('late.bin', 'application/octet-stream', file)] },
    );
    const copy = (await received(tablet, messageId)).attachments as Attachment[];
    expect(Buffer.compare((await fetchAttachment(tablet, copy[0] as Attachment)).bytes, file)).toBe(0);
    expect(await count('blob_readers', (copy[0] as Attachment).blobId)).toBe(4);
  });

  it('sweeps away uploads never sent, uploads left unfinished, and blobs past retention', async () => {
    const me = await token(relay.url, strangerDevice);
    const create = async (size: number, chunks: number) => {
      const blobId = crypto.randomUUID();
      const body = { blobId, messageId: crypto.randomUUID(), size, readers: [alice.client.deviceId] };
      expect((await http(relay.url, 'POST', '/v1/blobs', body, me)).status).toBe(200);
      for (let i = 0; i < chunks; i++) {
        const length = Math.min(BLOB_CHUNK_BYTES, size - i * BLOB_CHUNK_BYTES);
        expect(
          (await http(relay.url, 'PUT', `/v1/blobs/${blobId}/chunks/${i}`, new Uint8Array(length), me)).status,
        ).toBe(200);
      }
      return blobId;
    };
    const neverSent = await create(100, 1);
    const unfinished = await create(BLOB_CHUNK_BYTES + 100, 1);
    // A blob whose message was sent and delivered, but whose reader never downloads it.
    const { messageId } = await alice.client.send(
      'vn-spp.bob',
      { text: 'Never downloaded' },
      { attachments: [fromBytes('kept.bin', 'application/octet-stream', evidence(100))] },
    );
    const kept = (((await received(bobs[0] as TestClient, messageId)).attachments as Attachment[])[0] as Attachment)
      .blobId;

    relay.clock.now += 23 * 3600_000;
    await relay.relay.sweep();
    expect([await count('blobs', neverSent), await count('blobs', unfinished), await count('blobs', kept)]).toEqual([
      1, 1, 1,
    ]);
    relay.clock.now += 3600_000;
    await relay.relay.sweep();
    expect([await count('blobs', neverSent), await count('blobs', unfinished), await count('blobs', kept)]).toEqual([
      0, 0, 1,
    ]);
    expect(await count('blob_chunks', unfinished)).toBe(0);
    relay.clock.now += 30 * 24 * 3600_000;
    await relay.relay.sweep();
    expect([await count('blobs', kept), await count('blob_chunks', kept)]).toEqual([0, 0]);
  });

  it('resumes an upload after the sending application restarts: the same message id sends only what the relay lacks', async () => {
    const carolDevice = await net.authority('th-oag', 'TH').contactPoint('carol').addDevice();
    const first = await start(carolDevice);
    const file = evidence(4 * CHUNK + 77);
    const messageId = crypto.randomUUID();
    // The first attempt dies after reading three chunks (the disk, the process: what it is does not matter).
    const dying: AttachmentSource = {
      ...fromBytes('ledger.bin', 'application/octet-stream', file),
      async *open() {
        for (let offset = 0; offset < 3 * CHUNK; offset += CHUNK) yield file.subarray(offset, offset + CHUNK);
        throw new Error('the process died');
      },
    };
    await expect(
      first.client.send('vn-spp.bob', { text: 'Ledger' }, { messageId, attachments: [dying] }),
    ).rejects.toThrow('the process died');
    await first.client.close();
    // The chunk on the wire when it died still arrives: two chunks are confirmed.
    await until(async () => {
      const { rows } = await sql<{ n: number }>`
        select stored_chunks as n from blobs where message_id = ${messageId}`.execute(relay.relay.db);
      return rows[0]?.n === 2;
    }, 'the chunk in flight');
    const before = await uploadedBytes();

    const restarted = await start(carolDevice);
    const progress: number[] = [];
    await restarted.client.send(
      'vn-spp.bob',
      { text: 'Ledger' },
      {
        messageId,
        attachments: [fromBytes('ledger.bin', 'application/octet-stream', file)],
        onProgress: (p) => progress.push(p.transferred),
      },
    );
    // Only the three chunks the relay lacked were sent: two whole ones and the last.
    expect((await uploadedBytes()) - before).toBe(2 * BLOB_CHUNK_BYTES + 77 + BLOB_CHUNK_OVERHEAD);
    expect(progress.at(-1)).toBe(file.length);
    const [attachment] = (await received(bobs[0] as TestClient, messageId)).attachments as Attachment[];
    expect(Buffer.compare((await fetchAttachment(bobs[0] as TestClient, attachment as Attachment)).bytes, file)).toBe(
      0,
    );
    expect(await carolDevice.store.stateKeys('upload:')).toEqual([]);
  });

  it('resumes a download to a file after the receiving application restarts, and refuses a leftover that is not the file', async () => {
    const file = evidence(3 * CHUNK + 5);
    const { messageId } = await alice.client.send(
      'vn-spp.bob',
      { text: 'Order' },
      { attachments: [fromBytes('order.bin', 'application/octet-stream', file)] },
    );
    const bob = bobs[0] as TestClient;
    const [attachment] = (await received(bob, messageId)).attachments as [Attachment];
    const dir = await mkdtemp(join(tmpdir(), 'liaison-download-'));
    const target = join(dir, 'order.bin');
    try {
      // What an interrupted download leaves: two chunks that opened, and half of the third.
      await writeFile(`${target}.part`, file.subarray(0, 2 * CHUNK + CHUNK / 2));
      const before = await downloadedBytes();
      await downloadToFile(bob.client, attachment, target);
      expect(await downloadedBytes()).toBe(before + (file.length - 2 * CHUNK) + 2 * BLOB_CHUNK_OVERHEAD);
      expect(Buffer.compare(await readFile(target), file)).toBe(0);

      // A leftover of other bytes: the next chunk does not open, the leftover goes, a new attempt succeeds.
      const other = bobs[1] as TestClient;
      const [copy] = (await received(other, messageId)).attachments as [Attachment];
      const second = join(dir, 'order-2.bin');
      await writeFile(`${second}.part`, randomBytes(CHUNK));
      expect(await failureOf(downloadToFile(other.client, copy, second))).toBe('DECRYPT_FAILED');
      await expect(stat(`${second}.part`)).rejects.toThrow();
      await downloadToFile(other.client, copy, second);
      expect(Buffer.compare(await readFile(second), file)).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
