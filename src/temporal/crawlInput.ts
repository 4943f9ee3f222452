import type { Config } from '../config';
import type { CrawlEventsWorkflowInput, CrawlWorkflowInput, EventDeliverySettings } from '../shared/contracts/crawl';
import type { CrawlKind } from '../shared/names';
import { captureLeaseTtlMs } from './jobInput';

/** The crawl workflow's input from the crawl and the configuration (API and tests start crawls alike). */
export function buildCrawlWorkflowInput(
  config: Pick<Config, 'crawl' | 'scrape'>,
  crawl: { crawlId: string; kind: CrawlKind; maxConcurrency: number | null },
): CrawlWorkflowInput {
  return {
    crawlId: crawl.crawlId,
    kind: crawl.kind,
    pageConcurrency: Math.max(1, Math.min(crawl.maxConcurrency ?? config.crawl.pageConcurrency, config.crawl.pageConcurrency)),
    pagesPerRun: config.crawl.pagesPerRun,
    captureTimeoutMs: config.scrape.timeoutMs,
    slotRecheckMs: Math.round(captureLeaseTtlMs(config) / 2),
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
