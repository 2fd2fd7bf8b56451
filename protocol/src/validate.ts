import type { z } from 'zod';
import type { ErrorBody } from './errors.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/**
 * Checks untrusted input against its schema. A failure becomes an error body with a stable code:
 * PAYLOAD_TOO_LARGE when a size limit was exceeded, INVALID_INPUT otherwise, naming the first
 * problem and where it is. The message never echoes the input itself.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): Parsed<z.infer<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const tooBig = result.error.issues.some((i) => i.code === 'too_big');
  // zod names unknown keys in its message, and a key is input like any other.
  const problem = issue?.code === 'unrecognized_keys' ? 'unknown field' : (issue?.message ?? 'invalid');
  return {
    ok: false,
    error: {
      error: tooBig ? 'PAYLOAD_TOO_LARGE' : 'INVALID_INPUT',
      message: `${path === '' ? 'input' : path}: ${problem}`.slice(0, 500),
      ...(path === '' ? {} : { details: { path: path.slice(0, 200) } }),
    },
  };
}
