import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

export interface NodeFetchOptions {
  /**
   * The agents its requests go through (by default private keep-alive ones, so that a change to
   * Node's global agents does not apply to uploads unnoticed). Proxy, CA and certificate pinning
   * set on fetch's dispatcher (undici's `setGlobalDispatcher`) do not apply here: give them to the
   * https agent too.
   */
  agents?: { http?: HttpAgent; https?: HttpsAgent };
  /** How long the connection may stay silent, waiting for the answer or within it, before the request fails: fetch's 300 s. */
  idleTimeoutMs?: number;
}

/**
 * A `fetch` for Node applications (`LiaisonClientOptions.fetch`): a request with a body of bytes
 * (an attachment chunk's upload) goes through node:http or node:https, every other request to the
 * platform's `fetch`. Node's `fetch` copies such a body and moves it through its web streams,
 * which, beside libsodium's WebAssembly memory in the same process, made a full garbage
 * collection every other chunk: uploading cost the SDK about twice the CPU of its crypto
 * (docs/performance.md, "Attachment uploads in Node"). Here the chunk is written to the socket as
 * it is. The answer is the same `Response` as fetch's, its body read as the caller reads it and
 * decompressed if a proxy compressed it; redirects are not followed (the relay sends none).
 */
export function createNodeFetch(options: NodeFetchOptions = {}): typeof fetch {
  const agents = {
    http: options.agents?.http ?? new HttpAgent({ keepAlive: true }),
    https: options.agents?.https ?? new HttpsAgent({ keepAlive: true }),
  };
  const idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
  return async (input, init) => {
    const body = init?.body;
    const url = typeof input === 'string' && body instanceof Uint8Array ? new URL(input) : undefined;
    const scheme = url?.protocol === 'https:' ? 'https' : url?.protocol === 'http:' ? 'http' : undefined;
    if (!url || !scheme || !(body instanceof Uint8Array)) return fetch(input, init);
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    headers['content-length'] = String(body.byteLength);
    const method = init?.method ?? 'POST';
    const send = scheme === 'https' ? httpsRequest : httpRequest;
    return new Promise<Response>((resolve, reject) => {
      const request = send(
        url,
        { method, headers, agent: agents[scheme], signal: init?.signal ?? undefined },
        (answer) => {
          try {
            resolve(responseOf(answer, method));
          } catch (error) {
            answer.destroy();
            reject(error);
          }
        },
      );
      // The socket's silence, before the answer and within it: a relay that never answers, or a
      // connection gone without a word, fails the request (and its body) instead of holding it for ever.
      request.setTimeout(idleTimeoutMs, () =>
        request.destroy(new Error(`the relay was silent for ${idleTimeoutMs / 1000} s`)),
      );
      request.on('error', reject);
      request.end(body);
    });
  };
}

/** `createNodeFetch()` with its defaults. */
export const nodeFetch: typeof fetch = createNodeFetch();

function responseOf(answer: IncomingMessage, method: string): Response {
  const status = answer.statusCode ?? 0;
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  // A status or method whose answer has no content gets no body, as fetch gives it.
  const empty = method === 'HEAD' || [204, 205, 304].includes(status);
  if (empty) answer.resume();
  return new Response(empty ? null : bodyOf(decoded(answer)), {
    status,
    statusText: answer.statusMessage ?? '',
    headers,
  });
}

/** The answer's body without its content encoding, as fetch reads it (one encoding; any other is left as it is). */
function decoded(answer: IncomingMessage): Readable {
  const encoding = answer.headers['content-encoding']?.trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (!decoder) return answer;
  // A cut answer fails the decoder's stream too.
  return pipeline(answer, decoder, () => undefined);
}

/**
 * The answer's reads as a web stream, each passed on as it came; the socket waits while the
 * reader does. Once the stream is over (ended, failed, or cancelled by its reader), what the Node
 * stream still emits is dropped: a read it had queued may still come after a cancel, and passing
 * it on would throw outside any caller, an uncaught exception (review of nodeFetch, finding 1).
 */
function bodyOf(answer: Readable): ReadableStream<Uint8Array> {
  let over = false;
  const finish = (settle: () => void) => {
    if (over) return;
    over = true;
    settle();
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      answer.on('data', (part: Buffer) => {
        if (over) return;
        controller.enqueue(part);
        if ((controller.desiredSize ?? 1) <= 0) answer.pause();
      });
      answer.on('end', () => finish(() => controller.close()));
      answer.on('error', (error) => finish(() => controller.error(error)));
      // Cut before its end (no 'end' comes): the reader gets an error, not a short body.
      answer.on('close', () =>
        finish(() => controller.error(new Error('the connection closed before the answer ended'))),
      );
    },
    pull() {
      if (!over) answer.resume();
    },
    cancel() {
      over = true;
      answer.destroy();
    },
  });
}
