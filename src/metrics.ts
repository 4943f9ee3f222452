// The process's Prometheus metrics (SPEC section 12), in one registry built
// here and handed to whoever counts: activities through ActivityDeps, the
// API through ApiDeps. A registry of our own rather than prom-client's global
// one, so that several Hookshots in one process (the tests) never share counts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { Db } from './db/pool';
import { countPendingDeliveries } from './db/repositories/queue';
import type { Logger } from './logger';

/**
 * success: the receiver answered 2xx. failure: anything else that was sent or
 * tried (an error status, a timeout, a refused connection). Two values only:
 * which error, and for which job, is in the attempt log (GET /jobs/:uuid),
 * and a label per error code would be a series per code for a rate that is
 * read as one number. Attempts that send nothing (webhook disabled or gone)
 * are not deliveries and are not counted.
 */
export type DeliveryOutcome = 'success' | 'failure';

/** Why a webhook was disabled: its entity reached the failure threshold, or someone disabled it. */
export type DisableReason = 'consecutive_failures' | 'manual';

/** What the service counts; activities are handed only this. */
export interface MetricsRecorder {
  /** One delivery attempt that was sent (named webhooks and crawl events alike). */
  delivery(outcome: DeliveryOutcome, durationMs: number): void;
  /** A job reached its final status. */
  jobFinished(kind: string, status: string): void;
  webhookDisabled(reason: DisableReason): void;
}

export interface Metrics extends MetricsRecorder {
  registry: Registry;
  /** The Prometheus text of every metric; the queue depth is read from the database now. */
  render(): Promise<{ contentType: string; text: string }>;
}

/** How long a scrape waits for the queue count before it answers without it. */
const QUEUE_QUERY_TIMEOUT_MS = 2000;

export function createMetrics(db: Db, logger?: Logger): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const deliveries = new Counter({
    name: 'hookshot_deliveries_total',
    help: 'Webhook delivery attempts sent, by outcome (success: a 2xx answer; failure: anything else)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  // Both series exist from the start, so a rate over them is defined before the first failure.
  for (const outcome of ['success', 'failure'] as const) deliveries.inc({ outcome }, 0);

  const duration = new Histogram({
    name: 'hookshot_delivery_duration_seconds',
    help: 'Duration of one delivery attempt, from the request to the end of the answer or the failure',
    // WEBHOOK_TIMEOUT_MS is 30 s by default: the top buckets see the slow and the timed out.
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });

  const jobs = new Counter({
    name: 'hookshot_jobs_total',
    help: 'Jobs that reached a final status, by kind (scrape, screenshot) and status (delivered, done, failed)',
    labelNames: ['kind', 'status'] as const,
    registers: [registry],
  });

  const disabled = new Counter({
    name: 'hookshot_webhooks_disabled_total',
    help: 'Webhooks disabled, by reason (consecutive_failures: the threshold was reached; manual)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  for (const reason of ['consecutive_failures', 'manual'] as const) disabled.inc({ reason }, 0);

  const queueHelp = 'Jobs owing a webhook delivery (pending or retrying), all projects; no sample when the database did not answer';
  /**
   * Counted at scrape time from the rows themselves, so every process (API
   * or worker) reports the same truth, with no counter to drift. One query
   * on the partial index jobs_project_pending. A total: a label per project
   * would grow without bound; GET /account gives one project's.
   * Written here rather than as a prom-client Gauge, which cannot leave its
   * sample out: when the count cannot be read the family has no sample (the
   * series goes stale, as Prometheus expects of an unknown value), instead
   * of a made-up 0 or prom-client's "Nan".
   */
  const queueDepth = async (): Promise<string> => {
    const head = `# HELP hookshot_webhook_queue_depth ${queueHelp}\n# TYPE hookshot_webhook_queue_depth gauge\n`;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${QUEUE_QUERY_TIMEOUT_MS} ms`)), QUEUE_QUERY_TIMEOUT_MS);
      });
      const n = await Promise.race([countPendingDeliveries(db), timeout]);
      return `${head}hookshot_webhook_queue_depth ${n}\n`;
    } catch (err) {
      // The other metrics still matter most during an outage: answer with them.
      logger?.warn({ err: (err as Error).message }, 'metrics: queue depth not read');
      return head;
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    registry,
    delivery(outcome, durationMs) {
      deliveries.inc({ outcome });
      duration.observe(durationMs / 1000);
    },
    jobFinished(kind, status) {
      jobs.inc({ kind, status });
    },
    webhookDisabled(reason) {
      disabled.inc({ reason });
    },
    async render() {
      const [raw, queue] = await Promise.all([registry.metrics(), queueDepth()]);
      // prom-client writes NaN as "Nan" (the event loop lag gauges between
      // two quick scrapes): Prometheus reads it, stricter parsers do not.
      const main = raw.replace(/ Nan$/gm, ' NaN');
      return { contentType: registry.contentType, text: `${main.endsWith('\n') ? main : `${main}\n`}${queue}` };
    },
  };
}

/**
 * GET /metrics on a port of its own: how a worker-only process (which has no
 * API server) is scraped, when METRICS_PORT is set. Nothing else is served.
 */
export async function serveMetrics(metrics: Metrics, port: number, host: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: only GET /metrics is served here\n');
      return;
    }
    metrics.render().then(
      ({ contentType, text }) => res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
