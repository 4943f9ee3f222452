// Reads for the dashboard's history, job and crawl pages. Every read is
// scoped by the caller to a project and environment (the session's), and
// every list is a keyset page on an index, so a webhook with a long history
// costs the same on page 1 and page 500.
import type { Db, DbClient } from '../pool';
import { onlyRow } from '../pool';
import type { Attempt, Crawl, Env } from '../rows';

type Q = Db | DbClient;

/** A stored payload's facts; the bytes only where a page shows them as text. */
export interface PayloadView {
  content_type: string;
  content_encoding: string;
  size_bytes: number;
  stored_bytes: number;
  truncated: boolean;
  /** null for images (they load through their own route) and when not stored. */
  body: Buffer | null;
}

export type AttemptView = Omit<Attempt, 'job_id'> & { job_id: string | null; payload: PayloadView | null };

const ATTEMPT_COLUMNS = `a.id, a.job_id, a.webhook_id, a.series, a.attempt, a.started_at, a.duration_ms, a.url, a.final_url,
  a.success, a.status_code, a.error_code, a.error_message, a.request_headers, a.response_headers, a.response_snippet,
  p.content_type AS p_content_type, p.content_encoding AS p_content_encoding, p.size_bytes AS p_size_bytes,
  octet_length(p.body) AS p_stored_bytes, p.truncated AS p_truncated,
  CASE WHEN p.content_type LIKE 'image/%' THEN NULL ELSE p.body END AS p_body`;

type AttemptRow = Omit<AttemptView, 'payload'> & {
  p_content_type: string | null;
  p_content_encoding: string;
  p_size_bytes: number;
  p_stored_bytes: number;
  p_truncated: boolean;
  p_body: Buffer | null;
};

const toView = ({ p_content_type, p_content_encoding, p_size_bytes, p_stored_bytes, p_truncated, p_body, ...a }: AttemptRow): AttemptView => ({
  ...a,
  payload:
    p_content_type === null
      ? null
      : {
          content_type: p_content_type,
          content_encoding: p_content_encoding,
          size_bytes: p_size_bytes,
          stored_bytes: p_stored_bytes,
          truncated: p_truncated,
          body: p_body,
        },
});

/**
 * One page of a webhook's attempts, newest first. `before`: older than that
 * id; `after`: newer than that id (the page just newer than the one shown).
 * Returns up to `limit` rows and whether more exist past the page's far end.
 */
export async function pageWebhookAttempts(
  db: Q,
  webhookId: string,
  o: { before?: number | null; after?: number | null; limit: number },
): Promise<{ rows: AttemptView[]; more: boolean }> {
  const newer = o.after != null;
  const { rows } = await db.query<AttemptRow>(
    `SELECT ${ATTEMPT_COLUMNS}
       FROM (SELECT * FROM delivery_attempts
              WHERE webhook_id = $1
                AND ($2::bigint IS NULL OR id < $2)
                AND ($3::bigint IS NULL OR id > $3)
              ORDER BY ${newer ? 'id ASC' : 'id DESC'} LIMIT $4) a
       LEFT JOIN attempt_payloads p ON p.attempt_id = a.id
      ORDER BY a.id DESC`,
    [webhookId, o.before ?? null, o.after ?? null, o.limit + 1],
  );
  // The extra row says whether the far end has more; it is the oldest (newer
  // pages were read upwards, so their extra row is the newest).
  const more = rows.length > o.limit;
  const page = more ? (newer ? rows.slice(1) : rows.slice(0, o.limit)) : rows;
  return { rows: page.map(toView), more };
}

/** Whether the webhook has attempts with ids above / below these. */
export async function attemptNeighbours(db: Q, webhookId: string, newestId: number, oldestId: number): Promise<{ newer: boolean; older: boolean }> {
  const { rows } = await db.query<{ newer: boolean; older: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM delivery_attempts WHERE webhook_id = $1 AND id > $2) AS newer,
            EXISTS (SELECT 1 FROM delivery_attempts WHERE webhook_id = $1 AND id < $3) AS older`,
    [webhookId, newestId, oldestId],
  );
  return onlyRow(rows);
}

/** Every attempt of a job, newest first (a job has at most a few series of the ladder). */
export async function jobAttemptViews(db: Q, jobId: string): Promise<AttemptView[]> {
  const { rows } = await db.query<AttemptRow>(
    `SELECT ${ATTEMPT_COLUMNS} FROM delivery_attempts a LEFT JOIN attempt_payloads p ON p.attempt_id = a.id
      WHERE a.job_id = $1 ORDER BY a.id DESC`,
    [jobId],
  );
  return rows.map(toView);
}

/** The stored payload of a job's attempt, if that job is in the scope. */
export async function attemptPayloadInScope(
  db: Q,
  attemptId: number,
  projectId: string,
  env: Env,
): Promise<{ content_type: string; content_encoding: string; body: Buffer; truncated: boolean } | null> {
  const { rows } = await db.query<{ content_type: string; content_encoding: string; body: Buffer; truncated: boolean }>(
    `SELECT p.content_type, p.content_encoding, p.body, p.truncated
       FROM attempt_payloads p
       JOIN delivery_attempts a ON a.id = p.attempt_id
       JOIN jobs j ON j.id = a.job_id
      WHERE p.attempt_id = $1 AND j.project_id = $2 AND j.env = $3`,
    [attemptId, projectId, env],
  );
  return rows[0] ?? null;
}

export type CrawlSummary = Pick<
  Crawl,
  | 'id'
  | 'kind'
  | 'api_version'
  | 'url'
  | 'status'
  | 'page_limit'
  | 'total'
  | 'completed'
  | 'credits_used'
  | 'error'
  | 'created_at'
  | 'completed_at'
  | 'stop_reason'
  | 'started_at'
>;

/** A project's crawls and batches, newest first; `before` is the last id of the previous page. */
export async function pageCrawls(
  db: Q,
  projectId: string,
  env: Env,
  o: { before?: string | null; limit: number },
): Promise<{ rows: CrawlSummary[]; more: boolean }> {
  const { rows } = await db.query<CrawlSummary>(
    `SELECT id, kind, api_version, url, status, page_limit, total, completed, credits_used, error, created_at, completed_at,
            stop_reason, started_at
       FROM crawls
      WHERE project_id = $1 AND env = $2
        AND ($3::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM crawls WHERE id = $3::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $4`,
    [projectId, env, o.before ?? null, o.limit + 1],
  );
  return { rows: rows.slice(0, o.limit), more: rows.length > o.limit };
}

export interface CrawlPageView {
  id: number;
  url: string;
  depth: number;
  status: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  status_code: number | null;
  error: string | null;
  title: string | null;
  done_at: Date | null;
}

/** A crawl's pages in discovery order; `after` is the last id of the previous page. */
export async function pageCrawlPages(
  db: Q,
  crawlId: string,
  o: { after?: number | null; limit: number },
): Promise<{ rows: CrawlPageView[]; more: boolean }> {
  const { rows } = await db.query<CrawlPageView>(
    `SELECT id, url, depth, status, status_code, coalesce(error, document->'metadata'->>'error') AS error,
            document->'metadata'->>'title' AS title, done_at
       FROM crawl_pages WHERE crawl_id = $1 AND ($2::bigint IS NULL OR id > $2)
      ORDER BY id LIMIT $3`,
    [crawlId, o.after ?? null, o.limit + 1],
  );
  return { rows: rows.slice(0, o.limit), more: rows.length > o.limit };
}

/** Pages by state (a crawl has at most CRAWL_MAX_PAGES pages). */
export async function crawlPageCounts(db: Q, crawlId: string): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM crawl_pages WHERE crawl_id = $1 GROUP BY status',
    [crawlId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export interface CrawlEventView {
  id: string;
  seq: number;
  event: string;
  body: Buffer;
  first_done: boolean;
  delivery_status: 'pending' | 'delivered' | 'failed';
  created_at: Date;
  attempts: AttemptView[];
}

/**
 * A crawl's events by seq with their attempts. An event's payload is its
 * stored body (what every retry sends), so its attempts carry no copy.
 */
export async function pageCrawlEvents(
  db: Q,
  crawlId: string,
  o: { after?: number | null; limit: number },
): Promise<{ rows: CrawlEventView[]; more: boolean }> {
  const { rows } = await db.query<Omit<CrawlEventView, 'attempts'>>(
    `SELECT id, seq, event, body, first_done, delivery_status, created_at
       FROM crawl_events WHERE crawl_id = $1 AND ($2::int IS NULL OR seq > $2)
      ORDER BY seq LIMIT $3`,
    [crawlId, o.after ?? null, o.limit + 1],
  );
  const events = rows.slice(0, o.limit);
  const attempts = events.length
    ? (
        await db.query<AttemptRow & { event_id: string }>(
          `SELECT ${ATTEMPT_COLUMNS}, a.event_id FROM delivery_attempts a LEFT JOIN attempt_payloads p ON p.attempt_id = a.id
            WHERE a.event_id = ANY($1::uuid[]) ORDER BY a.id DESC`,
          [events.map((e) => e.id)],
        )
      ).rows
    : [];
  return {
    rows: events.map((e) => ({ ...e, attempts: attempts.filter((a) => a.event_id === e.id).map(({ event_id: _e, ...a }) => toView(a)) })),
    more: rows.length > o.limit,
  };
}
