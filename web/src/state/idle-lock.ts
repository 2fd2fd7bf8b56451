// Locks the device after a time without the practitioner touching the page (a setting, in
// minutes; kept in this browser, it is not a secret).
const KEY = 'liaison.lockAfterMinutes';
export const DEFAULT_LOCK_MINUTES = 15;
const ACTIVITY = ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const;

export function lockAfterMinutes(): number {
  const saved = Number(localStorage.getItem(KEY));
  return Number.isFinite(saved) && saved >= 1 && saved <= 24 * 60 ? saved : DEFAULT_LOCK_MINUTES;
}

export function setLockAfterMinutes(minutes: number): void {
  localStorage.setItem(KEY, String(minutes));
}

/** Calls `lock` once after the idle time; returns what stops watching. */
export function watchIdle(lock: () => void): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const restart = () => {
    clearTimeout(timer);
    timer = setTimeout(lock, lockAfterMinutes() * 60_000);
  };
  for (const event of ACTIVITY) addEventListener(event, restart, { passive: true });
  restart();
  return () => {
    clearTimeout(timer);
    for (const event of ACTIVITY) removeEventListener(event, restart);
  };
}
