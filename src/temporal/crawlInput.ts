import type { Config } from '../config';
import type { CrawlEventsWorkflowInput, CrawlerOptions, CrawlWorkflowInput, EventDeliverySettings } from '../shared/contracts/crawl';
import type { CrawlKind } from '../shared/names';
import { captureLeaseTtlMs } from './jobInput';

/**
 * The crawl workflow's input from the crawl and the configuration (API and
 * tests start crawls alike). A Scrapfly crawler adds its time bound and its
 * delay (then one page at a time); a Firecrawl crawl's input has neither, as
 * before they existed.
 */
export function buildCrawlWorkflowInput(
  config: Pick<Config, 'crawl' | 'scrape'>,
  crawl: { crawlId: string; kind: CrawlKind; maxConcurrency: number | null; crawler?: Pick<CrawlerOptions, 'maxDurationMs' | 'delayMs'> | null },
): CrawlWorkflowInput {
  const delayMs = crawl.crawler?.delayMs ?? 0;
  return {
    crawlId: crawl.crawlId,
    kind: crawl.kind,
    pageConcurrency: delayMs > 0 ? 1 : Math.max(1, Math.min(crawl.maxConcurrency ?? config.crawl.pageConcurrency, config.crawl.pageConcurrency)),
    pagesPerRun: config.crawl.pagesPerRun,
    captureTimeoutMs: config.scrape.timeoutMs,
    slotRecheckMs: Math.round(captureLeaseTtlMs(config) / 2),
    ...(crawl.crawler ? { maxDurationMs: crawl.crawler.maxDurationMs } : {}),
    ...(delayMs > 0 ? { delayMs } : {}),
    ...(crawl.crawler ? { stopInFlight: true } : {}),
  };
}

export function eventDeliverySettings(config: Pick<Config, 'webhook'>): EventDeliverySettings {
  return {
    retryScheduleMs: config.webhook.retryScheduleMs,
    retryJitter: config.webhook.retryJitter,
    deliveryTimeoutMs: config.webhook.timeoutMs,
  };
}

export function buildCrawlEventsInput(config: Pick<Config, 'webhook' | 'crawl'>, crawlId: string): CrawlEventsWorkflowInput {
  return { crawlId, ...eventDeliverySettings(config), concurrency: config.crawl.eventConcurrency, eventsPerRun: config.crawl.pagesPerRun };
}
