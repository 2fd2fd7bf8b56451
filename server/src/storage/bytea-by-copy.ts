import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/** How every binary COPY begins: its signature, then a 32-bit flags field and the length of a header extension. */
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8;
/**
 * Flag bits a reader must not ignore: 0–15 are critical (unknown ones mean a format it cannot read)
 * and 16 says each row carries an OID. Bits 17–31 are compatible additions, ignored.
 */
const CRITICAL_FLAGS = 0x0001ffff;
/** Where the tuples end: a field count of -1. */
const TRAILER = -1;

/**
 * The one `bytea` a query selects (one row of one column, or no row: undefined), read through
 * `COPY (query) TO STDOUT (FORMAT binary)`. PostgreSQL then sends the bytes as they are stored, and
 * pg-copy-streams hands them over without pg's text parser, which reads every value as a string
 * (a 4 MiB attachment chunk was 5.6 MiB of base64 text to decode).
 *
 * Reading Buffers alone, with no text, pays only with the relay's heap option (node-flags.ts):
 * without it the Buffers waited for full collections and cost more than the text did
 * (docs/performance.md, "The relay's full collections").
 *
 * COPY takes no parameters: the caller writes the query's values as literals, escaped.
 */
export async function readOneByteaByCopy(pool: pg.Pool, query: string): Promise<Buffer | undefined> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    const copy = copyTo(`copy (${query}) to stdout (format binary)`);
    // The stream ends with PostgreSQL's CopyDone; the statement is over, and the connection free
    // for the next one, only with its ReadyForQuery (pg-copy-streams leaves that call empty). An
    // error that comes after the stream ended (the connection lost in between) rejects here too.
    const over = new Promise<void>((resolve, reject) => {
      Object.assign(copy, { handleReadyForQuery: resolve });
      copy.on('error', reject);
    });
    // A failure while reading rejects the loop below first: the promise is awaited only after it.
    over.catch(() => undefined);
    client.query(copy);
    const parts: Buffer[] = [];
    for await (const part of copy) parts.push(part);
    await over;
    return oneByteaFromCopy(Buffer.concat(parts));
  } catch (error) {
    failure = error as Error;
    throw error;
  } finally {
    // A connection that failed mid-COPY is closed, not handed to the next statement.
    client.release(failure);
  }
}

/**
 * The field of a binary COPY answer (https://www.postgresql.org/docs/current/sql-copy.html,
 * "Binary Format") holding at most one row of one non-null column: undefined for no row. Anything
 * else (a null, more rows or columns, critical flags, an answer cut short or too long) is refused.
 */
export function oneByteaFromCopy(copy: Buffer): Buffer | undefined {
  const unexpected = () => new Error('COPY answered something other than at most one row of one bytea');
  if (copy.length < HEADER_BYTES || !copy.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw unexpected();
  if ((copy.readUInt32BE(SIGNATURE.length) & CRITICAL_FLAGS) !== 0) throw unexpected();
  // The header extension's content is for future versions: skipped, as the format asks.
  const tuples = HEADER_BYTES + copy.readUInt32BE(SIGNATURE.length + 4);
  if (copy.length < tuples + 2) throw unexpected();
  const fields = copy.readInt16BE(tuples);
  if (fields === TRAILER && copy.length === tuples + 2) return undefined;
  const start = tuples + 2 + 4;
  if (fields !== 1 || copy.length < start + 2) throw unexpected();
  const length = copy.readInt32BE(tuples + 2);
  // A null (-1), or bytes that do not end exactly at the trailer (more rows, or a cut answer).
  if (length < 0 || copy.length !== start + length + 2 || copy.readInt16BE(start + length) !== TRAILER) {
    throw unexpected();
  }
  return copy.subarray(start, start + length);
}
