import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_TABLES, startTestRelay, type TestRelay } from './harness/relay.js';

/** The section of docs/threat-model.md that lists what the relay keeps. */
async function keptSection(): Promise<string> {
  const text = await readFile(resolve(import.meta.dirname, '../docs/threat-model.md'), 'utf8');
  const start = text.indexOf('## What the relay keeps');
  expect(start).toBeGreaterThan(0);
  return text.slice(start, text.indexOf('\n## ', start + 1));
}

describe('the threat model lists what the relay keeps', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay('pglite');
  });
  afterAll(() => relay.stop());

  it('names every table of the relay schema (a new table must say what it keeps, and for how long)', async () => {
    const { rows } = await sql<{ tablename: string }>`select tablename from pg_tables
      where schemaname = 'public' and tablename not like 'kysely_%' order by 1`.execute(relay.relay.db);
    const tables = rows.map((r) => r.tablename);
    // The tests that read every table see every table.
    expect(tables).toEqual([...RELAY_TABLES].sort());
    const section = await keptSection();
    expect(tables.filter((table) => !section.includes(`\`${table}\``))).toEqual([]);
  });
});
