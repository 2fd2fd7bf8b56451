import { CliError } from './cli-error.js';
import type { PassphraseSource } from './io.js';

/** An option's value; a list for an option the command takes more than once (`--relay A --relay B`). */
export type Options = Record<string, string | readonly string[] | boolean | undefined>;

/**
 * What every command gets from the entry point: its options, its argument (for a command that
 * takes one, like the FILE of `liaison network manifest verify FILE`), the clock, the passphrase
 * source, and a printer.
 */
export interface CommandContext {
  options: Options;
  argument?: string | undefined;
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

/** Every value of an option the command takes more than once, in the order given. */
export function repeated(options: Options, name: string): string[] {
  const value = options[name];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
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
