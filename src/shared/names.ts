// Names shared by the API, the worker and workflow code. No Node imports:
// workflow code bundles this file.

export const DEFAULT_TASK_QUEUE = 'hookshot-jobs';
/**
 * Webhook entities (and their activities) poll a queue of their own, so a
 * flood of job tasks never delays the count, the disable or its storage.
 */
export const webhookTaskQueue = (jobTaskQueue: string) => `${jobTaskQueue}-webhooks`;

/**
 * The failure type of an activity that met a database outage (not a fault of
 * its own work): a workflow waits such an outage out instead of counting it
 * against a bounded number of attempts.
 */
export const DATABASE_UNAVAILABLE = 'DatabaseUnavailable';

export const jobWorkflowId = (jobUuid: string) => `job:${jobUuid}`;
export const webhookWorkflowId = (webhookUuid: string) => `webhook:${webhookUuid}`;
/** One crawl or batch scrape (crawl:<uuid>), and the workflow that sends its events in order. */
export const crawlWorkflowId = (crawlUuid: string) => `crawl:${crawlUuid}`;
export const crawlEventsWorkflowId = (crawlUuid: string) => `crawl:${crawlUuid}:events`;
/** The retries of one event whose first attempt failed (the first attempt runs in crawlEventsWorkflow). */
export const eventDeliveryWorkflowId = (eventUuid: string) => `event:${eventUuid}`;
/**
 * A crawl page's capture slot holder: the crawl's workflow id plus the page,
 * so one crawl holds several slots; a grant wakes the workflow before '#'.
 */
export const crawlPageHolder = (crawlUuid: string, pageId: number) => `${crawlWorkflowId(crawlUuid)}#${pageId}`;
export const holderWorkflowId = (holder: string): string => holder.split('#', 1)[0] ?? holder;

/** A bulk replay or stop run for one webhook; the request id makes a repeat start nothing new. */
export const webhookFanoutWorkflowId = (webhookUuid: string, action: string, requestId: string) => `webhook:${webhookUuid}:${action}:${requestId}`;

/** Custom search attributes registered on the namespace (all Keyword). */
export const SEARCH_ATTRIBUTES = {
  webhookName: 'WebhookName',
  projectName: 'ProjectName',
  jobStatus: 'JobStatus',
  jobKind: 'JobKind',
} as const;

// `done`: a synchronous job answered its caller; `delivered`/`failed`: a webhook job's end.
export const JOB_STATUSES = ['queued', 'running', 'delivering', 'retrying', 'delivered', 'done', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export type JobKind = 'scrape' | 'screenshot';

/** Firecrawl's crawl and batch scrape, and Scrapfly's Crawler API (one engine, two dialects). */
export type CrawlKind = 'crawl' | 'batch_scrape' | 'crawler';
/** Firecrawl's statuses, the only ones its clients accept. */
export const CRAWL_STATUSES = ['scraping', 'completed', 'failed', 'cancelled'] as const;
export type CrawlStatus = (typeof CRAWL_STATUSES)[number];
export const CRAWL_EVENT_TYPES = ['started', 'page', 'completed', 'failed'] as const;
export type CrawlEventType = (typeof CRAWL_EVENT_TYPES)[number];

/** Scrapfly's crawler webhook events: the only names its SDK's parseCrawlerWebhook accepts. */
export const CRAWLER_EVENTS = [
  'crawler_started',
  'crawler_url_visited',
  'crawler_url_skipped',
  'crawler_url_discovered',
  'crawler_url_failed',
  'crawler_stopped',
  'crawler_cancelled',
  'crawler_finished',
] as const;
export type CrawlerEvent = (typeof CRAWLER_EVENTS)[number];
/** Sent when a crawler names a webhook and lists no events. */
export const CRAWLER_DEFAULT_EVENTS: readonly CrawlerEvent[] = ['crawler_started', 'crawler_stopped', 'crawler_cancelled', 'crawler_finished'];
/** The crawler's terminal events: one ends every crawler, sent last. */
export const CRAWLER_TERMINAL_EVENTS: readonly CrawlerEvent[] = ['crawler_stopped', 'crawler_cancelled', 'crawler_finished'];

/** Scrapfly's crawler stop reasons (status state.stop_reason). */
export const CRAWLER_STOP_REASONS = ['no_more_urls', 'page_limit', 'max_duration', 'seed_url_failed', 'user_cancelled', 'crawler_error'] as const;
export type CrawlerStopReason = (typeof CRAWLER_STOP_REASONS)[number];
