// The relay's entry point: the only place that reads the environment.
import { configFromEnv } from './env.js';
import { startRelay } from './relay.js';

const relay = await startRelay(configFromEnv(process.env));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void relay.stop().then(() => process.exit(0));
  });
}
