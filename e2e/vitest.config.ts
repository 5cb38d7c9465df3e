import { defineConfig } from 'vitest/config';

// Browser end-to-end tests: one file, one stack (API process + `next start` + Chromium), run in order.
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.test.ts'],
    root: new URL('..', import.meta.url).pathname,
    testTimeout: 60_000,
    hookTimeout: 240_000,
    fileParallelism: false,
    maxWorkers: 1,
  },
});
