import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// idle-lock.ts reads the page's storage and listens to its events: a tiny stand-in for both.
const page = vi.hoisted(() => {
  const listeners = new Map<string, Set<() => void>>();
  const storage = new Map<string, string>();
  const page = {
    localStorage: {
      getItem: (key: string) => storage.get(key) ?? null,
      setItem: (key: string, value: string) => void storage.set(key, value),
    },
    addEventListener: (type: string, listener: () => void) => {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type)?.add(listener);
    },
    removeEventListener: (type: string, listener: () => void) => void listeners.get(type)?.delete(listener),
    dispatch: (type: string) => {
      for (const listener of listeners.get(type) ?? []) listener();
    },
    listening: () => [...listeners.values()].reduce((n, set) => n + set.size, 0),
  };
  Object.assign(globalThis, {
    localStorage: page.localStorage,
    addEventListener: page.addEventListener,
    removeEventListener: page.removeEventListener,
  });
  return page;
});

import { DEFAULT_LOCK_MINUTES, lockAfterMinutes, setLockAfterMinutes, watchIdle } from './idle-lock.js';

describe('the idle lock', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('locks once after the chosen minutes without a key or a click, and each one starts the wait again', () => {
    setLockAfterMinutes(5);
    const lock = vi.fn();
    const stop = watchIdle(lock);
    vi.advanceTimersByTime(4 * 60_000);
    page.dispatch('keydown');
    vi.advanceTimersByTime(4 * 60_000);
    page.dispatch('pointerdown');
    vi.advanceTimersByTime(4 * 60_000);
    expect(lock).not.toHaveBeenCalled();
    vi.advanceTimersByTime(60_000);
    expect(lock).toHaveBeenCalledTimes(1);
    stop();
  });

  it('stops watching when told: no lock later, no listener left', () => {
    const lock = vi.fn();
    const stop = watchIdle(lock);
    stop();
    vi.advanceTimersByTime(24 * 3_600_000);
    expect(lock).not.toHaveBeenCalled();
    expect(page.listening()).toBe(0);
  });

  it('falls back to the default for a setting out of range or unreadable', () => {
    for (const value of ['0', '-3', '100000', 'soon', '']) {
      page.localStorage.setItem('liaison.lockAfterMinutes', value);
      expect(lockAfterMinutes()).toBe(DEFAULT_LOCK_MINUTES);
    }
    setLockAfterMinutes(30);
    expect(lockAfterMinutes()).toBe(30);
  });
});
