import { defineConfig } from 'vitest/config';

// One run, four projects: unit tests beside the code of each package, cross-package tests in test/.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'protocol', include: ['protocol/src/**/*.test.ts'] } },
      { test: { name: 'client-sdk', include: ['client-sdk/src/**/*.test.ts'], testTimeout: 30_000 } },
      { test: { name: 'server', include: ['server/src/**/*.test.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
