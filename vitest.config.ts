import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real servers, real databases: give slow CI machines room, but fail loudly.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Test files start their own servers on port 0; two cores, so keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default', './scripts/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: [
            'packages/*/test/**/*.test.ts',
            'apps/api/test/**/*.test.ts',
            'apps/web/test/**/*.test.ts',
            'bench/test/**/*.test.ts',
          ],
        },
      },
      {
        // React tests need a DOM but also run the real API in-process: see dom-environment.ts for
        // why this is not Vitest's built-in `happy-dom` environment.
        extends: true,
        test: {
          name: 'dom',
          include: ['packages/react/test/**/*.test.tsx'],
          environment: './packages/react/test/support/dom-environment.ts',
        },
      },
      {
        // The web app in Debian's Chromium: builds apps/web, starts the API and `next start` itself.
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
