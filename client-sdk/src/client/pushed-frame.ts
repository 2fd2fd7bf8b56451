import { MessageId } from '@liaison/protocol';
import { z } from 'zod';
import { LiaisonError } from '../errors.js';

/**
 * The shape of a frame the relay pushes (`envelopes`, `receipts`), checked whole: an array of 1 to
 * `max` elements. Each element is checked on its own by its reader, so that one it refuses does not
 * cost the others (review 25b, finding 2).
 */
export const pushedFrame = (max: number) => z.array(z.unknown()).min(1).max(max);

/** The error for an element of a pushed frame that is not a `kind`: named by its message id, when that much is readable. */
export function malformedElement(kind: 'envelope' | 'receipt', element: unknown): LiaisonError {
  const id = MessageId.safeParse((element as { messageId?: unknown } | null)?.messageId);
  return new LiaisonError(
    'INVALID_MESSAGE',
    id.success ? `the relay sent a malformed ${kind} for message ${id.data}` : `the relay sent a malformed ${kind}`,
  );
}
