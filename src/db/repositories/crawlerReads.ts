// What Scrapfly's Crawler API reads back from a crawler's frontier
// (crawl_pages): its URLs by status, and the content of visited pages, by
// page or by URL. Read-only; the crawl's own transactions (crawls.ts) write
// these rows.
import type { Db, DbClient } from '../pool';

type Q = Db | DbClient;

/** Scrapfly's URL statuses: fetched fine, accepted and not fetched yet, fetched and failed, not crawled. */
export type CrawlerUrlStatus = 'visited' | 'pending' | 'failed' | 'skipped';

export interface CrawlerUrl {
  url: string;
  /** failed: the error code; skipped: Scrapfly's reason (page_limit, robots_txt, …); else null. */
  reason: string | null;
}

// Each status in the order its pages settle: finished pages by when they
// finished (done_seq, so a page of them stays put as more finish), the
// others by when they were found. The partial indexes of migrations 007
// and 011 serve the done, pending and skipped lists.
const URL_QUERIES: Record<CrawlerUrlStatus, string> = {
  visited: `SELECT url, NULL AS error, NULL::int AS status_code, NULL AS code FROM crawl_pages
             WHERE crawl_id = $1 AND done_seq IS NOT NULL AND status = 'done' ORDER BY done_seq OFFSET $2 LIMIT $3`,
  failed: `SELECT url, error, status_code, document->'metadata'->>'errorCode' AS code FROM crawl_pages
            WHERE crawl_id = $1 AND done_seq IS NOT NULL AND status = 'failed' ORDER BY done_seq OFFSET $2 LIMIT $3`,
  // A page in flight has not been fetched yet either.
  pending: `SELECT url, NULL AS error, NULL::int AS status_code, NULL AS code FROM crawl_pages
             WHERE crawl_id = $1 AND status IN ('pending', 'running') ORDER BY id OFFSET $2 LIMIT $3`,
  skipped: `SELECT url, error, NULL::int AS status_code, NULL AS code FROM crawl_pages
             WHERE crawl_id = $1 AND status = 'skipped' ORDER BY id OFFSET $2 LIMIT $3`,
};

/** One page (offset/limit) of the crawler's URLs with a status. */
export async function listCrawlerUrls(db: Q, crawlId: string, status: CrawlerUrlStatus, offset: number, limit: number): Promise<CrawlerUrl[]> {
  const { rows } = await db.query<{ url: string; error: string | null; status_code: number | null; code: string | null }>(URL_QUERIES[status], [
    crawlId,
    offset,
    limit,
  ]);
  return rows.map((r) => ({
    url: r.url,
    reason: status === 'failed' ? failureCode(r) : status === 'skipped' ? (r.error ?? 'unknown') : null,
  }));
}

const CODE = /^ERR::[A-Z0-9_]+::[A-Z0-9_]+/;

/**
 * A failed page's reason as an `ERR::` code: the one the engine kept with
 * the document, else one the stored error starts with, else what the answer
 * says (a 4xx/5xx page is a bad upstream response; nothing received, a
 * failed page).
 */
function failureCode(r: { error: string | null; status_code: number | null; code: string | null }): string {
  if (r.code && CODE.test(r.code)) return r.code;
  const lead = r.error ? CODE.exec(r.error) : null;
  if (lead) return lead[0];
  return r.status_code !== null && r.status_code >= 400 ? 'ERR::SCRAPE::BAD_UPSTREAM_RESPONSE' : 'ERR::CRAWLER::PAGE_FAILED';
}

export interface CrawlerContent {
  url: string;
  canonical: string;
  /** One entry a format asked for, in that order: the content, or null when the page has none for it. */
  content: Array<string | null>;
}

// The content of each format asked for, as text whatever the engine stored
// it as (a JSON value comes back serialized), in the order asked.
const CONTENT_COLUMNS = `url, canonical,
  ARRAY(SELECT document->'content'->>f FROM unnest($2::text[]) WITH ORDINALITY AS t(f, i) ORDER BY i) AS content`;

/** Visited pages in the order they finished, offset/limit: what GET /crawl/:uuid/contents lists. */
export async function listCrawlerContents(db: Q, crawlId: string, formats: string[], offset: number, limit: number): Promise<CrawlerContent[]> {
  const { rows } = await db.query<CrawlerContent>(
    `SELECT ${CONTENT_COLUMNS} FROM crawl_pages
      WHERE crawl_id = $1 AND done_seq IS NOT NULL AND status = 'done' ORDER BY done_seq OFFSET $3 LIMIT $4`,
    [crawlId, formats, offset, limit],
  );
  return rows;
}

/**
 * Visited pages by URL: those whose canonical form is among `canonicals`
 * (canonicalUrl of each URL asked for), on the (crawl_id, canonical) index,
 * then, for URLs that found nothing that way, those stored exactly as
 * asked. The engine stores URLs normalized, so the second look finds
 * something only for a row written otherwise; it reads the crawl's rows
 * without an index, and only on a miss.
 */
export async function findCrawlerContents(
  db: Q,
  crawlId: string,
  asked: Array<{ url: string; canonical: string | null }>,
  formats: string[],
): Promise<CrawlerContent[]> {
  const canonicals = [...new Set(asked.flatMap((a) => (a.canonical === null ? [] : [a.canonical])))];
  const { rows } = canonicals.length
    ? await db.query<CrawlerContent>(
        `SELECT ${CONTENT_COLUMNS} FROM crawl_pages WHERE crawl_id = $1 AND canonical = ANY($3::text[]) AND status = 'done'`,
        [crawlId, formats, canonicals],
      )
    : { rows: [] as CrawlerContent[] };
  const found = new Set(rows.flatMap((r) => [r.url, r.canonical]));
  const missed = [...new Set(asked.filter((a) => !found.has(a.url) && (a.canonical === null || !found.has(a.canonical))).map((a) => a.url))];
  if (missed.length === 0) return rows;
  const { rows: exact } = await db.query<CrawlerContent>(
    `SELECT ${CONTENT_COLUMNS} FROM crawl_pages WHERE crawl_id = $1 AND url = ANY($3::text[]) AND status = 'done'`,
    [crawlId, formats, missed],
  );
  return [...rows, ...exact];
}
