import { readdirSync, readFileSync } from 'node:fs';

/**
 * CPU seconds a process has used so far (user + system), and with `children` those of its
 * children that have ended too, from /proc (Linux).
 */
export function cpuSeconds(pid: number, options: { children?: boolean } = {}): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const own = Number(fields[11]) + Number(fields[12]);
  return (options.children ? own + Number(fields[13]) + Number(fields[14]) : own) / 100;
}

/**
 * How many write system calls a process has made so far (`write`, `writev` and their kind: one
 * per socket.io frame or database statement it sends, unless several leave together), from
 * /proc (Linux).
 */
export function writeCalls(pid: number): number {
  try {
    return Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1]);
  } catch {
    // A kernel that hides other processes' I/O counters: the bench shows '-' rather than stopping.
    return Number.NaN;
  }
}

/** How many file descriptors a process holds open now (sockets among them), from /proc (Linux). */
export function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** A process's resident memory now (VmRSS) or at its peak (VmHWM), in MiB, from /proc (Linux). */
export function memoryMb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN) / 1024;
}

/**
 * The highest resident memory (MiB) of a process seen while it runs, sampled every `everyMs`.
 * The pid is asked for at each sample, so a restarted process is followed.
 */
export function watchPeakMemory(pid: () => number, everyMs = 50): { peak(): number; stop(): number } {
  let peak = 0;
  const sample = () => {
    try {
      const now = memoryMb(pid(), 'VmRSS');
      // A killed process not yet reaped has no VmRSS.
      if (!Number.isNaN(now)) peak = Math.max(peak, now);
    } catch {
      // Between a kill and a restart there is no process to read.
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    peak: () => peak,
    stop: () => {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
