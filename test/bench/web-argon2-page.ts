// A page for test/bench/web.ts: Argon2id alone, at the cost the web app's key store uses for a
// passphrase (BROWSER_ARGON2), in the same Chromium as the app. Unlocking derives one such key,
// so this is the share of unlocking that is the passphrase's deliberate cost.
import { BROWSER_ARGON2 } from '@liaison/client/browser';
import { ready, sodium } from '../../client-sdk/src/crypto/sodium.js';

const page = globalThis as unknown as { ready?: boolean; argon2id?: () => number };

await ready();
page.argon2id = () => {
  const s = sodium();
  const salt = s.randombytes_buf(s.crypto_pwhash_SALTBYTES);
  const started = performance.now();
  const key = s.crypto_pwhash(
    32,
    'correct horse battery staple',
    salt,
    BROWSER_ARGON2.opsLimit,
    BROWSER_ARGON2.memLimit,
    s.crypto_pwhash_ALG_ARGON2ID13,
  );
  const ms = performance.now() - started;
  s.memzero(key);
  return ms;
};
page.ready = true;
