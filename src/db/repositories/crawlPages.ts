// The crawl's frontier (crawl_pages): claiming pages to fetch, and reading
// what they became. Pages join the frontier and finish in the crawl's own
// transactions (crawls.ts), under the crawl row's lock.
import type { Db, DbClient } from '../pool';
import type { CrawlPage, PageDocument } from '../rows';

type Q = Db | DbClient;

/**
 * Takes up to `max` frontier pages for fetching. Pages marked running that
 * the crawl does not have in flight (`inFlight`) were claimed by an earlier
 * try of this call whose answer was lost: they are taken again.
 */
export async function claimPages(db: Db, crawlId: string, max: number, inFlight: number[]): Promise<number[]> {
  if (max <= 0) return [];
  const { rows } = await db.query<{ id: number }>(
    `UPDATE crawl_pages SET status = 'running'
      WHERE id IN (
        SELECT id FROM crawl_pages
         WHERE crawl_id = $1 AND (status = 'pending' OR (status = 'running' AND NOT (id = ANY($3::bigint[]))))
         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
      RETURNING id`,
    [crawlId, max, inFlight],
  );
  return rows.map((r) => r.id).sort((a, b) => a - b);
}

export async function getPage(db: Q, pageId: number): Promise<CrawlPage | null> {
  const { rows } = await db.query<CrawlPage>('SELECT id, crawl_id, url, canonical, depth, status FROM crawl_pages WHERE id = $1', [pageId]);
  return rows[0] ?? null;
}

/** Puts a claimed page back in the frontier (it waits for a capture slot, or the crawl stopped). */
export async function unclaimPage(db: Q, pageId: number): Promise<void> {
  await db.query(`UPDATE crawl_pages SET status = 'pending' WHERE id = $1 AND status = 'running'`, [pageId]);
}

/** Finished pages' documents in the order they finished (stable while the crawl runs). */
export async function listCrawlDocuments(db: Q, crawlId: string, skip: number, limit: number): Promise<PageDocument[]> {
  const { rows } = await db.query<{ document: PageDocument }>(
    `SELECT document FROM crawl_pages WHERE crawl_id = $1 AND done_seq IS NOT NULL ORDER BY done_seq OFFSET $2 LIMIT $3`,
    [crawlId, skip, limit],
  );
  return rows.map((r) => r.document);
}

/**
 * Serialized size of the next finished documents from `skip` (up to `limit`),
 * so the status endpoint can bound a page by bytes before loading any document.
 */
export async function listCrawlDocumentSizes(db: Q, crawlId: string, skip: number, limit: number): Promise<number[]> {
  const { rows } = await db.query<{ bytes: number }>(
    `SELECT octet_length(document::text)::int AS bytes FROM crawl_pages
      WHERE crawl_id = $1 AND done_seq IS NOT NULL ORDER BY done_seq OFFSET $2 LIMIT $3`,
    [crawlId, skip, limit],
  );
  return rows.map((r) => r.bytes);
}

/** The error of the crawl's first finished page (why a crawl with no success failed). */
export async function firstPageError(db: Q, crawlId: string): Promise<string | null> {
  const { rows } = await db.query<{ error: string | null }>(
    'SELECT error FROM crawl_pages WHERE crawl_id = $1 AND done_seq IS NOT NULL ORDER BY done_seq LIMIT 1',
    [crawlId],
  );
  return rows[0]?.error ?? null;
}

/** Whether a crawler skipped some URL for `reason` (page_limit: the limit cut the crawl short). */
export async function hasSkipped(db: Q, crawlId: string, reason: string): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM crawl_pages WHERE crawl_id = $1 AND status = 'skipped' AND error = $2 LIMIT 1`, [crawlId, reason]);
  return rows.length > 0;
}
