import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
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

/** The repository's `liaison` binary (it runs the CLI's source through tsx). */
const LIAISON = resolve(import.meta.dirname, '../../node_modules/.bin/liaison');

/**
 * Runs the real `liaison` CLI in `cwd`, as a person types it; resolves with its exit code and
 * output, never throws on a refusal. LIAISON_PASSPHRASE is emptied: a passphrase comes only from
 * --passphrase-file.
 */
export async function runLiaison(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(LIAISON, args, {
      cwd,
      env: freshEnv({ LIAISON_PASSPHRASE: '' }),
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}
