import { createServer, type ServerResponse } from 'node:http';

/** A request a relay made to the stand-in: what it asked for, and the body it sent. */
export interface StandInRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  body: Buffer;
}

/**
 * What a partner network's operator can run at the origin its manifest names for its relay: any
 * HTTP server at all. Partner relays talk to it as to a relay; the test decides every answer (too
 * large, too slow, forged). To sign requests as that partner's relay, the test holds its relay key
 * (peer-requests.ts). Unanswered requests get NOT_FOUND, as from a relay that has nothing.
 */
export interface StandInRelay {
  /** Every request received so far, in order. */
  requests: StandInRequest[];
  close(): Promise<void>;
}

export type StandInAnswer = (request: StandInRequest, res: ServerResponse) => void | Promise<void>;

export async function startStandInRelay(port: number, answer: StandInAnswer): Promise<StandInRelay> {
  const requests: StandInRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const request = { method: req.method ?? '', path: req.url ?? '', body: Buffer.concat(chunks) };
      requests.push(request);
      try {
        await answer(request, res);
      } catch {
        // A relay that hung up on the stand-in: nothing more to answer.
      }
      if (!res.headersSent && !res.writableEnded) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'NOT_FOUND', message: 'nothing here' }));
      }
    });
  });
  // A test ends while an answer is still held back: close cuts it rather than wait for it.
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return {
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Answers `value` as JSON, with status 200. */
export function answerJson(res: ServerResponse, value: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}
