/**
 * `npm run build` runs this after compiling: writes the embedded database's seed (storage/pglite-setup.ts)
 * unless it is there already.
 */
import { existsSync } from 'node:fs';
import { PGLITE_SEED, writePgliteSeed } from './storage/pglite-setup.js';

if (!existsSync(PGLITE_SEED)) await writePgliteSeed();
