import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { browserBuild } from '../../harness/browser.js';

/** The SDK's browser bundle (app.ts, minified as an application ships it), measured by part. */
export interface BundleSizes {
  /** Minified bytes per package. */
  parts: Map<string, number>;
  total: { minified: number; gzipped: number };
  /** The same bundle with libsodium left out, measured as a whole. */
  withoutSodium: { minified: number; gzipped: number };
}

const options = browserBuild(resolve(import.meta.dirname, 'app.ts'));

const part = (path: string) => {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (m) return m[1] as string;
  if (path.startsWith('client-sdk/')) return '@liaison/client';
  if (path.startsWith('protocol/')) return '@liaison/protocol';
  return path;
};

export async function measure(): Promise<BundleSizes> {
  const [all, rest] = await Promise.all([build(options), build({ ...options, external: ['libsodium-wrappers-sumo'] })]);
  const output = Object.values(all.metafile?.outputs ?? {})[0];
  const code = all.outputFiles?.[0]?.contents;
  const restCode = rest.outputFiles?.[0]?.contents;
  if (!output || !code || !restCode) throw new Error('nothing bundled');
  const parts = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    parts.set(part(path), (parts.get(part(path)) ?? 0) + bytesInOutput);
  }
  return {
    parts,
    total: { minified: code.length, gzipped: gzipSync(code).length },
    withoutSodium: { minified: restCode.length, gzipped: gzipSync(restCode).length },
  };
}
