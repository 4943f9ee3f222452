// Crawl and batch-scrape workflow contracts (crawl, its events, an event's
// retries). Small values only: pages and documents stay in PostgreSQL.
import type { CrawlEventType, CrawlKind, CrawlerEvent } from '../names';
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
  /**
   * How includePaths / excludePaths read: Firecrawl's regular expressions
   * searched in the path (absent), or Scrapfly's `*` wildcards matched against
   * the whole path ('wildcard').
   */
  pathSyntax?: 'regex' | 'wildcard' | null;
  /** Scrapfly's allowed_internal_subdomains (`*` wildcards): empty or absent admits every subdomain. */
  allowedSubdomains?: readonly string[] | null;
  /** Scrapfly's allowed_external_domains (`*` wildcards): empty or absent admits every external host. */
  allowedExternalDomains?: readonly string[] | null;
}

/** What a page document may carry (Firecrawl's `formats`); markdown by default. */
export const DOCUMENT_FORMATS = ['markdown', 'html', 'rawHtml', 'links'] as const;
export type DocumentFormat = (typeof DOCUMENT_FORMATS)[number];

/** Scrapfly's crawler content formats (extracted_data is refused: there is no extraction here). */
export const CRAWLER_FORMATS = ['html', 'clean_html', 'markdown', 'text', 'json', 'page_metadata'] as const;
export type CrawlerFormat = (typeof CRAWLER_FORMATS)[number];

/**
 * What only a Scrapfly crawler has (crawls.options.crawler). Scope options
 * are read into CrawlOptions.scope under the Firecrawl names, so one scope
 * compiler serves both dialects.
 */
export interface CrawlerOptions {
  /** content_formats: what each page's content holds. */
  formats: CrawlerFormat[];
  /** webhook_events: which events go to the named webhook (empty when there is none). */
  events: CrawlerEvent[];
  /** False for a url_list crawl: the listed URLs only, no link is followed. */
  discover: boolean;
  /** max_duration: no page is claimed after it; the crawl then ends with stop_reason max_duration. */
  maxDurationMs: number;
  /** delay: wait between this crawl's fetches (the crawl then fetches one page at a time). */
  delayMs: number;
  /** rendering_delay: 0 fetches over HTTP; more renders in Chromium and waits that long after load. */
  renderingDelayMs: number;
  /** ignore_no_follow: follow rel=nofollow links too. */
  ignoreNoFollow: boolean;
  /** The first URL (the seed, or the first of a url_list): seed_url in events. */
  seedUrl: string;
  /** Fixed when the crawler is created, so every event body is built from the row alone. */
  projectName: string;
  /** Where Hookshot's API is reached (PUBLIC_URL, or the host the crawler was created at): events link to it. */
  apiBase: string;
}

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
  /** The User-Agent of page fetches (DEFAULT_USER_AGENT when absent). */
  userAgent?: string | null;
  /** Scrapfly's crawler (kind 'crawler') only. */
  crawler?: CrawlerOptions;
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
  /**
   * Scrapfly crawler only (absent: the Firecrawl behaviour, and the commands
   * older histories recorded). No page is claimed once this long has passed
   * since the first run began (workflow time); the crawl then ends with
   * stop_reason max_duration.
   */
  maxDurationMs?: number;
  /** Scrapfly crawler only: wait this long between fetches (pageConcurrency is then 1). */
  delayMs?: number;
  /** Scrapfly crawler only: a cancel also cancels the pages in flight (absent: they finish, as older histories recorded). */
  stopInFlight?: boolean;
  /** Carried across continue-as-new. */
  carried?: { runs: number; cancelled: boolean; seeded: boolean; startedAtMs?: number; timedOut?: boolean };
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
  /**
   * The attempt that failed before this workflow took over (the first, made
   * by crawlEventsWorkflow); 0 when none was made: this workflow makes
   * attempt 1 itself (a bulk replay's new series).
   */
  failedAttempt: number;
  retryAfterMs: number | null;
  /**
   * The attempt series (absent: 0, the event's first). Set by a bulk replay:
   * the workflow then marks the event's delivery pending again before its
   * first attempt. Histories recorded before it lack the field and replay as
   * they ran.
   */
  series?: number;
}

export interface EventAttemptInput {
  eventId: string;
  series: number;
  attempt: number;
  willRetry: boolean;
  /** Only the first attempt hands its retries to an eventDeliveryWorkflow. */
  startRetries?: EventDeliverySettings;
}

/**
 * An event's attempt. An inline (Firecrawl) webhook has nothing to stop its
 * series; a crawler's named webhook does (disabled or gone), as a job's.
 */
export type EventAttemptOutcome = Omit<DeliveryAttemptOutcome, 'stop'> & { stop?: DeliveryAttemptOutcome['stop'] };
