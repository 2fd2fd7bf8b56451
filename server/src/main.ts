// The relay's entry point: the only place that reads the environment.
import { configFromEnv } from './env.js';
import { createLogger } from './log.js';
import { startRelay } from './relay.js';
import { stopOnSignals } from './signals.js';

const config = configFromEnv(process.env);
// Signals are handled from the first moment: one during start-up stops the relay once it is up.
const relay = startRelay(config);
stopOnSignals(relay, createLogger(config.logLevel));
await relay;
