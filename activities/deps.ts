import type { Dispatcher } from 'undici';
import type { PageRenderer } from '../src/capture/browser';
import type { CaptureSlots } from '../src/concurrency/slots';
import type { Config } from '../src/config';
import type { Db } from '../src/db/pool';
import type { Logger } from '../src/logger';
import type { MetricsRecorder } from '../src/metrics';
import type { WorkflowStarter } from '../src/temporal/client';

/**
 * What activities are built from. Each collaborator is typed by the narrow
 * interface activities use, so a test's fake is checked against it.
 */
export interface ActivityDeps {
  db: Db;
  /**
   * The webhook entities' own connections (their state, the disable gate's
   * exclusive side): a disable must not queue behind a flood of delivery
   * queries for a connection. Defaults to db.
   */
  entityDb?: Db;
  config: Config;
  logger: Logger;
  /** Address-guarded dispatchers: one opened by WEBHOOK_ALLOWED_CIDRS, one by SCRAPE_ALLOWED_CIDRS. */
  webhookHttp: Dispatcher;
  scrapeHttp: Dispatcher;
  /** For updates to webhook entities and signals to jobs. */
  temporal: WorkflowStarter;
  /** Chromium for screenshots and render_js. */
  browser: PageRenderer;
  /** The plan's concurrency limit: a capture runs only while it holds a slot. */
  slots: CaptureSlots;
  /** The process's Prometheus metrics: deliveries, finished jobs, disables. */
  metrics: MetricsRecorder;
}
