import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from './settings.js';
import { withSettingsTable } from './settings-doc.js';

describe('the settings table of docs/relay.md', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '../../docs/relay.md'), 'utf8');

  it('is the table in code (npm run settings-doc -w @liaison/server writes it)', () => {
    expect(doc, 'docs/relay.md is out of date: npm run settings-doc -w @liaison/server').toBe(withSettingsTable(doc));
  });

  it('lists every variable the relay reads, each under the LIAISON_ prefix, each once', () => {
    const listed = [...doc.matchAll(/^\| `(LIAISON_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(listed).toEqual(Object.values(SETTINGS).map((s) => s.name));
    expect(new Set(listed).size).toBe(listed.length);
  });
});
