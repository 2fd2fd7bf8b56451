#!/usr/bin/env node
// The SDK runs from TypeScript source; tsx compiles it on the fly for this command.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
