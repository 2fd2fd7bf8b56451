// A process whose only work left is a digest on the hashing thread: it must print it, not exit
// first, and then end although the hash is never closed and the thread stays.
import { encodeBase64url, LIMITS } from '@liaison/protocol';
import { ready } from '../../crypto/sodium.js';
import { workerHash } from '../worker-hash.js';

await ready();
const hash = workerHash(2 * LIMITS.blobChunkPlaintextBytes);
await hash.update(new Uint8Array(LIMITS.blobChunkPlaintextBytes).fill(7));
process.stdout.write(`${encodeBase64url(await hash.digest())}\n`);
