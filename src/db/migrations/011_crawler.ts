// Scrapfly's Crawler API on the crawl engine (SPEC section 13). A crawler is
// a crawls row of kind 'crawler' (api_version 0: no Firecrawl version) whose
// events go to a named webhook (webhook_id, kept by name too so the status
// can say which one a deleted webhook was) instead of an inline URL.
//
// Scrapfly reports URLs it did not crawl, with a reason: such a URL is a
// crawl_pages row with status 'skipped' (error = the reason), so the unique
// (crawl, canonical) index dedupes skips like everything else, and `skipped`
// counts them on the crawl row.
//
// crawl_page_captures keeps, for crawler pages, the exchange as fetched (the
// request and response headers and the body bytes after content decoding):
// the WARC and HAR artifacts are built from it, a page at a time.
export const sql = `
ALTER TABLE crawls DROP CONSTRAINT crawls_kind_check;
ALTER TABLE crawls ADD CONSTRAINT crawls_kind_check CHECK (kind IN ('crawl','batch_scrape','crawler'));
ALTER TABLE crawls DROP CONSTRAINT crawls_api_version_check;
ALTER TABLE crawls ADD CONSTRAINT crawls_api_version_check CHECK (api_version IN (1, 2) OR (kind = 'crawler' AND api_version = 0));
ALTER TABLE crawls ADD COLUMN webhook_id uuid REFERENCES webhooks(id) ON DELETE SET NULL;
ALTER TABLE crawls ADD COLUMN webhook_name text;
ALTER TABLE crawls ADD COLUMN skipped integer NOT NULL DEFAULT 0;
ALTER TABLE crawls ADD COLUMN stop_reason text;
ALTER TABLE crawls ADD COLUMN started_at timestamptz;
CREATE INDEX crawls_webhook ON crawls (webhook_id) WHERE webhook_id IS NOT NULL;

ALTER TABLE crawl_pages DROP CONSTRAINT crawl_pages_status_check;
ALTER TABLE crawl_pages ADD CONSTRAINT crawl_pages_status_check CHECK (status IN ('pending','running','done','failed','skipped'));
CREATE INDEX crawl_pages_skipped ON crawl_pages (crawl_id, id) WHERE status = 'skipped';

CREATE TABLE crawl_page_captures (
  page_id          bigint PRIMARY KEY REFERENCES crawl_pages(id) ON DELETE CASCADE,
  crawl_id         uuid NOT NULL REFERENCES crawls(id) ON DELETE CASCADE,
  fetched_at       timestamptz NOT NULL,
  duration_ms      integer NOT NULL,
  url              text NOT NULL,
  final_url        text NOT NULL,
  request_headers  jsonb NOT NULL,
  status_code      integer NOT NULL,
  status_text      text NOT NULL DEFAULT '',
  response_headers jsonb NOT NULL,
  body             bytea NOT NULL
);
CREATE INDEX crawl_page_captures_crawl ON crawl_page_captures (crawl_id, page_id);
`;
