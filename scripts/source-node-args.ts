/**
 * Node arguments that run this repo's TypeScript sources directly (development, tests, bench):
 * tsx compiles them on load, and `--conditions=@anmei/source` makes `@anmei/protocol`,
 * `@anmei/client` and `@anmei/react` resolve to their src/index.ts instead of the built dist/
 * that their package.json `exports` give Node by default (and consumers, and `start:prod`).
 */
export const SOURCE_NODE_ARGS = ['--conditions=@anmei/source', '--import', 'tsx'];
