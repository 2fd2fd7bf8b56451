import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Tests run the packages' TypeScript source, no build needed: the workspace packages resolve
// through their `@liaison/source` export condition, ahead of the compiled dist/ they publish.
const conditions = ['@liaison/source', ...defaultServerConditions];

// One run, four projects: unit tests beside the code of each package, cross-package tests in test/.
export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    projects: [
      { extends: true, test: { name: 'protocol', include: ['protocol/src/**/*.test.ts'] } },
      { extends: true, test: { name: 'client-sdk', include: ['client-sdk/src/**/*.test.ts'], testTimeout: 30_000 } },
      { extends: true, test: { name: 'server', include: ['server/src/**/*.test.ts'], testTimeout: 30_000 } },
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
