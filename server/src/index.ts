export { type RelayConfig, relayConfig } from './config.js';
export { ROUTES, type Route } from './http/routes.js';
export { type Relay, startRelay } from './relay.js';
export type { Database } from './storage/schema.js';
