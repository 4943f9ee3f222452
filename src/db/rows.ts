// The rows the repositories read and write, in one place (001_initial and
// the later migrations define the tables). A repository imports its row
// types from here, never from another repository; the shapes of one query's
// own projection (a dashboard view, a Pick for a list) stay with that query.
import type { CrawlerFormat, CrawlOptions, CrawlWebhook } from '../shared/contracts/crawl';
import type { CrawlKind, CrawlStatus, JobKind, JobStatus } from '../shared/names';

export type Env = 'test' | 'live';

export const PLANS = ['FREE', 'DISCOVERY', 'PRO', 'STARTUP', 'ENTERPRISE'] as const;
export type Plan = (typeof PLANS)[number];

/** projects */
export interface Project {
  id: string;
  name: string;
  plan: Plan;
  alert_url: string | null;
  /** The operator's own limit of simultaneous captures; null: the plan's. */
  concurrency: number | null;
  created_at: Date;
  updated_at: Date;
}

/** jobs */
export interface Job {
  id: string;
  project_id: string;
  env: Env;
  kind: JobKind;
  webhook_id: string | null;
  webhook_name: string | null;
  status: JobStatus;
  delivery_status: 'pending' | 'delivered' | 'failed' | null;
  params: Record<string, unknown>;
  error_code: string | null;
  error_message: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

/** job_results: a job's stored capture. */
export interface JobResult {
  job_id: string;
  status_code: number | null;
  final_url: string | null;
  headers: Record<string, string>;
  format: string;
  content_type: string | null;
  content: string | null;
  body: Buffer | null;
  size_bytes: number;
  duration_ms: number;
  created_at: Date;
}

/** delivery_attempts (a job's; a crawl event's have event_id instead of job_id). */
export interface Attempt {
  id: number;
  job_id: string;
  webhook_id: string | null;
  series: number;
  attempt: number;
  started_at: Date;
  duration_ms: number;
  url: string;
  final_url: string | null;
  success: boolean;
  status_code: number | null;
  error_code: string | null;
  error_message: string | null;
  request_headers: Record<string, string>;
  response_headers: Record<string, string> | null;
  response_snippet: string | null;
}

/** attempt_payloads: the body a job delivery attempt sent, as the receiver got it. */
export interface SentPayload {
  content_type: string;
  content_encoding: string;
  body: Buffer;
}

export const CONTENT_TYPES = ['application/json', 'application/msgpack'] as const;
export const CONTENT_ENCODINGS = ['identity', 'gzip', 'deflate', 'br'] as const;

/** webhooks */
export interface Webhook {
  id: string;
  project_id: string;
  env: Env;
  name: string;
  url: string;
  secret: string | null;
  signing_secret: string;
  content_type: (typeof CONTENT_TYPES)[number];
  content_encoding: (typeof CONTENT_ENCODINGS)[number];
  standard_webhooks: boolean;
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  consecutive_failed_count: number;
  /** When the webhook was last disabled (cleared on enable). */
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** crawls (crawls and batch scrapes alike) */
export interface Crawl {
  id: string;
  project_id: string;
  env: Env;
  kind: CrawlKind;
  /** Firecrawl's API version; 0 for a Scrapfly crawler. */
  api_version: 0 | 1 | 2;
  url: string | null;
  options: CrawlOptions;
  webhook: CrawlWebhook | null;
  status: CrawlStatus;
  page_limit: number;
  total: number;
  completed: number;
  credits_used: number;
  error: string | null;
  settled: boolean;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  expires_at: Date;
  /** A Scrapfly crawler's named webhook (null: none, or deleted since). */
  webhook_id: string | null;
  webhook_name: string | null;
  /** URLs found and not crawled (crawl_pages rows with status 'skipped'). */
  skipped: number;
  /** Why a crawler ended (Scrapfly's stop_reason); null while it runs, and for Firecrawl crawls. */
  stop_reason: string | null;
  /** When its workflow began the crawl (Scrapfly's start_time); null while PENDING. */
  started_at: Date | null;
}

/** crawl_pages.document: a page document as the status endpoint and page events carry it (Firecrawl's shape). */
export interface PageDocument {
  markdown?: string;
  html?: string;
  rawHtml?: string;
  links?: string[];
  metadata: {
    title?: string;
    sourceURL: string;
    url: string;
    statusCode: number | null;
    contentType?: string | null;
    error?: string;
    [key: string]: unknown;
  };
  /** A Scrapfly crawler's page: each of its content_formats, as a string. */
  content?: Partial<Record<CrawlerFormat, string>>;
}

/** crawl_pages, without the document and its outcome. */
export interface CrawlPage {
  id: number;
  crawl_id: string;
  url: string;
  canonical: string;
  depth: number;
  status: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
}

/** crawl_page_captures: a crawler page's exchange as fetched (what WARC and HAR are built from). */
export interface CrawlPageCapture {
  page_id: number;
  crawl_id: string;
  fetched_at: Date;
  duration_ms: number;
  url: string;
  final_url: string;
  request_headers: Record<string, string>;
  status_code: number;
  status_text: string;
  response_headers: Record<string, string>;
  body: Buffer;
}

/** crawl_events: one event, as the exact bytes every attempt sends. */
export interface CrawlEvent {
  id: string;
  crawl_id: string;
  seq: number;
  event: string;
  body: Buffer;
  first_done: boolean;
  delivery_status: 'pending' | 'delivered' | 'failed';
}

/** idempotency_keys: an earlier claim of a key. */
export interface IdempotencyHit {
  request_hash: string;
  job_id: string;
  response: unknown;
}

/** dashboard_sessions, with the project it signs in to. */
export interface DashboardSession {
  project: Project;
  env: Env;
  keyPrefix: string;
  csrfToken: string;
  expiresAt: Date;
  /** The session row's key (a hash; the token itself is only in the cookie). */
  tokenHash: Buffer;
}

/** A notice's kind, by the name SPEC gives it (notifications.kind stores webhook.warning and webhook.disabled). */
export type NoticeKind = 'warning' | 'disabled';

/** notifications, as the API and the dashboard show them. */
export interface Notice {
  id: number;
  kind: NoticeKind;
  /** Null only for a notice of a webhook deleted before names were kept with notices. */
  webhook_name: string | null;
  /** False once the webhook was deleted (its notices stay). */
  webhook_exists: boolean;
  consecutive_failed_count: number | null;
  /** Warnings: the percentage of the disable threshold reached. */
  threshold: number | null;
  message: string;
  created_at: Date;
}
