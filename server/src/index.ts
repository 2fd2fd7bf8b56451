export { type RelayConfig, relayConfig } from './config.js';
export type { Route } from './http/route.js';
export { ROUTES } from './http/routes.js';
export { type Relay, startRelay } from './relay.js';
export { settingVariables } from './settings.js';
export type { Database } from './storage/schema.js';
