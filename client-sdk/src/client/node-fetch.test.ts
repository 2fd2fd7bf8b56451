import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFetch } from './node-fetch.js';

let server: Server | undefined;

afterEach(async () => {
  await new Promise((done) => (server ? server.close(done) : done(undefined)));
  server = undefined;
});

/** A real HTTP server on loopback that hands each request, with its whole body, to `answer`. */
async function serve(answer: (request: IncomingMessage, body: Buffer, response: ServerResponse) => void) {
  server = createServer((request, response) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => answer(request, Buffer.concat(parts), response));
  });
  await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('nodeFetch', () => {
  it('sends bytes as they are, with the headers given and their length, and answers as fetch does', async () => {
    const seen: { method?: string; headers?: IncomingMessage['headers']; body?: Buffer } = {};
    const url = await serve((request, body, response) => {
      Object.assign(seen, { method: request.method, headers: request.headers, body });
      response.writeHead(409, { 'content-type': 'application/json', 'x-request-id': 'r1' });
      response.end(JSON.stringify({ error: { code: 'CONFLICT' } }));
    });
    const bytes = Uint8Array.from({ length: 300_000 }, (_, i) => i % 251);

    const answer = await nodeFetch(`${url}/v1/blobs/b/chunks/0`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', authorization: 'Bearer token-token-token' },
      body: bytes,
    });

    expect(seen.method).toBe('PUT');
    expect(seen.headers?.['content-type']).toBe('application/octet-stream');
    expect(seen.headers?.authorization).toBe('Bearer token-token-token');
    expect(seen.headers?.['content-length']).toBe('300000');
    expect(seen.body?.equals(bytes)).toBe(true);
    expect(answer.ok).toBe(false);
    expect(answer.status).toBe(409);
    expect(answer.headers.get('x-request-id')).toBe('r1');
    expect(await answer.json()).toEqual({ error: { code: 'CONFLICT' } });
  });

  it('passes a long answer on as it arrives, and stops reading it when the reader cancels', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((done) => {
      closed = done;
    });
    const url = await serve((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.write(Buffer.alloc(64 * 1024, 1));
      // The rest never comes: a relay that would send forever.
      response.on('close', closed);
    });

    const answer = await nodeFetch(`${url}/v1/blobs/b/chunks/0`, { method: 'PUT', body: new Uint8Array(8) });
    const reader = (answer.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    while (received < 64 * 1024) received += (await reader.read()).value?.length ?? 0;
    await reader.cancel();

    expect(received).toBe(64 * 1024);
    await serverSawClose;
  });

  it('fails the read of an answer cut before its end', async () => {
    const url = await serve((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"partial":');
      setTimeout(() => response.socket?.destroy(), 20);
    });

    const answer = await nodeFetch(`${url}/up`, { method: 'PUT', body: new Uint8Array(8) });

    await expect(answer.json()).rejects.toThrow();
  });

  it('fails as fetch does when nothing listens', async () => {
    const url = await serve(() => undefined);
    await new Promise((done) => server?.close(done));
    server = undefined;

    await expect(nodeFetch(`${url}/up`, { method: 'PUT', body: new Uint8Array(8) })).rejects.toThrow();
  });

  it('reads an answer a proxy compressed on the way', async () => {
    const url = await serve((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(gzipSync(JSON.stringify({ storedChunks: 1 })));
    });

    const answer = await nodeFetch(`${url}/up`, { method: 'PUT', body: new Uint8Array(8) });

    expect(await answer.json()).toEqual({ storedChunks: 1 });
  });

  it("leaves every request without a body of bytes to the platform's fetch", async () => {
    const url = await serve((request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ method: request.method, type: request.headers['content-type'] ?? null }));
    });

    // fetch gives a text body a type of its own, which the bytes path never adds.
    expect(await (await nodeFetch(`${url}/x`, { method: 'POST', body: 'text' })).json()).toEqual({
      method: 'POST',
      type: 'text/plain;charset=UTF-8',
    });
    expect(await (await nodeFetch(`${url}/x`)).json()).toEqual({ method: 'GET', type: null });
  });

  it('gives an answer of a status without content no body, as fetch does', async () => {
    const url = await serve((_request, _body, response) => {
      response.writeHead(204);
      response.end();
    });

    const answer = await nodeFetch(`${url}/up`, { method: 'PUT', body: new Uint8Array(8) });

    expect(answer.status).toBe(204);
    expect(answer.body).toBeNull();
  });
});
