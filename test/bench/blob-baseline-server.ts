/**
 * The ceiling of an attachment transfer: a plain HTTP server that stores each PUT body as a file
 * (temporary name, then renamed, as the relay's folder store does) and serves it back on GET, with
 * no authentication, no database and no checks. Driven the same way as the relay: one chunk per
 * request, one request at a time.
 *
 *   tsx test/bench/blob-baseline-server.ts DIR   (prints "listening <port>")
 */
import { createReadStream } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const dir = process.argv[2] as string;
let written = 0;

const server = createServer((req, res) => {
  const file = join(dir, (req.url ?? '/').replace(/[^A-Za-z0-9]/g, '_'));
  if (req.method === 'PUT') {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', async () => {
      const temporary = `${file}.${written++}.part`;
      await writeFile(temporary, Buffer.concat(parts));
      await rename(temporary, file);
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    return;
  }
  res.setHeader('content-type', 'application/octet-stream');
  createReadStream(file).pipe(res);
});
server.listen(0, '127.0.0.1', () => console.error(`listening ${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
