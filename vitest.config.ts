import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests run the packages' TypeScript source, no build needed: the workspace packages resolve
// through their `@liaison/source` export condition, ahead of the compiled dist/ they publish.
const conditions = ['@liaison/source', ...defaultServerConditions];

// One run, five projects: unit tests beside the code of each package, cross-package tests in test/.
// The web app's unit tests cover its pure logic only (history, routes, catalogues), so they run
// in Node without a DOM; what needs a browser is tested in Chromium by test/web/.
export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    projects: [
      { extends: true, test: { name: 'protocol', include: ['protocol/src/**/*.test.ts'] } },
      { extends: true, test: { name: 'client-sdk', include: ['client-sdk/src/**/*.test.ts'], testTimeout: 30_000 } },
      { extends: true, test: { name: 'server', include: ['server/src/**/*.test.ts'], testTimeout: 30_000 } },
      { extends: true, test: { name: 'web', include: ['web/src/**/*.test.ts'], environment: 'node' } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/harness/build.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
