import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { Config } from './config';
import type { Logger } from './logger';
import { createPool, type Db } from './db/pool';
import { migrate } from './db/migrate';
import { ensureDatabase } from './db/ensureDatabase';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded';
import { bootstrapDefaultProject } from './db/repositories/projects';
import { resolveTemporalCli, startDevServer, type DevServer } from './temporalServer/devServer';
import { resolveTemporalTools } from './temporalServer/process';
import { startPostgresTemporal } from './temporalServer/postgresServer';
import { createTemporalClient } from './temporal/client';
import { createWorkers } from './worker/worker';
import { installSdkLogger } from './temporal/sdkLogger';
import { createApp } from './api/app';
import { answerClientErrors } from './api/clientError';
import { AddressGuard } from './net/addressGuard';
import { createGuardedAgent } from './net/httpClient';
import { BrowserPool } from './capture/browser';
import { createCaptureSlots, type CaptureSlots } from './concurrency/slots';
import { captureLeaseTtlMs } from './temporal/jobInput';
import { createMetrics, serveMetrics, type Metrics } from './metrics';

export interface Hookshot {
  /** Base URL the API listens on (role api/all), else null. */
  apiUrl: string | null;
  temporalAddress: string;
  temporalUiUrl: string | null;
  /** GET /metrics on METRICS_PORT, when set. */
  metricsUrl: string | null;
  db: Db;
  /** This process's Temporal workers (none for role api), for their status (cached workflows, slots in use). */
  workers: readonly Worker[];
  stop(): Promise<void>;
}

export interface HookshotOptions {
  /**
   * Wraps the Temporal client the API is given (the worker keeps the real
   * one). For tests that make Temporal calls fail in ways a real server
   * rarely does on cue, such as a start that lands but whose answer is lost.
   */
  wrapApiTemporal?: (client: Client) => Client;
}

/**
 * Boots what the role needs, in this order: the database, the Temporal
 * server, the workers, the API, the metrics port. With no DATABASE_URL /
 * TEMPORAL_ADDRESS it starts the embedded PostgreSQL and the Temporal dev
 * server under DATA_DIR first. Stop order is the reverse: no new requests,
 * drain the worker, then storage. A failed start stops what had started.
 */
export async function startHookshot(config: Config, logger: Logger, opts: HookshotOptions = {}): Promise<Hookshot> {
  const stack = new StopStack(logger);
  try {
    const { db, entityDb } = await openDatabase(config, logger, stack);
    // One registry per process: the worker counts into it, the API and METRICS_PORT serve it.
    const metrics = createMetrics(db, logger);
    await prepareDatabase(config, logger, db);
    const { address: temporalAddress, uiUrl: temporalUiUrl } = await ensureTemporal(config, logger, stack);
    // One client for the process: the API starts workflows, activities signal them.
    const temporal: Client = await createTemporalClient(temporalAddress, config.temporal.namespace);
    stack.push(() => temporal.connection.close());
    const slots = createCaptureSlots({ db, temporal, logger, ttlMs: captureLeaseTtlMs(config), enabled: config.captureConcurrency === 'plan' });
    const workers =
      config.role !== 'api' ? await startWorkers(config, logger, stack, temporalAddress, { db, entityDb, temporal, slots, metrics }) : [];
    const apiUrl =
      config.role !== 'worker'
        ? await startApi(config, logger, stack, { db, temporal: opts.wrapApiTemporal?.(temporal) ?? temporal, slots, metrics })
        : null;
    const metricsUrl = config.metricsPort !== null ? await startMetricsPort(config, logger, stack, metrics, config.metricsPort) : null;
    return { apiUrl, temporalAddress, temporalUiUrl, metricsUrl, db, workers, stop: () => stack.stopAll() };
  } catch (err) {
    await stack.stopAll();
    throw err;
  }
}

/** What was started, each with how to stop it; stopped newest first, so each part outlives what depends on it. */
class StopStack {
  private readonly stops: Array<() => Promise<void>> = [];
  constructor(private readonly logger: Logger) {}

  push(stop: () => Promise<void>): void {
    this.stops.push(stop);
  }

  /** Runs every stop, newest first; one that fails is logged and the rest still run. */
  async stopAll(): Promise<void> {
    for (let stop = this.stops.pop(); stop; stop = this.stops.pop()) {
      await stop().catch((err) => this.logger.error({ err }, 'error during shutdown'));
    }
  }
}

/**
 * The database: the embedded PostgreSQL when no DATABASE_URL is set (else the
 * database is created on a fresh server), the pool, and the webhook entities'
 * own connections.
 */
async function openDatabase(config: Config, logger: Logger, stack: StopStack): Promise<{ db: Db; entityDb: Db }> {
  let databaseUrl = config.databaseUrl;
  let poolMax = config.databasePoolMax;
  if (!databaseUrl) {
    const pg: EmbeddedPostgres = await startEmbeddedPostgres(config.dataDir);
    stack.push(() => pg.stop());
    databaseUrl = pg.url;
    poolMax = 1; // PGlite is single-connection
    logger.info({ dir: path.resolve(config.dataDir, 'pglite') }, 'embedded PostgreSQL (PGlite) started');
  } else if (await ensureDatabase(databaseUrl)) {
    // A fresh server: the first start makes the database it was pointed at.
    logger.info({ database: new URL(databaseUrl).pathname.slice(1) }, 'database created');
  }
  const db = createPool(databaseUrl, poolMax);
  stack.push(() => db.end());
  // Two connections of their own for the webhook entities (not on PGlite, which has one).
  const entityDb = poolMax > 1 ? createPool(databaseUrl, 2) : db;
  if (entityDb !== db) stack.push(() => entityDb.end());
  return { db, entityDb };
}

/** Migrations, then the default project and its first keys on an empty database. */
async function prepareDatabase(config: Config, logger: Logger, db: Db): Promise<void> {
  const applied = await migrate(db);
  if (applied.length) logger.info({ applied }, 'database migrations applied');
  // Only a process that serves the API prints the first keys, so they show up
  // in the API's log rather than in whichever worker happened to boot first.
  const keys = config.role !== 'worker' ? await bootstrapDefaultProject(db) : null;
  if (keys) {
    // Printed once, on the first start with an empty database: the only time these keys are shown.
    logger.warn(
      { project: 'default', test_api_key: keys.test, live_api_key: keys.live },
      'default project created; save these API keys now, they are not shown again',
    );
  }
}

/**
 * The Temporal server to use: TEMPORAL_ADDRESS when set; else one started
 * here, on PostgreSQL (TEMPORAL_STORE=postgres) or the dev server on SQLite.
 */
async function ensureTemporal(config: Config, logger: Logger, stack: StopStack): Promise<{ address: string; uiUrl: string | null }> {
  if (config.temporal.address) return { address: config.temporal.address, uiUrl: null };
  if (config.temporal.store === 'postgres') {
    const t0 = Date.now();
    // Set whenever the store is postgres with no TEMPORAL_ADDRESS (config refuses otherwise).
    const databaseUrl = config.temporal.databaseUrl;
    if (!databaseUrl) throw new Error('TEMPORAL_STORE=postgres needs a database for Temporal (TEMPORAL_DATABASE_URL)');
    const server = await startPostgresTemporal({
      tools: await resolveTemporalTools(),
      databaseUrl,
      port: config.temporal.port,
      uiPort: config.temporal.uiPort,
      namespace: config.temporal.namespace,
      dataDir: config.dataDir,
      log: (msg, fields) => logger.info(fields ?? {}, msg),
    });
    stack.push(() => server.stop());
    logger.info(
      { address: server.address, ui: server.uiUrl, databases: server.databases, ms: Date.now() - t0 },
      'Temporal server on PostgreSQL started',
    );
    return { address: server.address, uiUrl: server.uiUrl };
  }
  const cliPath = await resolveTemporalCli(config.temporal.cliPath);
  const dev: DevServer = await startDevServer({
    cliPath,
    port: config.temporal.port,
    uiPort: config.temporal.uiPort,
    namespace: config.temporal.namespace,
    dbFile: path.resolve(config.dataDir, 'temporal.db'),
    logFile: path.resolve(config.dataDir, 'temporal.log'),
    pidFile: path.resolve(config.dataDir, 'temporal.pid'),
    extraArgs: config.temporal.sqlitePragmas.flatMap((p) => ['--sqlite-pragma', p]),
  });
  stack.push(() => dev.stop());
  logger.info({ address: dev.address, ui: dev.uiUrl }, 'Temporal dev server started');
  return { address: dev.address, uiUrl: dev.uiUrl };
}

/**
 * The Temporal workers and what their activities use: the worker's own
 * connection, the guarded HTTP agents and the browser. They are stopped
 * before those (the stack unwinds), after the API.
 */
async function startWorkers(
  config: Config,
  logger: Logger,
  stack: StopStack,
  temporalAddress: string,
  shared: { db: Db; entityDb: Db; temporal: Client; slots: CaptureSlots; metrics: Metrics },
): Promise<Worker[]> {
  installSdkLogger(logger, config.sdkMetricsPort !== null ? { host: config.host, port: config.sdkMetricsPort } : undefined);
  const connection = await NativeConnection.connect({ address: temporalAddress });
  stack.push(() => connection.close());
  const scrapeGuard = new AddressGuard(config.scrape.allowedCidrs);
  const scrapeHttp = createGuardedAgent({ guard: scrapeGuard });
  const webhookHttp = createGuardedAgent({ guard: new AddressGuard(config.webhook.allowedCidrs) });
  stack.push(async () => {
    await Promise.all([scrapeHttp.close(), webhookHttp.close()]);
  });
  // Launched on first use, so workers that never capture never start Chromium.
  const browser = new BrowserPool({
    chromiumPath: config.chromiumPath,
    concurrency: config.browserConcurrency,
    guard: scrapeGuard,
    http: scrapeHttp,
    maxBytes: config.scrape.maxBytes,
    logger,
  });
  stack.push(() => browser.close());
  const workers = await createWorkers({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    shutdownGraceMs: config.shutdownGraceMs,
    deps: { ...shared, config, logger, webhookHttp, scrapeHttp, browser },
  });
  const running = workers.map((w) => {
    const r = w.run();
    r.catch((err) => logger.fatal({ err }, 'worker stopped unexpectedly'));
    return r;
  });
  stack.push(async () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.all(running.map((r) => r.catch(() => undefined)));
  });
  logger.info({ taskQueue: config.temporal.taskQueue }, 'worker running');
  return workers;
}

/** The HTTP API (and dashboard); the first to stop, so no new request arrives while the rest winds down. */
async function startApi(
  config: Config,
  logger: Logger,
  stack: StopStack,
  deps: { db: Db; temporal: Client; slots: CaptureSlots; metrics: Metrics },
): Promise<string> {
  const app = createApp({ ...deps, config, logger });
  // Koa's callback settles its own promise (errors go to its error handler).
  const handle = app.callback();
  const server = http.createServer((req, res) => void handle(req, res));
  answerClientErrors(server, logger);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  stack.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  );
  const { port } = server.address() as AddressInfo;
  const apiUrl = `http://127.0.0.1:${port}`;
  logger.info({ url: apiUrl, publicUrl: config.publicUrl }, 'API listening');
  return apiUrl;
}

/** GET /metrics on METRICS_PORT (how a worker-only process is scraped). */
async function startMetricsPort(config: Config, logger: Logger, stack: StopStack, metrics: Metrics, port: number): Promise<string> {
  const served = await serveMetrics(metrics, port, config.host);
  stack.push(() => served.close());
  logger.info({ url: served.url }, 'metrics listening');
  return served.url;
}
