// The page's phases: enrol a new device, wait for an administrator's certificate, unlock, use.
import { isLiaisonError, isRetryable, ready } from '@liaison/client';
import { signal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { t } from './i18n/i18n.js';
import { loadConfig, type WebConfig } from './state/config.js';
import { type DeviceRecord, readDeviceRecord } from './state/device-record.js';
import { watchIdle } from './state/idle-lock.js';
import type { Session } from './state/session.js';
import { AwaitingCertificate, Enrol } from './ui/enrol.js';
import { Shell } from './ui/shell.js';
import { Unlock } from './ui/unlock.js';

type Phase =
  | { kind: 'loading' }
  | { kind: 'enrol'; config: WebConfig }
  | { kind: 'awaiting'; record: DeviceRecord }
  | { kind: 'locked'; record: DeviceRecord; reason?: 'idle' }
  | { kind: 'ready'; session: Session }
  | { kind: 'failed'; message: string };

const phase = signal<Phase>({ kind: 'loading' });

/** True only in the bench variant (web/build.ts --bench); production builds define it false and drop what it guards. */
declare const LIAISON_BENCH: boolean;

async function boot(): Promise<void> {
  // libsodium compiles its WebAssembly first: every check of a file or a signature needs it.
  await ready();
  const record = readDeviceRecord();
  if (record?.state === 'enrolled') phase.value = { kind: 'locked', record };
  else if (record?.state === 'awaiting-certificate') phase.value = { kind: 'awaiting', record };
  else {
    try {
      phase.value = { kind: 'enrol', config: await loadConfig() };
    } catch {
      phase.value = { kind: 'failed', message: t('boot.noConfig') };
    }
  }
}

/** Connects in the background: offline is a state the page shows, not an error; a refusal is shown as one. */
async function connect(session: Session): Promise<void> {
  for (let wait = 1000; ; wait = Math.min(wait * 2, 30_000)) {
    try {
      await session.connect();
      return;
    } catch (error) {
      if (phase.value.kind !== 'ready' || phase.value.session !== session) return;
      if (!isLiaisonError(error) || !isRetryable(error)) {
        session.problem.value = isLiaisonError(error) ? error.code : 'INTERNAL';
        return;
      }
      session.connection.value = { state: 'disconnected', reason: error.code, retryInMs: wait };
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

export function opened(session: Session, connected = false): void {
  phase.value = { kind: 'ready', session };
  // test/bench/web.ts fills the history of a long conversation through the app's own code.
  if (LIAISON_BENCH) (globalThis as { liaisonBench?: { session: Session } }).liaisonBench = { session };
  if (!connected) void connect(session);
}

async function lock(session: Session, reason?: 'idle'): Promise<void> {
  const record = readDeviceRecord();
  await session.lock();
  phase.value = record ? { kind: 'locked', record, ...(reason && { reason }) } : { kind: 'loading' };
  if (!record) await boot();
}

export function App() {
  useEffect(() => {
    void boot();
  }, []);
  const current = phase.value;
  useEffect(() => {
    if (current.kind !== 'ready') return;
    return watchIdle(() => void lock(current.session, 'idle'));
  }, [current]);

  switch (current.kind) {
    case 'loading':
      return <p class="boot">{t('boot.loading')}</p>;
    case 'failed':
      return (
        <main class="centered">
          <p role="alert">{current.message}</p>
        </main>
      );
    case 'enrol':
      return (
        <Enrol config={current.config} onEnrolled={(session) => opened(session, true)} onRequested={() => boot()} />
      );
    case 'awaiting':
      return <AwaitingCertificate record={current.record} onEnrolled={(session) => opened(session, true)} />;
    case 'locked':
      return (
        <Unlock record={current.record} idle={current.reason === 'idle'} onUnlocked={(session) => opened(session)} />
      );
    case 'ready':
      return <Shell session={current.session} onLock={() => void lock(current.session)} />;
  }
}
