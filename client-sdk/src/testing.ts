// Test suites for code written against the SDK's interfaces, kept out of the main entry: the
// KeyStore contract an agency's own key store runs (docs/client.md, "Writing your own key store").
// It imports no test runner: the caller hands it its own describe, it and expect.

export {
  type KeyStoreUnderTest,
  keyStoreContract,
  type TestFunctions,
} from './key-store/key-store-contract.js';
