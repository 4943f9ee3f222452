import { Runtime, type LogLevel, type LogMetadata } from '@temporalio/worker';
import type { Logger } from '../logger';

let installed = false;

/**
 * Sends the Temporal SDK's own logs (worker state, workflow and activity
 * context loggers) into our JSON logger instead of its default console
 * output, and exports the SDK's worker metrics when a port is given. The SDK
 * allows one Runtime per process, so the first caller wins.
 */
export function installSdkLogger(logger: Logger, metrics?: { host: string; port: number }): void {
  if (installed) return;
  installed = true;
  const child = logger.child({ component: 'temporal-sdk' });
  const map: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace',
    DEBUG: 'debug',
    INFO: 'info',
    WARN: 'warn',
    ERROR: 'error',
  };
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => child[map[level]](meta ?? {}, message);
  Runtime.install({
    // Hookshot owns the shutdown order (API, then workers, then storage);
    // the SDK's own SIGINT handler would start draining behind our back.
    shutdownSignals: [],
    ...(metrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `${metrics.host}:${metrics.port}` } } } } : {}),
    logger: {
      log,
      trace: (m, meta) => log('TRACE', m, meta),
      debug: (m, meta) => log('DEBUG', m, meta),
      info: (m, meta) => log('INFO', m, meta),
      warn: (m, meta) => log('WARN', m, meta),
      error: (m, meta) => log('ERROR', m, meta),
    },
  });
}
