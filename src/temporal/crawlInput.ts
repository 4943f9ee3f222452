import type { Config } from '../config';
import type { CrawlerOptions, CrawlEventsWorkflowInput, CrawlWorkflowInput, EventDeliverySettings } from '../shared/contracts/crawl';
import type { CrawlKind } from '../shared/names';
import { captureLeaseTtlMs } from './jobInput';

/**
 * The crawl workflow's input from the crawl and the configuration (API and
 * tests start crawls alike). A Scrapfly crawler's max_duration and delay
 * travel in the input, so the workflow needs no read to honour them; a
 * delay means one fetch at a time (the wait is between this crawl's
 * requests, which concurrent fetches would defeat). Firecrawl crawls get
 * neither field, which is how they and older histories keep their behaviour.
 */
export function buildCrawlWorkflowInput(
  config: Pick<Config, 'crawl' | 'scrape'>,
  crawl: { crawlId: string; kind: CrawlKind; maxConcurrency: number | null; crawler?: Pick<CrawlerOptions, 'maxDurationMs' | 'delayMs'> },
): CrawlWorkflowInput {
  const input: CrawlWorkflowInput = {
    crawlId: crawl.crawlId,
    kind: crawl.kind,
    pageConcurrency: Math.max(1, Math.min(crawl.maxConcurrency ?? config.crawl.pageConcurrency, config.crawl.pageConcurrency)),
    pagesPerRun: config.crawl.pagesPerRun,
    captureTimeoutMs: config.scrape.timeoutMs,
    slotRecheckMs: Math.round(captureLeaseTtlMs(config) / 2),
  };
  if (crawl.kind === 'crawler' && crawl.crawler) {
    input.maxDurationMs = crawl.crawler.maxDurationMs;
    input.delayMs = crawl.crawler.delayMs;
    if (crawl.crawler.delayMs > 0) input.pageConcurrency = 1;
  }
  return input;
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
