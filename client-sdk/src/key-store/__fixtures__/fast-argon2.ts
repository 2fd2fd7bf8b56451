/** Argon2id at a cost tests can afford many times over (the store's default takes about a second and 256 MiB). */
export const FAST_ARGON2 = { opsLimit: 2, memLimit: 16 * 1024 * 1024 };
