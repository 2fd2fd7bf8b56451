/**
 * Runs one variant of a side-by-side benchmark (sessions.ts, messages.ts) in a Node process of its
 * own, driven over IPC by the bench's process, which still alternates the variants' batches in
 * time: each process waits, idle, while another's batch runs.
 *
 * Why a process each: variants that share a heap pay for each other's garbage. Measured
 * 2026-12-01 on one-way messages in one process: libsignal-client's batch leaves its objects (each
 * holds a native handle) in V8's young generation, and the two scavenges that fall in Liaison's
 * next batch of 600 messages then took 23–26 ms in all, against 0.7–0.9 ms with Liaison alone;
 * Liaison measured 72–95 µs a message beside libsignal and 57 µs alone, while libsignal, whose
 * garbage the other's batches collected, measured faster beside Liaison (166–233 µs) than alone
 * (245–257). An application runs one of them; so does each process here.
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

/**
 * Starts `factory(...args)`, exported by `module`, in a new process (with this process's Node flags:
 * tsx and the source conditions) and resolves once it is built.
 */
export function spawnVariant<Info = undefined>(
  module: URL,
  factory: string,
  args: unknown[] = [],
): Promise<RemoteVariant<Info>> {
  const spec: Spec = { module: module.href, factory, args };
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: process.execArgv,
    env: { ...process.env, [SPEC_VARIABLE]: JSON.stringify(spec) },
  });
  const replies = replyQueue(child, `${factory}(${args.map((a) => JSON.stringify(a)).join(', ')})`);
  return replies.next().then((reply) => {
    if (!('ready' in reply)) throw new Error('a bench variant process did not start');
    return {
      ...(reply.ready as { name: string; info: Info }),
      async batch(count) {
        child.send({ count });
        const answer = await replies.next();
        if (!('ok' in answer)) throw new Error('a bench variant process answered out of turn');
        return answer.ok;
      },
      close: () => child.disconnect(),
    };
  });
}

/** The child's replies in order; an error reply or an exit rejects the one awaited. */
function replyQueue(child: ChildProcess, what: string) {
  const waiting: { resolve(reply: Reply): void; reject(error: Error): void }[] = [];
  const fail = (error: Error) => {
    for (const w of waiting.splice(0)) w.reject(error);
  };
  child.on('message', (reply: Reply) => {
    const next = waiting.shift();
    if ('error' in reply) next?.reject(new Error(`bench variant ${what}: ${reply.error}`));
    else next?.resolve(reply);
  });
  child.on('exit', (code) => fail(new Error(`bench variant ${what} exited (${code})`)));
  return {
    next: () => new Promise<Reply>((resolve, reject) => waiting.push({ resolve, reject })),
  };
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
