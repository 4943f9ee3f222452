// Workflow ↔ activity contracts. Small values only: history carries IDs and
// summaries, never page content.
import type { JobKind, JobStatus } from '../names';

export interface JobWorkflowInput {
  jobId: string;
  kind: JobKind;
  /** The webhook's uuid (its entity counts every attempt's outcome); null for synchronous jobs. */
  webhookId: string | null;
  /** 'replay': the result is stored already; only deliver (a new series). */
  mode: 'new' | 'replay';
  /** A short capture (plain scrape): run it as a local activity, sparing a server round trip. */
  captureLocal: boolean;
  /** The capture's own limit (SCRAPE_TIMEOUT_MS); sizes the capture activity's timeout. */
  captureTimeoutMs: number;
  /**
   * While waiting in line for a capture slot, ask again this often in case a
   * wake-up signal was lost (the wake is a signal; this is only a safety net).
   */
  slotRecheckMs: number;
  /** false for synchronous jobs: nothing to deliver. */
  deliver: boolean;
  /** Waits between failed attempts; attempts = waits + 1. */
  retryScheduleMs: number[];
  /** Each wait is spread by up to ± this fraction, so failures that happened together are not retried together. */
  retryJitter: number;
  /** One attempt's HTTP limit; sizes the delivery activity's timeout. */
  deliveryTimeoutMs: number;
  /**
   * Attempts run as local activities. Input, not a patch marker: workflows
   * started before this existed (no field) keep scheduling activity tasks,
   * so their histories replay unchanged.
   */
  deliveryLocal?: boolean;
}

export interface JobWorkflowResult {
  status: JobStatus;
  /** Delivery attempts made, all series together. */
  attempts: number;
}

export interface RunJobOutcome {
  /** No capture slot of the project was free: the job waits in line and is woken by slotGranted. */
  queued: boolean;
  ok: boolean;
  errorCode: string | null;
  statusCode: number | null;
  sizeBytes: number;
}

export interface DeliveryAttemptInput {
  jobId: string;
  /** 0 for the first series; each replay starts the next one (same Job-Id). */
  series: number;
  attempt: number;
  /** Whether a failure will be followed by another attempt (sets job status). */
  willRetry: boolean;
}

export interface DeliveryAttemptOutcome {
  success: boolean;
  statusCode: number | null;
  errorCode: string | null;
  /** Server's Retry-After on 429/503, already capped; null when absent. */
  retryAfterMs: number | null;
  /**
   * Set when this series must end now, to the code it ends with: the webhook
   * is disabled or gone, either before the attempt (nothing was sent) or
   * because this failure disabled it.
   */
  stop: 'ERR::WEBHOOK::DISABLED' | 'ERR::WEBHOOK::NOT_FOUND' | null;
}

export interface FinishJobInput {
  jobId: string;
  status: Extract<JobStatus, 'delivered' | 'done' | 'failed'>;
  errorCode: string | null;
  errorMessage: string | null;
}

export interface WebhookEvent {
  kind: 'warning' | 'disabled' | 'enabled' | 'disabled_manually';
  /** Percent of the threshold for warnings; the threshold for disabled. */
  threshold: number;
  count: number;
  /** Per-webhook sequence number: the notification's dedupe key. */
  seq: number;
}

export interface StoredWebhookState {
  status: 'enabled' | 'disabled';
  disabledReason: string | null;
  consecutiveFailedCount: number;
}

/** Work the webhook entity hands to a child workflow, so its own loop never waits on it. */
export interface WebhookFanoutInput {
  webhookId: string;
  /** replay: deliver every failed job again; stop: wake jobs waiting on the ladder so they end as DISABLED. */
  action: 'replay' | 'stop';
  /** Makes repeats harmless: one child per id, and jobs drop a replay id they have seen. */
  requestId: string;
  /** replay only: jobs created at or after this ISO time. */
  since: string | null;
}

// ---- crawl and batch scrape ----

/** What a page document may carry (Firecrawl's `formats`); markdown by default. */
export const DOCUMENT_FORMATS = ['markdown', 'html', 'rawHtml', 'links'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

/** A crawl's options as stored (crawls.options), whichever API version named them. */
export interface CrawlOptions {
  /** Scope options under the clients' names (src/crawl/scope.ts compiles them). Empty for a batch. */
  scope: import('../../crawl/scope').CrawlScopeOptions;
  formats: DocumentFormat[];
  onlyMainContent: boolean;
  ignoreRobotsTxt: boolean;
  /** v2: 'include' adds sitemap URLs to the frontier, 'only' crawls just those, 'skip' ignores sitemaps. */
  sitemap: 'skip' | 'include' | 'only';
  ignoreQueryParameters: boolean;
  /** The caller's bound on pages fetched at once (never above CRAWL_PAGE_CONCURRENCY). */
  maxConcurrency: number | null;
  robotsUserAgent: string | null;
  /** Request headers sent with every page fetch. */
  headers: Record<string, string>;
  /** One page fetch's limit, at most SCRAPE_TIMEOUT_MS. */
  timeoutMs: number | null;
}

/** An inline (Firecrawl) webhook: no entity, no auto-disable; HTTPS only. */
export interface CrawlWebhook {
  url: string;
  headers: Record<string, string>;
  metadata: Record<string, unknown>;
  events: Array<import('../names').CrawlEventType>;
}

export interface CrawlWorkflowInput {
  crawlId: string;
  kind: import('../names').CrawlKind;
  /** Pages fetched at once by this crawl (the caller's maxConcurrency already applied). */
  pageConcurrency: number;
  /** Pages finished per workflow run before it continues as new, so every history stays small. */
  pagesPerRun: number;
  /** One page fetch's limit (sizes the page activity's timeout). */
  captureTimeoutMs: number;
  /** While a page waits for a capture slot, ask again this often in case a wake-up was lost. */
  slotRecheckMs: number;
  /** Carried across continue-as-new. */
  carried?: { runs: number; cancelled: boolean; seeded: boolean };
}

export interface CrawlPageOutcome {
  /** No capture slot was free: the page waits in line (slotGranted wakes the crawl). */
  queued: boolean;
  /** Seq of the page event stored for it, if the webhook wants page events. */
  eventSeq: number | null;
}

/** Delivery settings shared by every inline event (from configuration). */
export interface EventDeliverySettings {
  retryScheduleMs: number[];
  retryJitter: number;
  deliveryTimeoutMs: number;
}

export interface CrawlEventsWorkflowInput extends EventDeliverySettings {
  crawlId: string;
  /** First attempts of page events in flight at once. */
  concurrency: number;
  /** Events handled per run before continuing as new. */
  eventsPerRun: number;
  /** Carried across continue-as-new: the next seq to send and the highest seq known to exist. */
  nextSeq?: number;
  knownUpTo?: number;
}

export interface EventDeliveryWorkflowInput extends EventDeliverySettings {
  eventId: string;
  /** The attempt that failed before this workflow took over (the first, made by crawlEventsWorkflow). */
  failedAttempt: number;
  retryAfterMs: number | null;
}

export interface EventAttemptInput {
  eventId: string;
  series: number;
  attempt: number;
  willRetry: boolean;
  /** Only the first attempt hands its retries to an eventDeliveryWorkflow. */
  startRetries?: EventDeliverySettings;
}

/** An inline event's attempt: like a named webhook's, without a webhook to stop the series. */
export type EventAttemptOutcome = Omit<DeliveryAttemptOutcome, 'stop'>;
