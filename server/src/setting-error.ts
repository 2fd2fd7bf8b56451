/**
 * A setting or a file it names that the relay cannot start with. The message is the one line an
 * operator sees: the variable (or path), what was found, what is expected.
 */
export class SettingError extends Error {
  constructor(
    readonly variable: string,
    found: string,
    expected: string,
  ) {
    super(`${variable}: found ${found}; expected ${expected}`);
    this.name = 'SettingError';
  }
}

/**
 * A connection URL as it may be printed: the password replaced by `***`. Also for text that is
 * not a valid URL, since a typo must not print the secret either.
 */
export function redactUrl(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? '';
  const colon = text.indexOf(':', scheme.length);
  if (colon < 0 || colon > at) return text;
  return `${text.slice(0, colon)}:***${text.slice(at)}`;
}
