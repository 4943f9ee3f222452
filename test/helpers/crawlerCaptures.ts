// A finished crawler written straight into PostgreSQL, with its pages and
// their captures, for the artifact tests and the benchmark: what the crawl
// workflow would have stored, without fetching anything.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db/pool';
import { withTransaction } from '../../src/db/pool';
import type { CrawlPageCapture } from '../../src/db/rows';
import { insertCrawl } from '../../src/db/repositories/crawls';
import { insertCapture } from '../../src/db/repositories/crawlCaptures';

export const CRAWLER_SEED = 'https://crawl.example/';

/** A crawler (kind 'crawler', api_version 0) marked completed at `completedAt`. */
export async function insertFinishedCrawler(db: Db, projectId: string, completedAt = new Date('2026-03-04T05:06:07.891Z')): Promise<string> {
  const id = randomUUID();
  await withTransaction(db, (c) =>
    insertCrawl(
      c,
      {
        id,
        project_id: projectId,
        env: 'test',
        kind: 'crawler',
        api_version: 0,
        url: CRAWLER_SEED,
        options: {
          scope: {},
          formats: [],
          onlyMainContent: false,
          ignoreRobotsTxt: false,
          sitemap: 'skip',
          ignoreQueryParameters: false,
          maxConcurrency: null,
          robotsUserAgent: null,
          headers: {},
          timeoutMs: null,
          userAgent: 'HookshotTest/1.0',
          crawler: {
            formats: ['markdown'],
            events: [],
            discover: true,
            maxDurationMs: 60_000,
            delayMs: 0,
            renderingDelayMs: 0,
            ignoreNoFollow: false,
            seedUrl: CRAWLER_SEED,
            projectName: 'default',
            apiBase: 'http://127.0.0.1:9',
          },
        },
        webhook: null,
        page_limit: 100_000,
        expires_at: new Date(Date.now() + 86_400_000),
      },
      [],
    ),
  );
  await db.query(`UPDATE crawls SET status = 'completed', completed_at = $2, started_at = $2, stop_reason = 'no_more_urls' WHERE id = $1`, [
    id,
    completedAt,
  ]);
  return id;
}

export type NewCapture = Omit<CrawlPageCapture, 'page_id' | 'crawl_id'>;

/** A finished page of the crawl and its capture; returns the capture as stored. */
export async function addCapturedPage(db: Db, crawlId: string, x: NewCapture): Promise<CrawlPageCapture> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO crawl_pages (crawl_id, url, canonical, depth, status, status_code, document, done_seq, done_at)
     VALUES ($1, $2, $2, 0, $3, $4, '{"metadata":{}}', nextval('crawl_pages_done_seq'), now()) RETURNING id`,
    [crawlId, x.url, x.status_code < 400 ? 'done' : 'failed', x.status_code],
  );
  const capture = { ...x, page_id: rows[0]!.id, crawl_id: crawlId };
  await insertCapture(db, capture);
  return capture;
}

/**
 * `n` pages with `bodyBytes` of random (incompressible) HTML-ish bytes each,
 * in one statement, for crawls too large to insert a row at a time.
 */
export async function seedCapturedPages(db: Db, crawlId: string, n: number, bodyBytes: number): Promise<void> {
  await db.query(
    `WITH pages AS (
       INSERT INTO crawl_pages (crawl_id, url, canonical, depth, status, status_code, document, done_seq, done_at)
       SELECT $1, u, u, 1, 'done', 200, '{"metadata":{}}', nextval('crawl_pages_done_seq'), now()
         FROM (SELECT $4 || 'p/' || i AS u FROM generate_series(1, $2::int) i) s
       RETURNING id, url)
     INSERT INTO crawl_page_captures (page_id, crawl_id, fetched_at, duration_ms, url, final_url, request_headers, status_code, status_text,
       response_headers, body)
     SELECT id, $1, now(), 12, url, url, '{"user-agent":"HookshotBench/1.0","accept":"text/html"}', 200, 'OK',
            '{"content-type":"text/html; charset=utf-8","content-encoding":"gzip"}',
            (SELECT string_agg(decode(md5(random()::text || id || g), 'hex'), ''::bytea) FROM generate_series(1, ceil($3::int / 16.0)::int) g)
       FROM pages`,
    [crawlId, n, bodyBytes, CRAWLER_SEED],
  );
}
