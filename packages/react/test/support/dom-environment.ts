/**
 * A DOM for React tests that also run the REAL API server in the same process.
 *
 * Vitest's built-in `happy-dom` environment transforms every module for the browser (Vite's
 * `client` environment), which rewrites `new URL('…', import.meta.url)` in the server's
 * migration loader, and it replaces Node's `fetch`, `URL` and `AbortController` with
 * happy-dom's. Here modules keep the `ssr` (Node) transform and only the DOM globals
 * (`window`, `document`, elements, events) come from happy-dom.
 * Use with `// @vitest-environment ./packages/react/test/support/dom-environment.ts`.
 */
import { type Environment, populateGlobal } from 'vitest/environments';

const environment: Environment = {
  name: 'happy-dom-with-node-networking',
  viteEnvironment: 'ssr',
  async setup(global) {
    const { GlobalWindow } = await import('happy-dom');
    const window = new GlobalWindow({ url: 'http://localhost:3000', settings: { disableErrorCapturing: true } });
    const { keys, originals } = populateGlobal(global, window, { bindFunctions: true });
    return {
      async teardown(global) {
        await window.happyDOM.abort();
        window.close();
        for (const key of keys) delete global[key];
        for (const [key, value] of originals) global[key] = value;
      },
    };
  },
};

export default environment;
