import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * The environment of a fresh shell: this one without the npm_* variables an enclosing `npm test`
 * sets, which would make a nested npm act on this workspace.
 */
export function freshEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_|^INIT_CWD$/i.test(k))),
    ...extra,
  };
}

/** Runs a command in a fresh shell's environment; resolves with its output, or fails with all of it. */
export async function runCommand(
  command: string,
  args: string[],
  cwd: string,
  extra: Record<string, string> = {},
): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(command, args, {
      cwd,
      env: freshEnv(extra),
      maxBuffer: 64 * 1024 ** 2,
    });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}
