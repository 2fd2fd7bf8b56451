import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/**
 * `fetch` for Node applications (`LiaisonClientOptions.fetch`): a request with a body of bytes
 * (an attachment chunk's upload) goes through node:http or node:https, every other request to the
 * platform's `fetch`. Node's `fetch` copies such a body and moves it through its web streams,
 * whose buffers, beside libsodium's WebAssembly memory in the same process, made a full garbage
 * collection every other chunk: uploading cost the SDK about twice the CPU of its crypto
 * (docs/performance.md, "Attachment uploads in Node"). Here the chunk is written to the socket
 * as it is. The answer is the same `Response` as fetch's, its body read as the caller reads it and
 * decompressed if a proxy compressed it; redirects are not followed (the relay sends none).
 */
export const nodeFetch: typeof fetch = (input, init) => {
  const body = init?.body;
  const url = typeof input === 'string' && body instanceof Uint8Array ? new URL(input) : undefined;
  const send = url?.protocol === 'https:' ? httpsRequest : url?.protocol === 'http:' ? httpRequest : undefined;
  if (!url || !send || !(body instanceof Uint8Array)) return fetch(input, init);
  const headers: Record<string, string> = {};
  new Headers(init?.headers).forEach((value, name) => {
    headers[name] = value;
  });
  headers['content-length'] = String(body.byteLength);
  const method = init?.method ?? 'POST';
  return new Promise<Response>((resolve, reject) => {
    const request = send(url, { method, headers, signal: init?.signal ?? undefined }, (answer) => {
      try {
        resolve(responseOf(answer, method));
      } catch (error) {
        answer.destroy();
        reject(error);
      }
    });
    request.on('error', reject);
    request.end(body);
  });
};

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

/** The answer's reads as a web stream, each passed on as it came; the socket waits while the reader does. */
function bodyOf(answer: Readable): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      answer.on('data', (part: Buffer) => {
        controller.enqueue(part);
        if ((controller.desiredSize ?? 1) <= 0) answer.pause();
      });
      answer.on('end', () => controller.close());
      answer.on('error', (error) => controller.error(error));
      // Cut before its end (no 'end' comes): the reader gets an error, not a short body.
      answer.on('close', () => {
        if (!answer.readableEnded) controller.error(new Error('the connection closed before the answer ended'));
      });
    },
    pull() {
      answer.resume();
    },
    cancel() {
      answer.destroy();
    },
  });
}
