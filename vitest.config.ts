import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/api/test/**/*.test.ts'],
    // Real servers, real databases: give slow CI machines room, but fail loudly.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Test files start their own servers on port 0; two cores, so keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
});
