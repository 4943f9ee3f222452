// A crawler's captures (crawl_page_captures): each fetched page's exchange,
// stored by the page's transaction (crawls.ts finishPage) and read back here,
// a page of rows at a time, to build the WARC and HAR artifacts. Reads are
// keyset on page_id, so a crawl of any size streams in bounded memory.
import type { Db, DbClient } from '../pool';
import type { CrawlPageCapture } from '../rows';

type Q = Db | DbClient;

/** Rows per read, and the body bytes one read may hold (a page is 10 MB at most: 50 of those would be too many). */
export const CAPTURE_READ_ROWS = 50;
export const CAPTURE_READ_BYTES = 8 * 1024 * 1024;

export interface CaptureRead {
  /** Rows per read (CAPTURE_READ_ROWS). */
  rows?: number;
  /** Stop a read once its bodies reach this many bytes; a read always returns at least one row (CAPTURE_READ_BYTES). */
  bytes?: number;
}

/**
 * The crawl's captures after `afterPageId`, in page_id order: up to `rows`
 * rows, and no more rows once the bodies so far reach `bytes`. Empty when
 * there are no more. The byte count comes from octet_length, which reads a
 * stored value's size without loading it, so the bodies left out are never
 * read.
 */
export async function listCrawlCaptures(db: Q, crawlId: string, afterPageId: number, read: CaptureRead = {}): Promise<CrawlPageCapture[]> {
  const { rows } = await db.query<CrawlPageCapture>(
    `SELECT page_id, crawl_id, fetched_at, duration_ms, url, final_url, request_headers, status_code, status_text, response_headers, body
       FROM (SELECT c.*, sum(octet_length(c.body)) OVER (ORDER BY c.page_id) - octet_length(c.body) AS before_bytes
               FROM crawl_page_captures c
              WHERE c.crawl_id = $1 AND c.page_id > $2
              ORDER BY c.page_id
              LIMIT $3) x
      WHERE before_bytes < $4
      ORDER BY page_id`,
    [crawlId, afterPageId, read.rows ?? CAPTURE_READ_ROWS, Math.max(1, read.bytes ?? CAPTURE_READ_BYTES)],
  );
  return rows;
}

/** What the HAR's page list needs of each capture, without its body: page_id order, keyset like listCrawlCaptures. */
export async function listCaptureSummaries(
  db: Q,
  crawlId: string,
  afterPageId: number,
  limit: number,
): Promise<Array<Pick<CrawlPageCapture, 'page_id' | 'final_url' | 'fetched_at'>>> {
  const { rows } = await db.query<Pick<CrawlPageCapture, 'page_id' | 'final_url' | 'fetched_at'>>(
    `SELECT page_id, final_url, fetched_at FROM crawl_page_captures WHERE crawl_id = $1 AND page_id > $2 ORDER BY page_id LIMIT $3`,
    [crawlId, afterPageId, limit],
  );
  return rows;
}

/** Stores one capture as finishPage does (tests and the benchmark write crawls without fetching them). */
export async function insertCapture(db: Q, x: CrawlPageCapture): Promise<void> {
  await db.query(
    `INSERT INTO crawl_page_captures (page_id, crawl_id, fetched_at, duration_ms, url, final_url, request_headers, status_code,
       status_text, response_headers, body)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`,
    [
      x.page_id,
      x.crawl_id,
      x.fetched_at,
      x.duration_ms,
      x.url,
      x.final_url,
      x.request_headers,
      x.status_code,
      x.status_text,
      x.response_headers,
      x.body,
    ],
  );
}
