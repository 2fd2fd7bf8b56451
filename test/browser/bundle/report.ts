// Prints the size of the SDK's browser bundle by part, minified and gzipped, as docs/browser.md
// shows it: `npx tsx --conditions=@liaison/source test/browser/bundle/report.ts`.
import { measure } from './measure.js';

const { parts, total, withoutSodium } = await measure();
const print = (line: string) => process.stdout.write(`${line}\n`);
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
// A part's gzipped figure is its share of the minified bytes applied to the gzipped total: an
// estimate (parts compress differently); the totals are measured.
print('| part | minified | gzipped (estimated share) |\n|---|---:|---:|');
for (const [name, bytes] of [...parts].sort((a, b) => b[1] - a[1])) {
  if (bytes < 1024) continue;
  print(`| ${name} | ${kib(bytes)} | ${kib((bytes / total.minified) * total.gzipped)} |`);
}
print(`| **total** | ${kib(total.minified)} | ${kib(total.gzipped)} |`);
print(`| **all but libsodium** (bundled alone) | ${kib(withoutSodium.minified)} | ${kib(withoutSodium.gzipped)} |`);
