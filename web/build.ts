// Builds the web app into dist/: index.html, one script and one stylesheet under assets/ with
// content-hashed names (the relay serves them as immutable), and a .gz beside each file (the relay
// serves those to browsers that accept gzip). The SDK is bundled from its source, as the tests run
// it, so the web build needs no other package built first.
//
//   tsx build.ts [--out DIR] [--bench]
//
// --bench makes the variant test/bench/web.ts measures: LIAISON_BENCH is defined true, so the app
// hands its unlocked session to the page (globalThis.liaisonBench). Every other build defines it
// false and esbuild drops that code: a production bundle has no way in to the session.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = import.meta.dirname;
const { values: options } = parseArgs({
  options: { out: { type: 'string' }, bench: { type: 'boolean', default: false } },
});
const out = resolve(options.out ?? resolve(here, 'dist'));

async function main(): Promise<void> {
  const result = await build({
    entryPoints: [resolve(here, 'src/main.tsx')],
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['@liaison/source'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    define: { LIAISON_BENCH: options.bench ? 'true' : 'false' },
    outdir: out,
    metafile: true,
  });
  await rm(out, { recursive: true, force: true });
  await mkdir(resolve(out, 'assets'), { recursive: true });

  const names: Record<string, string> = {};
  const files: { name: string; bytes: Uint8Array }[] = [];
  for (const file of result.outputFiles) {
    const ext = file.path.endsWith('.css') ? 'css' : 'js';
    const hash = createHash('sha256').update(file.contents).digest('hex').slice(0, 12);
    names[ext] = `assets/app-${hash}.${ext}`;
    files.push({ name: names[ext], bytes: file.contents });
  }
  const css = await readFile(resolve(here, 'src/styles.css'));
  const cssHash = createHash('sha256').update(css).digest('hex').slice(0, 12);
  files.push({ name: `assets/styles-${cssHash}.css`, bytes: css });
  const html = (await readFile(resolve(here, 'index.html'), 'utf8'))
    .replace('%SCRIPT%', `/${names.js}`.replace(/^\//, './'))
    .replace('%STYLES%', `./assets/styles-${cssHash}.css`);
  files.push({ name: 'index.html', bytes: new TextEncoder().encode(html) });

  let gzipped = 0;
  for (const { name, bytes } of files) {
    const gz = gzipSync(bytes, { level: 9 });
    gzipped += gz.length;
    await writeFile(resolve(out, name), bytes);
    await writeFile(resolve(out, `${name}.gz`), gz);
  }
  process.stdout.write(
    `${out}${options.bench ? ' (bench variant)' : ''}: ${files.length} files, ${Math.round(gzipped / 1024)} KiB gzipped in all\n`,
  );
}

await main();
