// The bytes each job delivery attempt sent, as the receiver got them (after
// serialization and compression), kept apart from delivery_attempts so that
// (a) the retention sweep deletes payloads and leaves the attempt log whole,
// (b) the attempt row stays small for the queries that never read payloads
// (the disable gate's to_jsonb of the prior attempt, the JSON API), and
// (c) a payload past DELIVERY_PAYLOAD_MAX_BYTES is cut, flagged truncated.
// Event deliveries (crawl webhooks) are not stored here: their exact bytes
// are crawl_events.body, which every retry of the event sends.
//
// The dashboard pages everything by keyset: a webhook's attempts by id (the
// older (webhook_id, created_at) index cannot serve ORDER BY id), a
// project's crawls newest first, a crawl's pages in discovery order (the
// frontier index is partial: pending pages only).
export const sql = `
CREATE TABLE attempt_payloads (
  attempt_id        bigint PRIMARY KEY REFERENCES delivery_attempts(id) ON DELETE CASCADE,
  content_type      text NOT NULL,
  content_encoding  text NOT NULL DEFAULT 'identity',
  body              bytea NOT NULL,
  -- The whole body's length; body holds at most the first DELIVERY_PAYLOAD_MAX_BYTES of it.
  size_bytes        integer NOT NULL,
  truncated         boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attempt_payloads_age ON attempt_payloads (created_at);
CREATE INDEX delivery_attempts_webhook_id ON delivery_attempts (webhook_id, id DESC);
CREATE INDEX crawls_project_recent ON crawls (project_id, env, created_at DESC, id DESC);
CREATE INDEX crawl_pages_order ON crawl_pages (crawl_id, id);
`;
