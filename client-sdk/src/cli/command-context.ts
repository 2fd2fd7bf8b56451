import { CliError } from './cli-error.js';
import type { PassphraseSource } from './io.js';

export type Options = Record<string, string | boolean | undefined>;

/** What every command gets from the entry point: its options, the clock, the passphrase source, and a printer. */
export interface CommandContext {
  options: Options;
  now: number;
  passphrase: PassphraseSource;
  print: (line: string) => void;
}

export function required(options: Options, name: string): string {
  const value = options[name];
  if (typeof value !== 'string' || value.length === 0) throw new CliError(`--${name} is required`);
  return value;
}

export function optional(options: Options, name: string): string | undefined {
  const value = options[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** A comma-separated option value, as its items. */
export function list(value: string | undefined): string[] {
  return value
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0)
    : [];
}
