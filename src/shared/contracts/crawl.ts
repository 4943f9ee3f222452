// Crawl and batch-scrape workflow contracts (crawl, its events, an event's
// retries). Small values only: pages and documents stay in PostgreSQL.
import type { CrawlEventType, CrawlKind } from '../names';
import type { DeliveryAttemptOutcome } from './job';

/** Scope options under the Firecrawl clients' names; src/crawl/scope.ts compiles them. */
export interface CrawlScopeOptions {
  includePaths?: readonly string[] | null;
  excludePaths?: readonly string[] | null;
  regexOnFullURL?: boolean | null;
  /** v1: path depth below the start URL. */
  maxDepth?: number | null;
  /** v2 (and the v1 SDK): link hops from the start URL. */
  maxDiscoveryDepth?: number | null;
  /** v1 name of crawlEntireDomain. */
  allowBackwardLinks?: boolean | null;
  crawlEntireDomain?: boolean | null;
  allowSubdomains?: boolean | null;
  allowExternalLinks?: boolean | null;
}

/** What a page document may carry (Firecrawl's `formats`); markdown by default. */
export const DOCUMENT_FORMATS = ['markdown', 'html', 'rawHtml', 'links'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

/** A crawl's options as stored (crawls.options), whichever API version named them. */
export interface CrawlOptions {
  /** Scope options under the clients' names (src/crawl/scope.ts compiles them). Empty for a batch. */
  scope: CrawlScopeOptions;
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
  events: Array<CrawlEventType>;
}

export interface CrawlWorkflowInput {
  crawlId: string;
  kind: CrawlKind;
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
