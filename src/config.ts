import { z } from 'zod';
import { parseDuration } from './shared/duration';
import { DEFAULT_TASK_QUEUE } from './shared/names';
import { parseCidr, type Cidr } from './net/addressGuard';

// Every setting the process reads from the environment, parsed once at boot.
// A bad value stops the process with the variable's name and the reason.

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

// 0 = any free port (tests).
const port = z.coerce.number().int().min(0).max(65535);

// Read by the guard's own parser, so boot refuses exactly what the guard
// could not honour (999.1.1.1, 10.0.0.1/8), naming each bad entry.
const cidrList = z
  .string()
  .default('')
  .transform((s, ctx) => {
    const out: Cidr[] = [];
    for (const entry of s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      try {
        out.push(parseCidr(entry));
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }
    return out;
  });

const durationList = z.string().transform((s, ctx) => {
  const parts = s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (parts.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'needs at least one duration' });
    return z.NEVER;
  }
  const out: number[] = [];
  for (const p of parts) {
    const ms = parseDuration(p);
    if (ms === null) {
      ctx.addIssue({ code: 'custom', message: `"${p}" is not a duration (use ms, s, m, h or d, e.g. 30s)` });
      return z.NEVER;
    }
    out.push(ms);
  }
  return out;
});

const EnvSchema = z.object({
  PORT: port.default(8080),
  METRICS_PORT: port.optional(),
  TEMPORAL_SDK_METRICS_PORT: port.optional(),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  ROLE: z.enum(['api', 'worker', 'all']).default('all'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// connection string')
    .optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:7233')
    .optional(),
  // `sqlite` is the specification's name for the dev server's store.
  TEMPORAL_STORE: z
    .enum(['dev', 'sqlite', 'postgres'])
    .default('dev')
    .transform((v) => (v === 'sqlite' ? 'dev' : v)),
  TEMPORAL_DATABASE_URL: z
    .string()
    .regex(
      /^postgres(ql)?:\/\/[^/]*\/[^/?]+/,
      'must be a postgres:// or postgresql:// URL with a database name, e.g. postgres://temporal@127.0.0.1:5432/temporal',
    )
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_CLI: z.string().min(1).optional(),
  TEMPORAL_UI_URL: z.url({ protocol: /^https?$/ }).optional(),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  TEMPORAL_SQLITE_PRAGMAS: z
    .string()
    .default('journal_mode=WAL,synchronous=FULL')
    .transform((v) =>
      v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    )
    .refine((ps) => ps.every((p) => /^[a-z_]+=[A-Za-z0-9_]+$/.test(p)), 'must be a comma-separated list of pragma=value'),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  WEBHOOK_RETRY_SCHEDULE: durationList.prefault('30s,1m,5m,30m,1h,1d'),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(30_000),
  WEBHOOK_DISABLE_AFTER: z.coerce.number().int().min(1).max(1_000_000).default(100),
  WEBHOOK_RETRY_JITTER: z.coerce.number().min(0).max(0.5).default(0.1),
  WEBHOOK_REQUIRE_HTTPS: bool.default(false),
  WEBHOOK_ALLOWED_CIDRS: cidrList,
  // Scrapfly's docs say `crawler`; its live deliveries send `crawl`.
  CRAWLER_WEBHOOK_RESOURCE_TYPE: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be a lower-case token such as crawler or crawl')
    .default('crawler'),
  SCRAPE_ALLOWED_CIDRS: cidrList,
  SCRAPE_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(30_000),
  SCRAPE_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(10 * 1024 * 1024),
  CHROMIUM_PATH: z.string().min(1).default('/usr/bin/chromium'),
  BROWSER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  CAPTURE_CONCURRENCY: z.enum(['plan', 'off']).default('plan'),
  CRAWL_PAGE_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(10),
  CRAWL_PAGES_PER_RUN: z.coerce.number().int().min(10).max(5000).default(500),
  CRAWL_MAX_PAGES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  CRAWL_EVENT_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(8),
  CRAWL_EXPIRES_AFTER: z
    .string()
    .transform((s, ctx) => {
      const ms = parseDuration(s);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `"${s}" is not a duration (use ms, s, m, h or d, e.g. 24h)` });
        return z.NEVER;
      }
      return ms;
    })
    .prefault('24h'),
  DELIVERY_PAYLOAD_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  DELIVERY_PAYLOAD_RETENTION: z
    .string()
    .transform((s, ctx) => {
      const ms = parseDuration(s);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `"${s}" is not a duration (use ms, s, m, h or d, e.g. 7d)` });
        return z.NEVER;
      }
      return ms;
    })
    .prefault('7d'),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  API_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
});

export type Env = z.input<typeof EnvSchema>;

/** The environment, read into the shape the code uses; the Config type follows from it. */
const ConfigSchema = EnvSchema.transform((e, ctx) => ({
  port: e.PORT,
  /**
   * A second listener that serves only GET /metrics (on HOST). A worker-only
   * process has no API server: this is how it is scraped. Unset: none (the
   * API serves /metrics on PORT).
   */
  metricsPort: e.METRICS_PORT ?? null,
  /**
   * The Temporal SDK's own worker metrics (task slots, poll and schedule
   * latencies, cache size), served in Prometheus text by the SDK's core on
   * HOST:this port, GET /metrics. Unset: not exported.
   */
  sdkMetricsPort: e.TEMPORAL_SDK_METRICS_PORT ?? null,
  host: e.HOST,
  publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
  /**
   * Whether the operator named the public URL. Without it, links a client
   * must follow (a crawl's `next`) are built from the request's own origin,
   * since the localhost fallback is right only for a client on this machine.
   */
  publicUrlSet: e.PUBLIC_URL !== undefined,
  role: e.ROLE,
  dataDir: e.DATA_DIR,
  databaseUrl: e.DATABASE_URL,
  databasePoolMax: e.DATABASE_POOL_MAX,
  temporal: {
    address: e.TEMPORAL_ADDRESS,
    /**
     * What Hookshot starts when TEMPORAL_ADDRESS is unset: 'dev', the CLI's
     * dev server on SQLite in DATA_DIR; 'postgres', the full server and its
     * UI on PostgreSQL (src/temporalServer/postgresServer.ts).
     */
    store: e.TEMPORAL_STORE,
    /**
     * TEMPORAL_STORE=postgres: the main store's URL (visibility is the same
     * name + _visibility). Unset: DATABASE_URL's server, database "temporal";
     * neither set: postgres://postgres@127.0.0.1:5432/temporal.
     */
    databaseUrl: temporalDatabaseUrl(e, ctx),
    namespace: e.TEMPORAL_NAMESPACE,
    port: e.TEMPORAL_PORT,
    uiPort: e.TEMPORAL_UI_PORT,
    cliPath: e.TEMPORAL_CLI,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    /**
     * The embedded dev server's SQLite pragmas. WAL with every commit synced:
     * in one bench run it did 20–50 workflows/s where the default rollback
     * journal did 6, with nothing lost to a power cut (NORMAL measured no
     * faster). See the README's figures.
     */
    sqlitePragmas: e.TEMPORAL_SQLITE_PRAGMAS,
    /**
     * Base of the dashboard's links to a job's workflow. Without it, the
     * embedded dev server's UI when Hookshot starts Temporal itself; with an
     * external Temporal nothing can be guessed, so no link.
     */
    uiUrl: (e.TEMPORAL_UI_URL ?? (e.TEMPORAL_ADDRESS ? null : `http://localhost:${e.TEMPORAL_UI_PORT}`))?.replace(/\/+$/, '') ?? null,
  },
  adminToken: e.ADMIN_TOKEN,
  webhook: {
    retryScheduleMs: e.WEBHOOK_RETRY_SCHEDULE,
    timeoutMs: e.WEBHOOK_TIMEOUT_MS,
    disableAfter: e.WEBHOOK_DISABLE_AFTER,
    retryJitter: e.WEBHOOK_RETRY_JITTER,
    requireHttps: e.WEBHOOK_REQUIRE_HTTPS,
    allowedCidrs: e.WEBHOOK_ALLOWED_CIDRS,
    /** X-Scrapfly-Webhook-Resource-Type of a crawler's events. */
    crawlerResourceType: e.CRAWLER_WEBHOOK_RESOURCE_TYPE,
  },
  scrape: {
    allowedCidrs: e.SCRAPE_ALLOWED_CIDRS,
    timeoutMs: e.SCRAPE_TIMEOUT_MS,
    maxBytes: e.SCRAPE_MAX_BYTES,
  },
  crawl: {
    /** Pages one crawl fetches at once (a caller's maxConcurrency may lower it). */
    pageConcurrency: e.CRAWL_PAGE_CONCURRENCY,
    /** Pages per crawl workflow run before it continues as new. */
    pagesPerRun: e.CRAWL_PAGES_PER_RUN,
    /** The largest `limit` a crawl may ask for (also the default). */
    maxPages: e.CRAWL_MAX_PAGES,
    /** Page events whose first attempt is in flight at once, per crawl. */
    eventConcurrency: e.CRAWL_EVENT_CONCURRENCY,
    /** How long a finished crawl's results stay readable (expiresAt). */
    expiresAfterMs: e.CRAWL_EXPIRES_AFTER,
  },
  delivery: {
    /** Bytes of a job delivery's payload kept per attempt (0: none); past it the first N and a truncated flag. */
    payloadMaxBytes: e.DELIVERY_PAYLOAD_MAX_BYTES,
    /** How long stored payloads are kept; the attempt rows themselves stay. */
    payloadRetentionMs: e.DELIVERY_PAYLOAD_RETENTION,
  },
  chromiumPath: e.CHROMIUM_PATH,
  browserConcurrency: e.BROWSER_CONCURRENCY,
  /** 'plan': a project runs at most its plan's (or its own) number of captures at once; 'off': no limit. */
  captureConcurrency: e.CAPTURE_CONCURRENCY,
  logLevel: e.LOG_LEVEL,
  apiBodyLimitBytes: e.API_BODY_LIMIT_BYTES,
  shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
}));

export type Config = z.output<typeof ConfigSchema>;

export const LOCAL_TEMPORAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/temporal';

function temporalDatabaseUrl(e: z.output<typeof EnvSchema>, ctx: z.RefinementCtx): string | null {
  // The server records its membership ports in a smallint column: a port
  // past 32767 makes it exit at start ("out of range for type smallint").
  if (e.TEMPORAL_STORE === 'postgres' && !e.TEMPORAL_ADDRESS && e.TEMPORAL_PORT + 7 > 32_767) {
    ctx.addIssue({
      code: 'custom',
      path: ['TEMPORAL_PORT'],
      message:
        'with TEMPORAL_STORE=postgres the server uses TEMPORAL_PORT..TEMPORAL_PORT+7, which must stay at or below 32767 (Temporal stores them as smallint)',
    });
  }
  if (e.TEMPORAL_DATABASE_URL) return e.TEMPORAL_DATABASE_URL;
  if (e.DATABASE_URL) {
    const u = new URL(e.DATABASE_URL);
    u.pathname = '/temporal';
    return u.toString();
  }
  // The embedded PGlite cannot serve Temporal (one connection): with no URL
  // given, the PostgreSQL a development machine has on its standard port.
  if (e.TEMPORAL_STORE === 'postgres') return LOCAL_TEMPORAL_DATABASE_URL;
  return null;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings count as unset: `FOO= npm start` should mean "default".
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') cleaned[key] = v;
  }
  const parsed = ConfigSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  return parsed.data;
}
