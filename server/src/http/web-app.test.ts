import { describe, expect, it } from 'vitest';
import { webAppCsp, webFile } from './web-app.js';

describe('webFile: the file a request path names, if it can be one of the app', () => {
  it.each([
    ['/', 'index.html'],
    ['/index.html', 'index.html'],
    ['/assets/app-abc.js', 'assets/app-abc.js'],
    ['/assets/a%20b.js', 'assets/a b.js'],
    ['/a..b.js', 'a..b.js'],
  ])('%s → %s', (path, file) => {
    expect(webFile(path)).toBe(file);
  });

  it.each([
    '/..',
    '/../x',
    '/%2e%2e/x',
    '/a/..%2F..%2Fx',
    '/..%5cx',
    '/.env',
    '/%2eenv',
    '/assets/',
    '//x',
    '/x%00.html',
    '/%',
  ])('%s → refused', (path) => {
    expect(webFile(path)).toBeUndefined();
  });
});

describe('webAppCsp: connect-src is the relay itself', () => {
  it('each public origin with its WebSocket twin', () => {
    expect(webAppCsp(['https://relay.example.org', 'http://127.0.0.1:8080'])).toContain(
      "connect-src 'self' https://relay.example.org wss://relay.example.org http://127.0.0.1:8080 ws://127.0.0.1:8080;",
    );
  });

  it('without public origins, any WebSocket (the names clients use are unknown)', () => {
    expect(webAppCsp([])).toContain("connect-src 'self' ws: wss:;");
    expect(webAppCsp([])).not.toContain("'unsafe-eval'");
  });
});
