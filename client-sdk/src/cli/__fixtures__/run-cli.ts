import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execute = promisify(execFile);
const liaison = join(resolve(import.meta.dirname, '../../../..'), 'node_modules/.bin/liaison');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `liaison` binary in `dir`; resolves with its exit code and output, never throws on
 * failure. LIAISON_PASSPHRASE is emptied so that a passphrase comes only from --passphrase-file.
 */
export async function runCli(dir: string, ...args: string[]): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execute(liaison, args, {
      cwd: dir,
      env: { ...process.env, LIAISON_PASSPHRASE: '' },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as CliResult;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
