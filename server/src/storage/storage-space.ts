import { statfsSync } from 'node:fs';
import {
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  RawNode,
  type RootOperationNode,
  SelectQueryNode,
} from 'kysely';
import { isStorageFull, storageFull } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * Whether the database's storage can take what the relay writes, and if not, why: for /readyz,
 * for the logs, and (embedded PGlite) to refuse writes before they reach the database.
 */
export interface StorageSpace {
  /** Why storage cannot take writes now, or undefined when it can. */
  shortage(): string | undefined;
  /** A query failed: the space may learn from it that the disk is full. */
  observe(error: unknown): void;
  close(): void;
}

const MIB = 1024 ** 2;

/**
 * Embedded PGlite: free space of the file system that holds its folder, read with statfs every
 * second and before any write more than 250 ms after the last reading. Short while less than
 * `reserveBytes` is free (or, where the file system counts them, under 100 inodes): PGlite must
 * never meet a full disk (pglite-instance.ts says why), so the reserve must hold at least a WAL
 * segment (16 MiB) and what a batch of writes adds.
 */
export function folderSpace(
  dir: string,
  reserveBytes: number,
  log: Logger,
): StorageSpace & { freeBytes(): number | undefined } {
  let short: string | undefined;
  let free: number | undefined;
  let checkedAt = 0;
  const check = () => {
    checkedAt = Date.now();
    let stats: ReturnType<typeof statfsSync>;
    try {
      stats = statfsSync(dir);
    } catch {
      return; // The folder is checked again in a second; the database reports its own errors meanwhile.
    }
    free = stats.bavail * stats.bsize;
    const freeMb = Math.floor(free / MIB);
    const now =
      free < reserveBytes
        ? `under ${reserveBytes / MIB} MiB free for the database`
        : stats.files > 0 && stats.ffree < 100
          ? 'no free inodes for the database'
          : undefined;
    if (now && !short) {
      log.warn(
        { event: 'storage.full', freeMb, reserveMb: reserveBytes / MIB },
        'storage full: writes refused until space is freed',
      );
    } else if (!now && short) {
      log.info({ event: 'storage.recovered', freeMb }, 'storage has space again: writes accepted');
    }
    short = now;
  };
  check();
  const timer = setInterval(check, 1000);
  timer.unref();
  const fresh = () => {
    if (Date.now() - checkedAt > 250) check();
  };
  return {
    shortage() {
      fresh();
      return short;
    },
    freeBytes() {
      fresh();
      return free;
    },
    observe: () => undefined,
    close: () => clearInterval(timer),
  };
}

/**
 * PostgreSQL on its own server: the relay cannot see that disk, so it learns from PostgreSQL's
 * answers. Short from the first `disk_full` (53100) until `probe` (a write that needs a new page,
 * rolled back) succeeds; the probe runs every second while short, so that a relay no load balancer
 * sends traffic to (it is not ready) still finds out that space is back.
 */
export function serverSpace(probe: () => Promise<void>, log: Logger): StorageSpace {
  let short = false;
  let probing = false;
  let timer: NodeJS.Timeout | undefined;
  const tryProbe = async () => {
    if (probing) return;
    probing = true;
    try {
      await probe();
      short = false;
      clearInterval(timer);
      log.info({ event: 'storage.recovered' }, 'PostgreSQL accepts writes again');
    } catch {
      // Still full, or unreachable: the next probe will tell.
    } finally {
      probing = false;
    }
  };
  return {
    shortage: () => (short ? 'PostgreSQL refuses writes: its disk is full' : undefined),
    observe(error) {
      if (short || !isStorageFull(error)) return;
      short = true;
      log.warn({ event: 'storage.full' }, "PostgreSQL's disk is full: its refusals are answered STORAGE_FULL");
      timer = setInterval(() => void tryProbe(), 1000);
      timer.unref();
    },
    close: () => clearInterval(timer),
  };
}

/** The space that never runs short: in-memory PGlite (tests, embedding). */
export const unlimitedSpace: StorageSpace = {
  shortage: () => undefined,
  observe: () => undefined,
  close: () => undefined,
};

/**
 * Refuses every statement that writes while the space is short, before it reaches the database:
 * what kysely builds as insert, update, delete or DDL, and raw SQL that does not start with
 * `select`. Reads (row locks of `select … for update` included) go on, so connected devices keep
 * receiving what is stored.
 */
export function refuseWritesWhenShort(space: StorageSpace): KyselyPlugin {
  return {
    transformQuery({ node }: PluginTransformQueryArgs): RootOperationNode {
      if (writes(node) && space.shortage()) throw storageFull();
      return node;
    },
    transformResult: async ({ result }) => result,
  };
}

function writes(node: RootOperationNode): boolean {
  if (SelectQueryNode.is(node)) return false;
  if (RawNode.is(node)) return !/^\s*select\b/i.test(node.sqlFragments[0] ?? '');
  return true;
}
