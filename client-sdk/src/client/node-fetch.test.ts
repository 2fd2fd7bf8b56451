import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createNodeFetch, nodeFetch } from './node-fetch.js';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
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

const upload = { method: 'PUT', body: new Uint8Array(8) };
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('nodeFetch', () => {
  it('sends bytes over node:http as they are, with only the headers given and their length, and answers as fetch does', async () => {
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
    // fetch adds headers of its own (a user agent, accepted encodings, a fetch mode): not sent here.
    expect(seen.headers?.['user-agent']).toBeUndefined();
    expect(seen.headers?.['sec-fetch-mode']).toBeUndefined();
    expect(seen.body?.equals(bytes)).toBe(true);
    expect(answer.ok).toBe(false);
    expect(answer.status).toBe(409);
    expect(answer.headers.get('x-request-id')).toBe('r1');
    expect(await answer.json()).toEqual({ error: { code: 'CONFLICT' } });
  });

  it("leaves every request without a body of bytes to the platform's fetch", async () => {
    const url = await serve((request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ method: request.method, agent: request.headers['user-agent'] ?? null }));
    });

    const text = await (await nodeFetch(`${url}/x`, { method: 'POST', body: 'text' })).json();
    const none = await (await nodeFetch(`${url}/x`)).json();

    expect(text).toEqual({ method: 'POST', agent: expect.any(String) });
    expect(none).toEqual({ method: 'GET', agent: expect.any(String) });
  });

  it('reads the answer only as fast as its reader does, and stops when the reader cancels', async () => {
    let finished = false;
    let closed!: () => void;
    const serverSawClose = new Promise<void>((done) => {
      closed = done;
    });
    const url = await serve((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      // 64 MiB, far more than the sockets' buffers hold: it can all be written only if read.
      response.end(Buffer.alloc(64 * 1024 * 1024, 1), (error?: Error | null) => {
        finished = !error;
      });
      response.on('close', closed);
    });

    const answer = await nodeFetch(`${url}/v1/blobs/b/chunks/0`, upload);
    const reader = (answer.body as ReadableStream<Uint8Array>).getReader();
    expect((await reader.read()).value?.length).toBeGreaterThan(0);
    await delay(300);
    expect(finished).toBe(false);
    await reader.cancel();

    await serverSawClose;
  });

  it('survives a reader that cancels while the socket still holds data, plain or compressed (no uncaught exception)', async () => {
    const uncaught = vi.fn();
    process.on('uncaughtException', uncaught);
    try {
      for (const compressed of [false, true]) {
        const url = await serve((_request, _body, response) => {
          const body = Buffer.alloc(4 * 1024 * 1024, 7);
          response.writeHead(200, {
            'content-type': 'application/json',
            ...(compressed && { 'content-encoding': 'gzip' }),
          });
          response.end(compressed ? gzipSync(body) : body);
        });
        const answer = await nodeFetch(`${url}/up`, upload);
        const reader = (answer.body as ReadableStream<Uint8Array>).getReader();
        // As readCapped does with an answer too long: the data piles up, one read, then cancel at once.
        await delay(50);
        await reader.read();
        await reader.cancel();
        await delay(50);
        server?.closeAllConnections();
        await new Promise((done) => server?.close(done));
        server = undefined;
      }
      expect(uncaught).not.toHaveBeenCalled();
    } finally {
      process.off('uncaughtException', uncaught);
    }
  });

  it('fails the read of an answer cut before its end, though what came is whole JSON', async () => {
    const url = await serve((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"storedChunks":1}');
      setTimeout(() => response.socket?.destroy(), 20);
    });

    const answer = await nodeFetch(`${url}/up`, upload);

    await expect(answer.json()).rejects.toThrow();
  });

  it('fails a request the relay never answers once the connection was silent for its idle timeout', async () => {
    const url = await serve(() => undefined);
    const patient = createNodeFetch({ idleTimeoutMs: 200 });

    await expect(patient(`${url}/up`, upload)).rejects.toThrow(/silent for 0.2 s/);
  });

  it('keeps a connection for the next request: an idle timeout does not outlive its request', async () => {
    const ports: number[] = [];
    const url = await serve((request, _body, response) => {
      ports.push(request.socket.remotePort as number);
      setTimeout(() => response.end('{}'), 100);
    });
    const patient = createNodeFetch({ idleTimeoutMs: 150 });

    await (await patient(`${url}/up`, upload)).json();
    await delay(300);
    await (await patient(`${url}/up`, upload)).json();

    expect(ports).toHaveLength(2);
    expect(ports[1]).toBe(ports[0]);
  });

  it('reads an answer a proxy compressed on the way', async () => {
    const url = await serve((_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
      response.end(gzipSync(JSON.stringify({ storedChunks: 1 })));
    });

    const answer = await nodeFetch(`${url}/up`, upload);

    expect(await answer.json()).toEqual({ storedChunks: 1 });
  });

  it('gives an answer of a status without content no body, as fetch does', async () => {
    const url = await serve((_request, _body, response) => {
      response.writeHead(204);
      response.end();
    });

    const answer = await nodeFetch(`${url}/up`, upload);

    expect(answer.status).toBe(204);
    expect(answer.body).toBeNull();
  });

  it('fails as fetch does when nothing listens, or the address is not one', async () => {
    const url = await serve(() => undefined);
    await new Promise((done) => server?.close(done));
    server = undefined;

    await expect(nodeFetch(`${url}/up`, upload)).rejects.toThrow();
    await expect(nodeFetch('not a url', upload)).rejects.toThrow();
  });
});
