import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as protocol from './index.js';
import {
  boundedBytes,
  fixedBytes,
  MultilineString,
  NO_CONTROL_CHARACTERS,
  ONLY_TEXT_CONTROL_CHARACTERS,
  PlainString,
  text,
} from './primitives.js';

/** Every string schema reachable from `schema`, by where it is. */
function stringsIn(schema: z.ZodType, at: string, found: Map<z.ZodType, string>, seen = new Set<unknown>()): void {
  if (seen.has(schema)) return;
  seen.add(schema);
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  if (def.type === 'string') found.set(schema, at);
  if (def.type === 'lazy') stringsIn((def.getter as () => z.ZodType)(), at, found, seen);
  // Whatever the kind (object, array, union, optional, pipe…), its parts are schemas in its definition.
  for (const [key, value] of Object.entries(def)) {
    if (key === 'checks') continue;
    const parts = value instanceof z.ZodType ? { '': value } : value && typeof value === 'object' ? value : {};
    for (const [name, part] of Object.entries(parts)) {
      if (part instanceof z.ZodType)
        stringsIn(part, name === '' || /^\d+$/.test(name) ? at : `${at}.${name}`, found, seen);
    }
  }
}

function everyString(): Map<z.ZodType, string> {
  const found = new Map<z.ZodType, string>();
  const exported = Object.entries(protocol).filter(([, value]) => value instanceof z.ZodType) as [string, z.ZodType][];
  const made: [string, z.ZodType][] = [
    ['text()', text(10)],
    ['fixedBytes()', fixedBytes(4)],
    ['boundedBytes()', boundedBytes(4)],
  ];
  for (const [name, schema] of [...exported, ...made]) stringsIn(schema, name, found);
  return found;
}

const checksOf = (schema: z.ZodType) => (schema._zod.def as { checks?: unknown[] }).checks ?? [];

describe('strings on the wire', () => {
  it('every string field of every schema refuses control characters (a new field without the check fails here)', () => {
    const strings = everyString();
    // The walk reaches the protocol's strings: ids, keys, names, cursors, URLs, error messages.
    expect(strings.size).toBeGreaterThan(30);
    const unchecked = [...strings]
      .filter(([schema]) => {
        const checks = checksOf(schema);
        return !checks.includes(NO_CONTROL_CHARACTERS) && !checks.includes(ONLY_TEXT_CONTROL_CHARACTERS);
      })
      .map(([, at]) => at);
    expect(unchecked).toEqual([]);
  });

  it('only the body of a message and the grounds of a status are multi-line', () => {
    const multiline = [...everyString()]
      .filter(([schema]) => schema !== MultilineString && checksOf(schema).includes(ONLY_TEXT_CONTROL_CHARACTERS))
      .map(([, at]) => at);
    expect(multiline).toEqual(['SealedContent.text', 'RequestContent.grounds']);
  });

  it('the walk finds a string wherever a schema hides it', () => {
    const hidden = z.string();
    const schema = z
      .strictObject({ a: z.array(z.union([z.int(), hidden.optional()])).max(3) })
      .refine(() => true)
      .transform((v) => v)
      .pipe(z.any());
    const found = new Map<z.ZodType, string>();
    stringsIn(schema, 'Example', found);
    expect([...found.entries()]).toEqual([[hidden, 'Example.a']]);
  });

  const controls = Array.from({ length: 0xa0 }, (_, c) => String.fromCharCode(c)).filter((c) => /\p{Cc}/u.test(c));

  it('a single-line string refuses every C0 and C1 control and DEL, and takes any other text', () => {
    expect(controls).toHaveLength(65);
    for (const c of controls) expect(PlainString.safeParse(`a${c}b`).success, `U+${c.charCodeAt(0)}`).toBe(false);
    expect(PlainString.safeParse('Procuraduría General — 最高人民检察院 🇹🇭 \u00a0').success).toBe(true);
  });

  it('multi-line text keeps tabs and line breaks, and refuses the other controls', () => {
    expect(MultilineString.safeParse('Dear colleague,\r\n\n\tthe order is attached.').success).toBe(true);
    for (const c of controls.filter((c) => !'\t\n\r'.includes(c))) {
      expect(MultilineString.safeParse(`a${c}b`).success, `U+${c.charCodeAt(0)}`).toBe(false);
    }
  });
});
