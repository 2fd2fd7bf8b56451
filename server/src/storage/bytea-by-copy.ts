import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/** How every binary COPY begins: its signature, then flags and the length of a header extension (both 0). */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8;
/** Where the tuples end: a field count of -1. */
const TRAILER = -1;

/**
 * The one `bytea` a query selects (one row of one column, or no row: undefined), read through
 * `COPY (query) TO STDOUT (FORMAT binary)`. PostgreSQL then sends the bytes as they are stored, and
 * pg-copy-streams hands them over without pg's text parser, which reads every value as a string: a
 * 4 MiB attachment chunk cost the relay 5.6 MiB of base64 text to decode, and one more copy as pg
 * merged the socket's reads into one message (docs/performance.md).
 *
 * COPY takes no parameters: the caller writes the query's values as literals, escaped.
 */
export async function readOneByteaByCopy(pool: pg.Pool, query: string): Promise<Buffer | undefined> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    const parts: Buffer[] = [];
    for await (const part of client.query(copyTo(`copy (${query}) to stdout (format binary)`))) parts.push(part);
    return oneBytea(Buffer.concat(parts));
  } catch (error) {
    failure = error as Error;
    throw error;
  } finally {
    // A connection that failed mid-COPY is closed, not handed to the next statement.
    client.release(failure);
  }
}

/** The field of a binary COPY of at most one row of one non-null column; anything else is refused. */
function oneBytea(copy: Buffer): Buffer | undefined {
  const unexpected = () => new Error('COPY answered something other than at most one row of one bytea');
  if (
    copy.length < HEADER_BYTES + 2 ||
    !copy.subarray(0, SIGNATURE.length).equals(SIGNATURE) ||
    copy.readInt32BE(SIGNATURE.length) !== 0 ||
    copy.readInt32BE(SIGNATURE.length + 4) !== 0
  ) {
    throw unexpected();
  }
  const fields = copy.readInt16BE(HEADER_BYTES);
  if (fields === TRAILER && copy.length === HEADER_BYTES + 2) return undefined;
  const start = HEADER_BYTES + 2 + 4;
  if (fields !== 1 || copy.length < start + 2) throw unexpected();
  const length = copy.readInt32BE(HEADER_BYTES + 2);
  // A null (-1), or bytes that do not end exactly at the trailer (more rows, or a cut answer).
  if (length < 0 || copy.length !== start + length + 2 || copy.readInt16BE(start + length) !== TRAILER) {
    throw unexpected();
  }
  return copy.subarray(start, start + length);
}
