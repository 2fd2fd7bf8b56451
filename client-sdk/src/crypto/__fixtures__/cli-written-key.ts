/**
 * A key file written by `liaison key new` before its format moved into the SDK (crypto/key-file.ts),
 * kept so that the SDK is shown to open the files the CLI has already written.
 */
export const CLI_WRITTEN_KEY = {
  passphrase: 'fixture passphrase',
  publicKey: 'AR7JvexNUUCeolnV64o5gvwo8Ej80KIQEySfAoNsD3s',
  text: `{
  "liaisonKey": 1,
  "publicKey": "AR7JvexNUUCeolnV64o5gvwo8Ej80KIQEySfAoNsD3s",
  "salt": "25dJ9-49321CXzNgHuoR3A",
  "opsLimit": 3,
  "memLimit": 67108864,
  "nonce": "sf8vbCao00KplYuZaoEVwrUUbO7fsr_Z",
  "sealed": "AqwkNL9sVtPTP8hQ1y4wg5VJ8NZdqBVPEKQsXClXzqeRMG17XOzzoCKUjUYPS8zjpAkjh2Mu_8EISGwGJKw0IVNs2EwXJvO-9m40Pamavf4"
}
`,
};
