import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { parseInput } from '@liaison/protocol';
import type { z } from 'zod';
import { CliError } from './cli-error.js';
import { refuseToOverwrite } from './key-file.js';

/** Reads a certificate, root or revocation file and checks it against its schema. */
export async function readStatement<S extends z.ZodType>(path: string, schema: S, what: string): Promise<z.infer<S>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new CliError(`cannot read ${what} from ${path}: not a readable JSON file`);
  }
  const parsed = parseInput(schema, json);
  if (!parsed.ok) throw new CliError(`${path} is not ${what}: ${parsed.error.message}`);
  return parsed.value;
}

/** Writes a public statement (certificate, root, revocation); never overwrites. */
export async function writeStatement(path: string, statement: unknown): Promise<void> {
  await refuseToOverwrite(path);
  await writeFile(path, `${JSON.stringify(statement, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
}

export interface PassphraseSource {
  file?: string | undefined;
  environment?: string | undefined;
}

/**
 * The passphrase for a key file: from --passphrase-file (its first line), else from the
 * LIAISON_PASSPHRASE variable, else asked on the terminal without echo (twice for a new key).
 */
export async function passphrase(source: PassphraseSource, purpose: string, confirm = false): Promise<string> {
  if (source.file) {
    const text = await readFile(source.file, 'utf8').catch(() => {
      throw new CliError(`cannot read the passphrase file ${source.file}`);
    });
    return text.split(/\r?\n/)[0] ?? '';
  }
  if (source.environment) return source.environment;
  if (!process.stdin.isTTY) {
    throw new CliError(`a passphrase is needed ${purpose}: give --passphrase-file FILE or set LIAISON_PASSPHRASE`);
  }
  const first = await ask(`Passphrase ${purpose}: `);
  if (confirm && (await ask('Repeat the passphrase: ')) !== first) throw new CliError('the passphrases differ');
  return first;
}

async function ask(prompt: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const answer = new Promise<string>((resolve) => rl.question(prompt, resolve));
  muted = true;
  const result = await answer;
  rl.close();
  process.stderr.write('\n');
  return result;
}
