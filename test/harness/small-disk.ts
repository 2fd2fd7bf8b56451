import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A small file system of its own (tmpfs), for a test to fill and free again. Mounting needs root
 * (CI runs as root); `whyNoSmallDisk()` says why it cannot be had here.
 */
export interface SmallDisk {
  readonly dir: string;
  freeBytes(): number;
  /** Writes a filler file until at most `leaveBytes` are free. */
  fill(leaveBytes?: number): void;
  /** Removes the filler: the space is back. */
  free(): void;
  unmount(): void;
}

const MIB = 1024 ** 2;

export function mountSmallDisk(sizeMb: number): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'liaison-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=1777`, 'tmpfs', dir]);
  const filler = join(dir, 'filler');
  const freeBytes = () => {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  };
  return {
    dir,
    freeBytes,
    fill(leaveBytes = 0) {
      const fd = openSync(filler, 'a');
      try {
        const block = Buffer.alloc(MIB, 1);
        for (let left = freeBytes() - leaveBytes; left > 0; left -= block.length) {
          writeSync(fd, block, 0, Math.min(block.length, left));
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        closeSync(fd);
      }
    },
    free: () => rmSync(filler, { force: true }),
    unmount() {
      // Lazily: a process the test stopped may still be letting go of its files.
      execFileSync('umount', ['-l', dir]);
      rmdirSync(dir);
    },
  };
}

/** Why no small disk can be mounted here, or undefined when one can (tried once, with 1 MiB). */
export function whyNoSmallDisk(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  try {
    mountSmallDisk(1).unmount();
    return undefined;
  } catch (error) {
    return `mount -t tmpfs is not permitted here (${(error as Error).message.split('\n')[0]})`;
  }
}
