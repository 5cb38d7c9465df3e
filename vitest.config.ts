import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// Workspace packages export `@anmei/source` → src/index.ts beside the built dist (see their
// package.json): tests run the TypeScript sources, with no `npm run build` first.
export const SOURCE_CONDITION = '@anmei/source';

export default defineConfig({
  resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
  // Vitest's own default for the server side is Vite's minus `module` (which would pick ESM
  // builds, such as @aws-sdk's dist-es, that Node cannot import); it also passes these to its
  // workers as `--conditions`.
  ssr: {
    resolve: { conditions: [SOURCE_CONDITION, ...defaultServerConditions.filter((c) => c !== 'module')] },
  },
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
