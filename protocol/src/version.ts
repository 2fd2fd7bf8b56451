/** Carried as the version byte of every canonical encoding and in every HTTP path (`/v1`). */
export const PROTOCOL_VERSION = 1;
