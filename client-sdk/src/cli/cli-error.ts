/** A mistake the person at the terminal can fix; its message is shown as it is, and the exit code is 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}
