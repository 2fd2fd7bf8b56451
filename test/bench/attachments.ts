/**
 * Attachment throughput beside its ceilings, measured in the same run:
 *   - crypto: the SDK's sealing (secretstream + SHA-256) and opening of the same bytes, in this process;
 *   - plain HTTP: the same ciphertext chunks PUT to and GET from a server that only stores them as
 *     files (blob-baseline-server.ts), one request at a time, as the SDK sends them;
 *   - the relay: a real SDK sending a file to another through a relay process and the recipient
 *     downloading it, end to end (encryption, upload, storage, download, decryption, hash check),
 *     once unmeasured and then measured: the figures are a warm relay's.
 *
 *   npm run bench -w @liaison/test                 (256 MB; part of npm run bench)
 *   npm run bench -w @liaison/test -- --quick      (32 MB)
 *
 * PGlite with blobs in a folder (the single-node default) always; PostgreSQL with blobs in the
 * database (what a cluster uses) too when LIAISON_BENCH_DATABASE_URL names a server. Writes
 * bench-results/attachments.json.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import {
  AttachmentOpener,
  AttachmentSealer,
  type AttachmentSource,
  plaintextChunks,
  ready,
  Sha256,
} from '@liaison/client';
import { type Attachment, LIMITS } from '@liaison/protocol';
import { buildBeforeRun } from '../harness/build.js';
import { startClient } from '../harness/clients.js';
import { freshPostgresDatabase, type TestDatabase } from '../harness/databases.js';
import { testNetwork } from '../harness/network.js';
import { cpuSeconds, watchPeakMemory } from '../harness/proc.js';
import { spawnRelay } from '../harness/relay-process.js';
import { until } from '../harness/until.js';

buildBeforeRun();

const quick = process.argv.includes('--quick');
const MB = 1024 * 1024;
const SIZE = (quick ? 32 : 256) * MB;
const CHUNK = LIMITS.blobChunkPlaintextBytes;
// One random chunk, repeated: the source costs nothing and memory stays flat.
const PATTERN = randomBytes(CHUNK);

function source(): AttachmentSource {
  return {
    name: 'bench.bin',
    type: 'application/octet-stream',
    size: SIZE,
    async *open() {
      for (let offset = 0; offset < SIZE; offset += CHUNK) yield PATTERN.subarray(0, Math.min(CHUNK, SIZE - offset));
    },
  };
}

const mbPerS = (seconds: number) => SIZE / MB / seconds;
/** This process's CPU seconds (every thread) per GB moved, from a `process.cpuUsage()` taken before. */
const cpuPerGb = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return ((used.user + used.system) / 1e6 / SIZE) * 1024 ** 3;
};
/**
 * Full (mark-compact) collections in this process so far. Counted because they, not the crypto,
 * made the SDK's uploads cost twice their crypto's CPU through Node's fetch (docs/performance.md,
 * "Attachment uploads in Node"): unlike the CPU figures, the count hardly moves with the load.
 */
let fullCollections = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if ((entry as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
      fullCollections += 1;
    }
  }
}).observe({ entryTypes: ['gc'] });

/** Wall seconds of `work`, this process's CPU seconds per GB in it, and its full collections. */
const timed = async (work: () => Promise<unknown>) => {
  const cpu = process.cpuUsage();
  const collections = fullCollections;
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  // gc entries are delivered after the collection: let those of the last moments arrive.
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { seconds, cpuPerGb: cpuPerGb(cpu), fullCollections: fullCollections - collections };
};

/** A server's CPU seconds per GB, from its CPU seconds before the upload, after it, and after the download. */
function serverCpuPerGb(before: number, uploaded: number, downloaded: number): { upload: number; download: number } {
  const perGb = (seconds: number) => (seconds / SIZE) * 1024 ** 3;
  return { upload: perGb(uploaded - before), download: perGb(downloaded - uploaded) };
}

interface Row {
  target: string;
  uploadMbPerS: number;
  downloadMbPerS: number;
  /** The server process's CPU seconds per GB taken in (upload) and given out (download). */
  serverCpuSecondsPerGb?: { upload: number; download: number };
  serverPeakGrowthMb?: number;
  /**
   * The SDK's CPU seconds per GB (this process: sender and recipient, every thread), up and down.
   * Unlike the rates it hardly moves with the other tenants of the cores: with the crypto row's, it
   * says how much of the SDK's work is the crypto, whatever the load.
   */
  sdkCpuSecondsPerGb?: { upload: number; download: number };
  /** Full garbage collections in this process (the SDK's) during the upload and the download. */
  sdkFullCollections?: { upload: number; download: number };
}

async function crypto(): Promise<{ row: Row; sealed: Uint8Array[] }> {
  await ready();
  const sealer = new AttachmentSealer();
  const sealed: Uint8Array[] = [];
  const hash = new Sha256();
  let index = 0;
  const chunks = Math.ceil(SIZE / CHUNK);
  const seal = await timed(async () => {
    for await (const chunk of plaintextChunks(source().open(), SIZE)) {
      hash.update(chunk);
      sealed.push(sealer.seal(chunk, index++ === chunks - 1));
    }
    hash.digest();
  });
  const open = await timed(async () => {
    const opener = new AttachmentOpener(sealer.key, sealer.header);
    const check = new Sha256();
    for (const [i, c] of sealed.entries()) check.update(opener.open(c, i === chunks - 1));
    check.digest();
  });
  return {
    row: {
      target: 'SDK crypto only (this process)',
      uploadMbPerS: mbPerS(seal.seconds),
      downloadMbPerS: mbPerS(open.seconds),
      sdkCpuSecondsPerGb: { upload: seal.cpuPerGb, download: open.cpuPerGb },
      sdkFullCollections: { upload: seal.fullCollections, download: open.fullCollections },
    },
    sealed,
  };
}

async function plainHttp(sealed: Uint8Array[]): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'liaison-blob-baseline-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(import.meta.dirname, 'blob-baseline-server.ts'), dir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const port = await new Promise<number>((done) =>
    child.stderr?.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) done(Number(m[1]));
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const memory = watchPeakMemory(() => child.pid as number);
  const before = memory.peak();
  const cpu = cpuSeconds(child.pid as number);
  const upload = await timed(async () => {
    for (const [i, chunk] of sealed.entries()) {
      const response = await fetch(`${url}/blob/${i}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream' },
        body: chunk as Uint8Array<ArrayBuffer>,
      });
      await response.json();
    }
  });
  const uploaded = cpuSeconds(child.pid as number);
  const download = await timed(async () => {
    for (let i = 0; i < sealed.length; i++) await (await fetch(`${url}/blob/${i}`)).arrayBuffer();
  });
  const row = {
    target: 'plain HTTP + files (baseline)',
    uploadMbPerS: mbPerS(upload.seconds),
    downloadMbPerS: mbPerS(download.seconds),
    serverCpuSecondsPerGb: serverCpuPerGb(cpu, uploaded, cpuSeconds(child.pid as number)),
    serverPeakGrowthMb: memory.stop() - before,
  };
  child.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
  return row;
}

async function relay(target: string, env: Record<string, string>): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), 'liaison-blob-bench-'));
  const net = await testNetwork();
  const process_ = await spawnRelay([net.root], { LIAISON_BLOB_DIR: join(dir, 'blobs'), ...env });
  const sender = await startClient(process_.url, await net.authority('th-oag', 'TH').contactPoint('a').addDevice(), [
    net.root,
  ]);
  const recipient = await startClient(process_.url, await net.authority('vn-spp', 'VN').contactPoint('b').addDevice(), [
    net.root,
  ]);
  // Memory is watched from before the warm-up: the peak of both transfers over the relay at rest.
  const memory = watchPeakMemory(() => process_.pid());
  const before = memory.peak();
  // Warm up: the same transfer once each way, unmeasured (sessions, tokens, and V8's compiler: the
  // chunk routes run once per 4 MiB, and a relay's first 256 MB ran them still being compiled, at
  // 3.3-3.7 CPU s per GB uploaded with PGlite against 2.8-3.0 once warm).
  const warm = await sender.client.send(
    'vn-spp.b',
    { text: 'warm-up' },
    {
      attachments: [source()],
    },
  );
  await until(() => recipient.messages.some((m) => m.messageId === warm.messageId), 'warm-up message');
  await recipient.client.download(recipient.messages[0]?.attachments?.[0] as Attachment, () => undefined);
  const cpu = cpuSeconds(process_.pid());
  let messageId = '';
  const upload = await timed(async () => {
    ({ messageId } = await sender.client.send('vn-spp.b', { text: 'bench' }, { attachments: [source()] }));
  });
  await until(() => recipient.messages.some((m) => m.messageId === messageId), 'message', 60_000);
  const attachment = recipient.messages.find((m) => m.messageId === messageId)?.attachments?.[0] as Attachment;
  const uploaded = cpuSeconds(process_.pid());
  const download = await timed(() => recipient.client.download(attachment, () => undefined));
  const row = {
    target,
    uploadMbPerS: mbPerS(upload.seconds),
    downloadMbPerS: mbPerS(download.seconds),
    serverCpuSecondsPerGb: serverCpuPerGb(cpu, uploaded, cpuSeconds(process_.pid())),
    serverPeakGrowthMb: memory.stop() - before,
    sdkCpuSecondsPerGb: { upload: upload.cpuPerGb, download: download.cpuPerGb },
    sdkFullCollections: { upload: upload.fullCollections, download: download.fullCollections },
  };
  await Promise.all([sender.client.close(), recipient.client.close()]);
  await process_.stop();
  await rm(dir, { recursive: true, force: true });
  return row;
}

console.error(
  `Attachments: ${SIZE / MB} MB each way, chunks of ${CHUNK / MB} MiB, one request at a time${quick ? ' (quick)' : ''}`,
);
const { row: cryptoRow, sealed } = await crypto();
const rows: Row[] = [cryptoRow, await plainHttp(sealed)];
sealed.length = 0;
rows.push(await relay('relay, PGlite, blobs in a folder', {}));
const server = process.env.LIAISON_BENCH_DATABASE_URL;
if (server) {
  const database: TestDatabase = await freshPostgresDatabase(server);
  await database.db.destroy();
  rows.push(
    await relay('relay, PostgreSQL, blobs in the database', {
      LIAISON_DATABASE_URL: database.url as string,
      LIAISON_BLOB_STORE: 'database',
    }),
  );
  await database.drop().catch(() => undefined);
} else {
  console.error('(set LIAISON_BENCH_DATABASE_URL to a PostgreSQL server to measure blobs kept in PostgreSQL too)');
}

const baseline = rows[1] as Row;
// Issue 25 asks for each end to end figure as a share of the SDK's crypto alone: what the transfer cannot beat.
console.table(
  rows.map((r) => ({
    target: r.target,
    'upload MB/s': r.uploadMbPerS.toFixed(0),
    'download MB/s': r.downloadMbPerS.toFixed(0),
    'upload / plain HTTP': (r.uploadMbPerS / baseline.uploadMbPerS).toFixed(2),
    'download / plain HTTP': (r.downloadMbPerS / baseline.downloadMbPerS).toFixed(2),
    'up / crypto': (r.uploadMbPerS / cryptoRow.uploadMbPerS).toFixed(2),
    'down / crypto': (r.downloadMbPerS / cryptoRow.downloadMbPerS).toFixed(2),
    'server CPU s / GB up, down': r.serverCpuSecondsPerGb
      ? `${r.serverCpuSecondsPerGb.upload.toFixed(1)}, ${r.serverCpuSecondsPerGb.download.toFixed(1)}`
      : '-',
    'SDK CPU s / GB up, down': r.sdkCpuSecondsPerGb
      ? `${r.sdkCpuSecondsPerGb.upload.toFixed(1)}, ${r.sdkCpuSecondsPerGb.download.toFixed(1)}`
      : '-',
    'SDK full GCs up, down': r.sdkFullCollections
      ? `${r.sdkFullCollections.upload}, ${r.sdkFullCollections.download}`
      : '-',
    'server peak growth MB': r.serverPeakGrowthMb?.toFixed(0) ?? '-',
  })),
);
await mkdir('bench-results', { recursive: true });
await writeFile(
  'bench-results/attachments.json',
  `${JSON.stringify({ date: new Date().toISOString(), quick, sizeMb: SIZE / MB, rows }, null, 2)}\n`,
);
