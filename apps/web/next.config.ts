import type { NextConfig } from 'next';

const config: NextConfig = {
  transpilePackages: ['@anmei/client', '@anmei/react', '@anmei/protocol'],
  typescript: { ignoreBuildErrors: true },
  poweredByHeader: false,
};

export default config;
