import type { ErrorBody } from '../../../errors';

/**
 * Paths of Scrapfly's Crawler API: POST /crawl and /crawl/<uuid>/…, not
 * /crawl/schedules (Scrapfly's schedules speak another error dialect).
 */
export const CRAWLER_PATH = /^\/crawl(?:$|\/(?!schedules(?:\/|$)))/;

/**
 * The error body on crawler paths. The Scrapfly SDK raises its
 * ScrapflyCrawlerError only for codes holding `::CRAWLER::`, so a request
 * the validator refused leaves as ERR::CRAWLER::CONFIG_ERROR (same status,
 * same message naming the field). An unknown webhook_name is part of the
 * crawler's configuration too: 400, as Scrapfly's catalogue gives it, where
 * /scrape answers 404 for the same code.
 */
export function crawlerErrorBody(body: ErrorBody): ErrorBody {
  if (body.code === 'ERR::VALIDATION::INVALID_PARAMETER') return { ...body, code: 'ERR::CRAWLER::CONFIG_ERROR' };
  if (body.code === 'ERR::WEBHOOK::NOT_FOUND') return { ...body, http_code: 400 };
  return body;
}
