import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startHookshot, type Hookshot, type HookshotOptions } from '../../src/runtime';
import { migrate } from '../../src/db/migrate';
import { bootstrapDefaultProject } from '../../src/db/repositories/projects';
import { freshDatabase, testEnv, type TestDatabase } from './env';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestHookshot extends Hookshot {
  apiUrl: string;
  /** The configuration the service runs with (for tests that call its parts directly). */
  config: Config;
  taskQueue: string;
  database: TestDatabase;
  /** fetch against the API; `key` adds ?key=. */
  api: ApiCall;
  /** The printed default project's keys. */
  keys: { test: string; live: string };
  close(): Promise<void>;
}

export interface TestHookshotOptions {
  /** Where the service's logs go (level debug unless env sets LOG_LEVEL). */
  logStream?: NodeJS.WritableStream;
  /** Wraps the Temporal client the API uses (see HookshotOptions). */
  wrapApiTemporal?: HookshotOptions['wrapApiTemporal'];
  /**
   * The URL the service connects with, from the fresh database's own: to put
   * something (a proxy that can cut the line) between it and PostgreSQL. The
   * test keeps the direct URL for its own setup.
   */
  databaseUrl?: (direct: string) => string;
}

/**
 * The whole service in this process (role all) on the shared test Temporal
 * server, a fresh database and a unique task queue, as `npm start` wires it.
 */
export async function startTestHookshot(env: Record<string, string> = {}, opts: TestHookshotOptions = {}): Promise<TestHookshot> {
  const { temporalAddress } = testEnv();
  const database = await freshDatabase();
  const taskQueue = `test-${randomBytes(6).toString('hex')}`;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: opts.databaseUrl?.(database.url) ?? database.url,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    ADMIN_TOKEN,
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    SCRAPE_ALLOWED_CIDRS: '127.0.0.1/32',
    SHUTDOWN_GRACE_MS: '2000',
    LOG_LEVEL: opts.logStream ? 'debug' : (process.env.TEST_LOG_LEVEL ?? 'silent'),
    ...env,
  });
  const logger = opts.logStream ? createLogger(config.logLevel, opts.logStream) : createLogger(config.logLevel);
  const keys = await captureDefaultKeys(database);
  const hs = await startHookshot(config, logger, { wrapApiTemporal: opts.wrapApiTemporal });
  const apiUrl = hs.apiUrl!;
  return {
    ...hs,
    apiUrl,
    config,
    taskQueue,
    database,
    keys,
    api: apiFetcher(apiUrl),
    async close() {
      await hs.stop();
      await database.drop();
    },
  };
}

export type ApiCall = (
  path: string,
  init?: RequestInit & { key?: string; json?: unknown },
) => Promise<{ status: number; headers: Headers; body: any }>;

/** fetch against an API at apiUrl: `key` adds ?key=, `json` a JSON body; the answer parsed when it is JSON. */
export function apiFetcher(apiUrl: string): ApiCall {
  return async (path, init = {}) => {
    const u = new URL(path, apiUrl);
    if (init.key) u.searchParams.set('key', init.key);
    const headers = new Headers(init.headers);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(init.json);
    }
    const res = await fetch(u, { ...init, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };
}

/**
 * The default project's keys are only printed, never stored in clear; tests
 * create the project themselves first so they know the keys.
 */
export async function captureDefaultKeys(database: TestDatabase): Promise<{ test: string; live: string }> {
  await migrate(database.pool);
  const keys = await bootstrapDefaultProject(database.pool);
  if (!keys) throw new Error('fresh database already had a project');
  return keys;
}
