import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '..');

describe('the SDK example', () => {
  it('runs as the README says: a message with an attachment across two countries, acknowledged, with matching safety numbers', async () => {
    const readme = await readFile(resolve(repo, 'README.md'), 'utf8');
    expect(readme).toContain('npm run example -w @liaison/client');
    const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'example', '-w', '@liaison/client'], {
      cwd: repo,
    });
    expect(stdout).toContain(
      'Lan received from Somchai Prasert, Public Prosecutor, Office of the Attorney General (TH)',
    );
    expect(stdout).toContain('Please preserve the records of account 4471');
    expect(stdout).toMatch(/Lan downloaded preservation-order\.pdf \(\d+ bytes\), SHA-256 verified/);
    expect(stdout).toMatch(/receipt: acknowledged by vn-spp.lan/);
    const numbers = [...stdout.matchAll(/Safety number, as \w+ sees it:\s+([\d ]+)/g)].map((m) => m[1]?.trim());
    expect(numbers).toHaveLength(2);
    expect(numbers[0]).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(numbers[0]).toBe(numbers[1]);
  });
});
