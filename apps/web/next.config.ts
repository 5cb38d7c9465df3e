import type { NextConfig } from 'next';

// The workspace packages' TypeScript sources, as their `@anmei/source` export condition gives
// tsc and Vitest: the web app builds from src with no `npm run build` of the packages first.
// Turbopack (Next 16's default bundler) has no option for extra export conditions, so aliases.
const SOURCES = {
  '@anmei/protocol': '../../packages/protocol/src/index.ts',
  '@anmei/client': '../../packages/client/src/index.ts',
  '@anmei/react': '../../packages/react/src/index.ts',
};

const config: NextConfig = {
  transpilePackages: ['@anmei/client', '@anmei/react', '@anmei/protocol'],
  turbopack: { resolveAlias: SOURCES },
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
};

export default config;
