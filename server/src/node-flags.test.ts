import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingNodeFlags, RELAY_NODE_FLAGS } from './node-flags.js';

const root = resolve(import.meta.dirname, '../..');

// test/image.test.ts checks the image's CMD; the tests' relay processes take the list itself.
describe("the relay's Node options", () => {
  it('are the ones `npm start` runs the relay with', () => {
    const { scripts } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
    expect(scripts.start).toBe(`cd server && exec node ${RELAY_NODE_FLAGS.join(' ')} dist/main.js`);
  });

  it('are the ones production is told to run it with (docs/relay.md)', () => {
    const doc = readFileSync(resolve(root, 'docs/relay.md'), 'utf8').replace(/\s+/g, ' ');
    expect(doc).toContain(`\`node ${RELAY_NODE_FLAGS.join(' ')} server/dist/main.js\``);
  });

  it('are named when the process was started without them, and only then', () => {
    expect(missingNodeFlags([...RELAY_NODE_FLAGS])).toEqual([]);
    expect(missingNodeFlags(['--enable-source-maps'])).toEqual(['--initial-old-space-size=128']);
    expect(missingNodeFlags(['--initial-old-space-size=64'])).toEqual([...RELAY_NODE_FLAGS]);
  });
});
