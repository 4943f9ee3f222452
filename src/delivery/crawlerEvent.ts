// Scrapfly's crawler webhook events (SPEC section 13): the body of each event
// and the crawler's state as its status and every event report it. Pure:
// the crawl row (after the change the event reports) is all it reads, so
// the body is fixed when the event is stored and every retry sends the same
// bytes.
import type { Crawl } from '../db/rows';
import type { CrawlerEvent } from '../shared/names';

/** Scrapfly's CrawlerState: seven numbers (never null), the stop reason, and start/stop as epoch seconds. */
export interface CrawlerState {
  urls_visited: number;
  urls_extracted: number;
  urls_failed: number;
  urls_skipped: number;
  urls_to_crawl: number;
  api_credit_used: number;
  duration: number;
  stop_reason: string | null;
  start_time: number | null;
  stop_time: number | null;
}

export type CrawlerStatusValue = 'PENDING' | 'RUNNING' | 'DONE' | 'CANCELLED';

type CrawlCounters = Pick<Crawl, 'total' | 'completed' | 'credits_used' | 'skipped' | 'stop_reason' | 'started_at' | 'completed_at'>;

const seconds = (d: Date) => d.getTime() / 1000;

/**
 * The counters in Scrapfly's terms. Hookshot has no credits: a fetched page
 * (visited or failed) costs one. `urls_to_crawl` is every URL accepted into
 * the crawl (fetched, in flight or waiting), so extracted = to_crawl + skipped.
 */
export function crawlerState(crawl: CrawlCounters, now: Date): CrawlerState {
  const start = crawl.started_at;
  const end = crawl.completed_at;
  return {
    urls_visited: crawl.credits_used,
    urls_extracted: crawl.total + crawl.skipped,
    urls_failed: crawl.completed - crawl.credits_used,
    urls_skipped: crawl.skipped,
    urls_to_crawl: crawl.total,
    api_credit_used: crawl.completed,
    duration: start ? Math.max(0, Math.round((seconds(end ?? now) - seconds(start)) * 1000) / 1000) : 0,
    stop_reason: crawl.stop_reason,
    start_time: start ? seconds(start) : null,
    stop_time: end && start ? seconds(end) : null,
  };
}

/** PENDING until the workflow began, RUNNING until it ended, then DONE (or CANCELLED). */
export function crawlerStatus(crawl: Pick<Crawl, 'status' | 'started_at' | 'completed_at'>): {
  status: CrawlerStatusValue;
  is_finished: boolean;
  is_success: boolean | null;
} {
  // A cancel is final for the caller at once: no page is claimed after it, pages in flight only finish.
  if (crawl.status === 'cancelled') return { status: 'CANCELLED', is_finished: true, is_success: false };
  if (crawl.completed_at) return { status: 'DONE', is_finished: true, is_success: crawl.status === 'completed' };
  return { status: crawl.started_at ? 'RUNNING' : 'PENDING', is_finished: false, is_success: null };
}

/** What an event adds to the common payload (crawler_uuid, project, env, action, state). */
export type CrawlerEventFields =
  | { event: 'crawler_started' | 'crawler_stopped' | 'crawler_cancelled' | 'crawler_finished' }
  | { event: 'crawler_url_visited'; url: string; statusCode: number; content: Record<string, string> }
  | { event: 'crawler_url_failed'; url: string; error: string; statusCode: number | null }
  | { event: 'crawler_url_skipped'; urls: Record<string, string> }
  | { event: 'crawler_url_discovered'; origin: 'navigation' | 'sitemap'; urls: string[] };

const ACTIONS: Record<CrawlerEvent, string> = {
  crawler_started: 'started',
  crawler_url_visited: 'visited',
  crawler_url_skipped: 'skipped',
  crawler_url_discovered: 'url_discovery',
  crawler_url_failed: 'failed',
  crawler_stopped: 'stopped',
  crawler_cancelled: 'cancelled',
  crawler_finished: 'finished',
};

type CrawlerRow = CrawlCounters & Pick<Crawl, 'id' | 'env' | 'options'>;

/**
 * `{event, payload}` as Scrapfly sends it: env upper case (LIVE, TEST), no
 * context or webhook block (unlike scrape bodies), `state` a snapshot.
 */
export function crawlerEventBody(crawl: CrawlerRow, fields: CrawlerEventFields, now: Date): Record<string, unknown> {
  const c = crawl.options.crawler;
  const payload: Record<string, unknown> = {
    crawler_uuid: crawl.id,
    project: c?.projectName ?? '',
    env: crawl.env.toUpperCase(),
    action: ACTIONS[fields.event],
    state: crawlerState(crawl, now),
  };
  switch (fields.event) {
    case 'crawler_started':
    case 'crawler_stopped':
    case 'crawler_cancelled':
    case 'crawler_finished':
      payload.seed_url = c?.seedUrl ?? '';
      payload.links = { status: `${c?.apiBase ?? ''}/crawl/${crawl.id}/status` };
      break;
    case 'crawler_url_visited':
      payload.url = fields.url;
      // No country or scrape log here: the SDK's type has them optional, so they are left out rather than null.
      payload.scrape = { status_code: fields.statusCode, content: fields.content };
      break;
    case 'crawler_url_failed':
      payload.url = fields.url;
      payload.error = fields.error;
      payload.scrape_config = {
        method: 'GET',
        url: fields.url,
        render_js: (c?.renderingDelayMs ?? 0) > 0,
        asp: false,
        headers: crawl.options.headers,
        format: 'raw',
        tags: ['crawler'],
        cache: false,
      };
      // No scrape log here; `scrape` is the one-page scrape of the same URL (the caller adds its key).
      payload.links = { log: null, scrape: `${c?.apiBase ?? ''}/scrape?url=${encodeURIComponent(fields.url)}` };
      if (fields.statusCode !== null) payload.status_code = fields.statusCode;
      break;
    case 'crawler_url_skipped':
      payload.urls = fields.urls;
      break;
    case 'crawler_url_discovered':
      payload.origin = fields.origin;
      payload.discovered_urls = fields.urls;
      break;
  }
  return { event: fields.event, payload };
}
