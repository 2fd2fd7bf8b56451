import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENDPOINTS, endpointPath, PATH_PARAMS } from './endpoints.js';

const endpoints = Object.values(ENDPOINTS);

describe('the HTTP endpoints', () => {
  it('are each one method and path, with every path parameter checked by its schema', () => {
    const keys = endpoints.map((e) => `${e.method} ${e.path}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const endpoint of endpoints) {
      const names = [...endpoint.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] as string);
      const valid = Object.fromEntries(names.map((name) => [name, name === 'index' ? '0' : crypto.randomUUID()]));
      if (names.includes('contactPointId')) valid.contactPointId = 'th-oag.somchai';
      expect(endpoint.params.safeParse(valid).success, endpoint.path).toBe(true);
      for (const name of names) {
        expect(name in PATH_PARAMS).toBe(true);
        expect(endpoint.params.safeParse({ ...valid, [name]: '../x' }).success, `${endpoint.path} ${name}`).toBe(false);
      }
    }
  });

  it('make the path of a call with each parameter percent-encoded', () => {
    expect(endpointPath(ENDPOINTS.bundles, { contactPointId: 'a/b?c#d' })).toBe(
      '/v1/contact-points/a%2Fb%3Fc%23d/bundles',
    );
    expect(endpointPath(ENDPOINTS.getChunk, { blobId: 'x', index: 3 })).toBe('/v1/blobs/x/chunks/3');
    expect(endpointPath(ENDPOINTS.directory, {})).toBe('/v1/directory');
  });

  it('are all in the API table of docs/relay.md, once, with who may call them', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../docs/relay.md'), 'utf8');
    const api = doc.slice(doc.indexOf('\n## API\n'), doc.indexOf('\n## ', doc.indexOf('\n## API\n') + 1));
    const rows = [...api.matchAll(/^\| `(GET|POST|PUT) (\/[^`?]+)[^`]*` \| ([^|]+) \|/gm)]
      .map(([, method, path, auth]) => ({
        key: `${method?.toLowerCase()} /v1${path}`,
        bearer: auth?.trim() === 'bearer',
      }))
      .filter((row) => !/^get \/v1\/(healthz|readyz)$/.test(row.key));
    const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
    expect(rows.sort(byKey)).toEqual(
      endpoints.map((e) => ({ key: `${e.method} ${e.path}`, bearer: e.authenticated })).sort(byKey),
    );
  });
});
