/**
 * Process entry: load config (one clear line per bad key, exit 1), build, listen, print the
 * demo accounts when demo data is seeded (SEED_DEMO_DATA, default on outside production),
 * log (not die of) unhandled promise rejections, and shut down gracefully on SIGTERM/SIGINT.
 */
import { buildApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { DEMO_PASSWORD } from './db/seed.ts';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const built = await buildApp(config);
  // A promise rejection nobody handled is a bug, but it does not corrupt state the way a
  // thrown exception mid-function can: log it loudly and keep serving every other socket
  // instead of ending the process (Node's default), which would drop all of them.
  process.on('unhandledRejection', (reason: unknown) => {
    built.logger.error({ err: reason }, 'unhandled promise rejection (a bug; the process keeps running)');
  });
  const { url } = await built.listen();
  built.logger.info(
    {
      url,
      database: built.ctx.databaseKind,
      bus: config.redisUrl ? 'redis' : 'memory',
      push: config.notificationProviders,
    },
    'api listening',
  );
  if (built.seed) {
    // Demo credentials are public (README); printed so a new developer can log in at once.
    const rows = built.seed.users.map((u) => `   ${u.role.padEnd(10)} ${u.username.padEnd(16)} ${u.displayName}`);
    process.stdout.write(
      `\nAnmeiSmart Realtime is up at ${url}  (API docs: ${url}/docs)\n` +
        `Demo accounts (password "${DEMO_PASSWORD}"):\n${rows.join('\n')}\n\n`,
    );
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    built.logger.info({ signal }, 'shutting down: draining connections');
    // If draining hangs (a stuck dependency), exit anyway rather than never.
    setTimeout(() => {
      built.logger.error({ timeoutMs: config.shutdown.timeoutMs }, 'graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdown.timeoutMs + 5_000).unref();
    built.close().then(
      () => {
        built.logger.info('shutdown complete');
        process.exit(0);
      },
      (error: unknown) => {
        built.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
