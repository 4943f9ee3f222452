import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { startHookshot } from './runtime';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`hookshot: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const hookshot = await startHookshot(config, logger);
  if (hookshot.temporalUiUrl) logger.info({ url: hookshot.temporalUiUrl }, 'Temporal Web UI');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight work');
    const t0 = Date.now();
    await hookshot.stop();
    logger.info({ ms: Date.now() - t0 }, 'stopped');
    // pino writes asynchronously: flush before exiting or the last lines are lost.
    logger.flush(() => process.exit(0));
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`hookshot: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
