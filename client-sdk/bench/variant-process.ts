/**
 * Runs the variants of a side-by-side benchmark (sessions.ts, messages.ts) each in a Node process
 * of its own, driven over IPC by the bench's process, which still alternates their batches in time
 * (roundOrder): each process waits, idle, while another's batch runs.
 *
 * Why a process each: variants that share a heap pay for each other's garbage. Measured
 * 2026-12-01 on one-way messages in one process: libsignal-client's batch leaves its objects (each
 * holds a native handle) in V8's young generation, and the two scavenges that fall in Liaison's
 * next batch of 600 messages then took 23–26 ms in all, against 0.7–0.9 ms with Liaison alone;
 * Liaison measured 72–95 µs a message beside libsignal and 57 µs alone, while libsignal, whose
 * garbage the other's batches collected, measured faster beside Liaison (166–233 µs) than alone
 * (245–257). An application runs one of them; each process here runs one variant.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What one batch took, measured in the variant's process around its timed part only. */
export interface Batch {
  seconds: number;
  /** User and system CPU of the variant's process. */
  cpuSeconds: number;
  /** A size the variant reports (a session setup: its first message's bytes). */
  bytes?: number;
}

/** A variant as its own process builds it: a name, fixed facts about it, and a timed batch. */
export interface LocalVariant<Info = undefined> {
  name: string;
  info: Info;
  batch(count: number): Promise<Batch>;
}

/** The same variant seen from the bench's process. */
export interface RemoteVariant<Info = undefined> extends LocalVariant<Info> {
  close(): void;
}

/** Times `work` by the clock and by this process's CPU; `work` may return a size for `Batch.bytes`. */
export async function timed(work: () => Promise<number | undefined>): Promise<Batch> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const bytes = await work();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6, ...(bytes !== undefined && { bytes }) };
}

/** Where a child finds its variant: a module of this folder, the factory it exports, its arguments. */
interface Spec {
  module: string;
  factory: string;
  args: unknown[];
}
type Reply = { ok: Batch } | { ready: { name: string; info: unknown } } | { error: string };

const SPEC_VARIABLE = 'LIAISON_BENCH_VARIANT';

/** A variant to start: a factory exported by `module`, and its arguments. */
export type VariantStart = [module: URL, factory: string, args?: unknown[]];

/**
 * Starts each variant in a process of its own and resolves once all are built. If one fails to
 * start, the others are closed and its error is the one thrown.
 */
export async function spawnVariants<Info = undefined>(starts: VariantStart[]): Promise<RemoteVariant<Info>[]> {
  const started = await Promise.allSettled(starts.map((start) => spawnVariant<Info>(...start)));
  const variants = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    for (const v of variants) v.close();
    throw failed.reason;
  }
  return variants;
}

/**
 * Starts `factory(...args)`, exported by `module`, in a new process, with this process's Node flags
 * (tsx and the source conditions) and `--expose-gc` (emptyYoungGeneration).
 */
function spawnVariant<Info>(module: URL, factory: string, args: unknown[] = []): Promise<RemoteVariant<Info>> {
  const spec: Spec = { module: module.href, factory, args };
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: [...process.execArgv, '--expose-gc'],
    env: { ...process.env, [SPEC_VARIABLE]: JSON.stringify(spec) },
  });
  const replies = replyQueue(child, `${factory}(${args.map((a) => JSON.stringify(a)).join(', ')})`);
  const close = () => {
    if (child.connected) child.disconnect();
  };
  return replies.next().then(
    (reply) => {
      if (!('ready' in reply)) throw new Error('a bench variant process did not start');
      return {
        ...(reply.ready as { name: string; info: Info }),
        async batch(count) {
          if (!child.connected) throw new Error(`bench variant ${factory} is no longer running`);
          child.send({ count });
          const answer = await replies.next();
          if (!('ok' in answer)) throw new Error('a bench variant process answered out of turn');
          return answer.ok;
        },
        close,
      };
    },
    (error: unknown) => {
      close();
      throw error;
    },
  );
}

/** The child's replies in order; an error reply, or the child's end, rejects the one awaited. */
function replyQueue(child: ChildProcess, what: string) {
  const waiting: { resolve(reply: Reply): void; reject(error: Error): void }[] = [];
  child.on('message', (reply: Reply) => {
    const next = waiting.shift();
    if ('error' in reply) next?.reject(new Error(`bench variant ${what}: ${reply.error}`));
    else next?.resolve(reply);
  });
  // 'close' comes after the child's last message has been read ('exit' may come before it).
  child.on('close', (code, signal) => {
    const error = new Error(`bench variant ${what} ended (${signal ?? `exit code ${code}`})`);
    for (const w of waiting.splice(0)) w.reject(error);
  });
  return {
    next: () => new Promise<Reply>((resolve, reject) => waiting.push({ resolve, reject })),
  };
}

/**
 * In a variant's process, before a batch is timed: moves what the untimed part of the batch keeps
 * alive (a setup batch's prepared initiators and bundles) out of V8's young generation, with two
 * scavenges, so that the timed part's scavenges copy only its own objects. Measured by the review
 * of this bench (2026-12-01): without it, each timed batch of 200 setups took a scavenge copying
 * the 200 prepared ones, 15–19 ms for libsignal's and 6–12 ms for Liaison's. Not a full
 * collection: that would also take each library's own old garbage out of the timed part, and with
 * it libsignal measured 7% faster (its major collections, up to 57 ms, fall in its batches).
 */
export function emptyYoungGeneration(): void {
  const { gc } = globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void };
  if (!gc) throw new Error('emptyYoungGeneration runs in a variant process (spawnVariants gives it --expose-gc)');
  gc({ type: 'minor' });
  gc({ type: 'minor' });
}

/**
 * The order of round `round` (-1: the warm-up): rotated by the round, and reversed every other
 * round, so that neither a variant's place in the round nor the variant before it is always the same.
 */
export function roundOrder<V>(variants: readonly V[], round: number): V[] {
  const r = Math.max(round, 0);
  const rotated = variants.map((_, i) => variants[(i + r) % variants.length] as V);
  return r % 2 === 1 ? rotated.reverse() : rotated;
}

/** In a child: builds the variant its spec names and runs the batches it is sent. */
async function serve(spec: Spec, send: (reply: Reply) => void): Promise<void> {
  const { ready } = await import('../src/crypto/sodium.js');
  await ready();
  const exports = (await import(spec.module)) as Record<string, (...args: unknown[]) => Promise<LocalVariant<unknown>>>;
  const make = exports[spec.factory];
  if (!make) throw new Error(`${spec.module} exports no ${spec.factory}`);
  const variant = await make(...spec.args);
  process.on('message', ({ count }: { count: number }) => {
    variant.batch(count).then(
      (ok) => send({ ok }),
      (error: unknown) => send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ ready: { name: variant.name, info: variant.info } });
}

const spec = process.env[SPEC_VARIABLE];
if (spec && process.send && process.argv[1] === fileURLToPath(import.meta.url)) {
  const send = process.send.bind(process) as (reply: Reply) => void;
  serve(JSON.parse(spec) as Spec, send).catch((error: unknown) => {
    send({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    process.disconnect();
  });
}
