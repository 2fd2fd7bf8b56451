export { type RelayConfig, relayConfig } from './config.js';
// How a partner relay signs its federation requests: tests sign their own, as a hostile or replaying relay would.
export { signRequest } from './federation/http-signature.js';
export type { Route } from './http/route.js';
export { ROUTES } from './http/routes.js';
export { RELAY_NODE_FLAGS } from './node-flags.js';
export { type Relay, startRelay } from './relay.js';
export { settingVariables } from './settings.js';
export { PGLITE_TYPES } from './storage/database.js';
export type { Database } from './storage/schema.js';
