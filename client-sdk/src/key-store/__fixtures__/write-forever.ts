// Child process for the crash test: rewrites the key store as fast as it can until killed.
import { FileKeyStore } from '../file-key-store.js';

const path = process.argv[2];
if (!path) throw new Error('usage: write-forever.ts <path>');
const store = await FileKeyStore.open(path, { key: new Uint8Array(32).fill(3) });
let counter = Number(new TextDecoder().decode((await store.getSession('counter')) ?? new TextEncoder().encode('0')));
for (;;) {
  counter += 1;
  // A large-ish value makes each write take long enough for the kill to land inside one.
  await store.putSession('padding', new Uint8Array(512 * 1024).fill(counter & 0xff));
  await store.putSession('counter', new TextEncoder().encode(String(counter)));
  process.stdout.write(`${counter}\n`);
}
