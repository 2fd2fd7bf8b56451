// Writes the settings table of docs/relay.md from server/src/settings.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { withSettingsTable } from '../src/settings-doc.js';

const path = resolve(import.meta.dirname, '../../docs/relay.md');
const before = readFileSync(path, 'utf8');
const after = withSettingsTable(before);
writeFileSync(path, after);
console.error(after === before ? `${path}: already up to date` : `${path}: settings table written`);
