// Crawls and batch scrapes (SPEC section 7). A crawl's frontier and pages
// live here, never in Temporal history: a page row is pending (the frontier),
// running, done or failed; the unique (crawl, canonical URL) index is the
// dedupe. done_seq orders finished pages for the status endpoint's paging, so
// a client paging while the crawl runs never sees a page twice.
//
// Events (the webhook payloads) are stored as their exact body bytes when
// they happen: the id is the payload's webhookId, the bytes are what every
// retry sends and what the signature covers.
//
// delivery_attempts now holds the attempts of both producers: a job's
// (Scrapfly webhook) or an event's (Firecrawl webhook), never both.
export const sql = `
CREATE TABLE crawls (
  id            uuid PRIMARY KEY,
  project_id    uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  env           text NOT NULL CHECK (env IN ('test','live')),
  kind          text NOT NULL CHECK (kind IN ('crawl','batch_scrape')),
  api_version   smallint NOT NULL CHECK (api_version IN (1, 2)),
  url           text,
  options       jsonb NOT NULL,
  webhook       jsonb,
  status        text NOT NULL DEFAULT 'scraping' CHECK (status IN ('scraping','completed','failed','cancelled')),
  page_limit    integer NOT NULL,
  total         integer NOT NULL DEFAULT 0,
  completed     integer NOT NULL DEFAULT 0,
  credits_used  integer NOT NULL DEFAULT 0,
  error         text,
  -- Counted by the plan's queue limit until the crawl ended and its terminal
  -- event (if any) had its first attempt.
  settled       boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  completed_at  timestamptz,
  expires_at    timestamptz NOT NULL
);
CREATE INDEX crawls_project_unsettled ON crawls (project_id) WHERE NOT settled;

CREATE SEQUENCE crawl_pages_done_seq;
CREATE TABLE crawl_pages (
  id            bigserial PRIMARY KEY,
  crawl_id      uuid NOT NULL REFERENCES crawls(id) ON DELETE CASCADE,
  url           text NOT NULL,
  canonical     text NOT NULL,
  depth         integer NOT NULL DEFAULT 0,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','running','done','failed')),
  status_code   integer,
  document      jsonb,
  error         text,
  done_seq      bigint,
  created_at    timestamptz NOT NULL DEFAULT now(),
  done_at       timestamptz,
  UNIQUE (crawl_id, canonical)
);
CREATE INDEX crawl_pages_frontier ON crawl_pages (crawl_id, id) WHERE status = 'pending';
CREATE INDEX crawl_pages_done ON crawl_pages (crawl_id, done_seq) WHERE done_seq IS NOT NULL;

CREATE TABLE crawl_events (
  id            uuid PRIMARY KEY,
  crawl_id      uuid NOT NULL REFERENCES crawls(id) ON DELETE CASCADE,
  seq           integer NOT NULL,
  event         text NOT NULL,
  body          bytea NOT NULL,
  -- The page a page event reports (a retried page finish finds its event).
  page_id       bigint,
  -- The first attempt finished (answered or failed): ordering waits on it.
  first_done    boolean NOT NULL DEFAULT false,
  -- pending while a delivery is owed; delivered or failed (ladder spent).
  delivery_status text NOT NULL DEFAULT 'pending' CHECK (delivery_status IN ('pending','delivered','failed')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (crawl_id, seq)
);

ALTER TABLE delivery_attempts ALTER COLUMN job_id DROP NOT NULL;
ALTER TABLE delivery_attempts ADD COLUMN event_id uuid REFERENCES crawl_events(id) ON DELETE CASCADE;
ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_one_owner CHECK ((job_id IS NULL) <> (event_id IS NULL));
ALTER TABLE delivery_attempts ADD CONSTRAINT delivery_attempts_event_key UNIQUE (event_id, series, attempt);
`;
