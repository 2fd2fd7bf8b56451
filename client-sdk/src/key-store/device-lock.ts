import { lockManager } from '../browser/web-apis.js';
import { LiaisonError } from '../errors.js';

/**
 * One tab at a time drives a device (issue 19). Two tabs of one origin share IndexedDB: if both
 * decrypted and encrypted with the same sessions, each would advance its own copy of a ratchet and
 * the session would fork (messages that neither side can open). The Web Locks API gives a lock per
 * origin, released by the browser when the tab holding it closes or crashes; the key store is opened
 * only under it, so a second tab waits for the first to let go, or learns that it is in use and
 * follows along (shows a "open in another tab" notice, say) without touching the keys.
 */

/** `wait`: until the other tab closes the device; `fail`: at once, with DEVICE_IN_USE. */
export type WhenInUse = 'wait' | 'fail';

export interface DeviceLock {
  release(): void;
}

export const lockName = (device: string) => `liaison-device:${device}`;

export async function holdDeviceLock(device: string, whenInUse: WhenInUse, signal?: AbortSignal): Promise<DeviceLock> {
  const locks = lockManager();
  if (!locks) {
    throw new LiaisonError(
      'INSECURE_CONTEXT',
      'the Web Locks API is missing (browsers give it only to secure contexts: https, or http://localhost); without it two tabs could fork a session',
    );
  }
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  return new Promise<DeviceLock>((resolve, reject) => {
    locks
      .request(
        lockName(device),
        { mode: 'exclusive', ...(whenInUse === 'fail' ? { ifAvailable: true } : signal && { signal }) },
        async (lock) => {
          if (lock === null) {
            reject(
              new LiaisonError(
                'DEVICE_IN_USE',
                `device "${device}" is open in another tab or window of this browser; close it there, or open with whenInUse: 'wait'`,
              ),
            );
            return;
          }
          resolve({ release });
          await held;
        },
      )
      .catch(reject);
  });
}
