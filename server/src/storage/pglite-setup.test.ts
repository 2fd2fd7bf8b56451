import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterEach, describe, expect, it } from 'vitest';
import { createDataDir } from './pglite-setup.js';

describe('making the embedded database folder', () => {
  const folders: string[] = [];
  afterEach(async () => {
    for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
  });
  const folder = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'liaison-pglite-'));
    folders.push(dir);
    return join(dir, 'data');
  };
  const answers = async (dataDir: string) => {
    const db = await PGlite.create({ dataDir });
    try {
      return (await db.query<{ one: number }>('select 1 as one')).rows[0]?.one;
    } finally {
      await db.close();
    }
  };

  it('makes a database a later start opens, and leaves an existing one alone', async () => {
    const dataDir = await folder();
    mkdirSync(dataDir);
    await createDataDir(dataDir);
    expect(await answers(dataDir)).toBe(1);
    writeFileSync(join(dataDir, 'kept'), 'an existing database is not touched');
    await createDataDir(dataDir);
    expect(existsSync(join(dataDir, 'kept'))).toBe(true);
  });

  it('makes it again when a start was killed while making it, whatever it left', async () => {
    const dataDir = await folder();
    mkdirSync(dataDir);
    // What a start killed half-way leaves: its marker, and a PG_VERSION without the rest.
    writeFileSync(join(dataDir, '.liaison-creating'), '');
    writeFileSync(join(dataDir, 'PG_VERSION'), '17\n');
    await createDataDir(dataDir);
    expect(existsSync(join(dataDir, '.liaison-creating'))).toBe(false);
    expect(await answers(dataDir)).toBe(1);
  });
});
