#!/usr/bin/env node
// The `liaison` admin CLI. Installed from a package it runs the compiled dist/. In this repository,
// where src/ is present, it runs the source through tsx, with the workspace packages resolved to
// their source too (the `@liaison/source` export condition): `npx liaison` then works right after
// `npm ci`, and never runs a build older than the code beside it.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

if (existsSync(new URL('../src/cli/main.ts', import.meta.url))) {
  register(
    'data:text/javascript,export const resolve = (specifier, context, next) =>' +
      ' next(specifier, { ...context, conditions: [...context.conditions, "@liaison/source"] });',
  );
  const tsx = await import('tsx/esm/api');
  tsx.register();
  await import('../src/cli/main.ts');
} else {
  await import('../dist/cli/main.js');
}
