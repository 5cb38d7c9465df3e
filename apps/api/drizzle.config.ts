import { defineConfig } from 'drizzle-kit';

// Used only by `npm run db:generate --workspace @anmei/api`; the app applies ./drizzle at startup.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
