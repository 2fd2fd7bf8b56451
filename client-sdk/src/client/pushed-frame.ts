import { MessageId } from '@liaison/protocol';
import { z } from 'zod';
import { LiaisonError } from '../errors.js';

/**
 * The shape of a frame the relay pushes (`envelopes`, `receipts`), checked whole: an array of 1 to
 * `max` elements. Each element is checked on its own by its reader, so that one it refuses does not
 * cost the others (review 25b, finding 2).
 */
export const pushedFrame = (max: number) => z.array(z.unknown()).min(1).max(max);

/**
 * The error for a pushed frame of `kind`s that is not one, or for one of its elements: named by its
 * message id, when that much is readable.
 */
export function malformedElement(kind: 'envelope' | 'receipt', element: unknown): LiaisonError {
  const id = MessageId.safeParse((element as { messageId?: unknown } | null)?.messageId);
  return new LiaisonError(
    'INVALID_MESSAGE',
    `the relay sent a malformed ${kind}${id.success ? ` for ${id.data}` : ''}`,
  );
}
