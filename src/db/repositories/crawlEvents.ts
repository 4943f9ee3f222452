// The crawl's events (crawl_events) and their delivery attempts: what the
// event workflow reads and records. Events are stored in the crawl's own
// transactions (crawls.ts), which hold the crawl row's lock for gapless seqs.
import type { Db, DbClient } from '../pool';
import { onlyRow, withTransaction } from '../pool';
import type { Attempt, Crawl, CrawlEvent, Webhook } from '../rows';

type Q = Db | DbClient;

/** Events from `fromSeq` (inclusive), in order: ids and names only. */
export async function listEvents(
  db: Q,
  crawlId: string,
  fromSeq: number,
  limit: number,
): Promise<Array<{ id: string; seq: number; event: string; first_done: boolean }>> {
  const { rows } = await db.query<{ id: string; seq: number; event: string; first_done: boolean }>(
    'SELECT id, seq, event, first_done FROM crawl_events WHERE crawl_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3',
    [crawlId, fromSeq, limit],
  );
  return rows;
}

export async function maxEventSeq(db: Q, crawlId: string): Promise<number> {
  const { rows } = await db.query<{ seq: number }>('SELECT coalesce(max(seq), -1)::int AS seq FROM crawl_events WHERE crawl_id = $1', [crawlId]);
  return onlyRow(rows).seq;
}

/** One event with what sending it needs: the crawl's webhook, its project, and the same attempt if already recorded. */
export async function loadEventAttemptContext(
  db: Q,
  eventId: string,
  series: number,
  attempt: number,
): Promise<{ event: CrawlEvent; crawl: Crawl; secret: string | null; prior: Attempt | null; now: Date } | null> {
  const { rows } = await db.query<{ event: CrawlEvent; crawl: Crawl; secret: string | null; prior: Attempt | null; now: Date }>(
    `SELECT to_jsonb(e) - 'body' AS event, e.body, to_jsonb(c) AS crawl, s.secret, to_jsonb(a) AS prior, clock_timestamp() AS now
       FROM crawl_events e
       JOIN crawls c ON c.id = e.crawl_id
       LEFT JOIN event_secrets s ON s.project_id = c.project_id AND s.env = c.env
       LEFT JOIN delivery_attempts a ON a.event_id = e.id AND a.series = $2 AND a.attempt = $3
      WHERE e.id = $1`,
    [eventId, series, attempt],
  );
  const r = rows[0] as ((typeof rows)[number] & { body: Buffer }) | undefined;
  if (!r) return null;
  return { event: { ...r.event, body: r.body }, crawl: r.crawl, secret: r.secret, prior: r.prior, now: r.now };
}

/**
 * One attempt row of an event; a retried activity re-records the same
 * attempt. A crawler's event names its webhook (`webhook_id`), so the
 * attempt is in that webhook's delivery log beside its jobs'.
 */
export async function recordEventAttempt(
  db: Q,
  a: Omit<Attempt, 'id' | 'job_id' | 'webhook_id'> & { event_id: string; webhook_id?: string | null },
): Promise<void> {
  await db.query(
    `INSERT INTO delivery_attempts (event_id, series, attempt, started_at, duration_ms, url, final_url, success,
       status_code, error_code, error_message, request_headers, response_headers, response_snippet, webhook_id)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
     ON CONFLICT (event_id, series, attempt) DO UPDATE SET started_at = EXCLUDED.started_at,
       duration_ms = EXCLUDED.duration_ms, final_url = EXCLUDED.final_url, success = EXCLUDED.success,
       status_code = EXCLUDED.status_code, error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message,
       request_headers = EXCLUDED.request_headers, response_headers = EXCLUDED.response_headers,
       response_snippet = EXCLUDED.response_snippet`,
    [
      a.event_id,
      a.series,
      a.attempt,
      a.started_at,
      a.duration_ms,
      a.url,
      a.final_url,
      a.success,
      a.status_code,
      a.error_code,
      a.error_message,
      a.request_headers,
      a.response_headers,
      a.response_snippet,
      a.webhook_id ?? null,
    ],
  );
}

/**
 * After an attempt: the first one marks the event's first attempt finished
 * (ordering waits on it); a success or a spent ladder settles its delivery.
 * When the crawl's terminal event's first attempt finished, the crawl no
 * longer counts against the queue limit.
 */
export async function noteEventAttempt(db: Q, eventId: string, o: { first: boolean; delivery: 'pending' | 'delivered' | 'failed' }): Promise<void> {
  await db.query(
    `WITH e AS (
       UPDATE crawl_events SET first_done = first_done OR $2, delivery_status = $3 WHERE id = $1
       RETURNING crawl_id, event
     )
     UPDATE crawls SET settled = true, updated_at = now()
       FROM e WHERE crawls.id = e.crawl_id AND $2
        AND (e.event LIKE '%.completed' OR e.event LIKE '%.failed' OR e.event IN ('crawler_finished', 'crawler_stopped', 'crawler_cancelled'))`,
    [eventId, o.first, o.delivery],
  );
}

export async function listEventAttempts(db: Q, eventId: string): Promise<Attempt[]> {
  const { rows } = await db.query<Attempt>('SELECT * FROM delivery_attempts WHERE event_id = $1 ORDER BY series, attempt', [eventId]);
  return rows;
}

/**
 * A crawler event's named webhook read at the disable gate (004_disable_gate):
 * under the webhook's shared gate lock, then read in a statement of its own
 * (a snapshot taken after the lock), so a disable being stored waits for this
 * read and every attempt let through started before disabled_at. Null when
 * the webhook is gone.
 */
export async function readWebhookAtGate(db: Db, webhookId: string): Promise<{ webhook: Webhook; projectName: string; gateAt: Date } | null> {
  return withTransaction(db, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock_shared(webhook_gate_key($1))', [webhookId]);
    const { rows } = await c.query<Webhook & { project_name: string; gate_at: Date }>(
      `SELECT w.*, p.name AS project_name, clock_timestamp() AS gate_at
         FROM webhooks w JOIN projects p ON p.id = w.project_id WHERE w.id = $1`,
      [webhookId],
    );
    const r = rows[0];
    if (!r) return null;
    const { project_name, gate_at, ...webhook } = r;
    return { webhook, projectName: project_name, gateAt: gate_at };
  });
}

/** A bulk replay's new attempt series: the event owes a delivery again (its workflow is the writer from here). */
export async function beginEventSeries(db: Q, eventId: string): Promise<void> {
  await db.query(`UPDATE crawl_events SET delivery_status = 'pending' WHERE id = $1`, [eventId]);
}

export type WebhookEventFilter = 'failed' | 'retrying';

/**
 * A page of the crawler events of a webhook, by id: those whose delivery
 * failed (a bulk replay; with the series a new run uses) or those waiting on
 * the ladder (first attempt failed, delivery still owed: a wake after a
 * disable). `since` filters on the event's creation, as a replay's does on jobs'.
 */
export async function listWebhookEvents(
  db: Q,
  webhookId: string,
  filter: WebhookEventFilter,
  opts: { since: string | null; after: string; limit: number },
): Promise<Array<{ id: string; next_series: number }>> {
  const { rows } = await db.query<{ id: string; next_series: number }>(
    `SELECT e.id,
            (SELECT coalesce(max(a.series) + 1, 0) FROM delivery_attempts a WHERE a.event_id = e.id)::int AS next_series
       FROM crawls c
       JOIN crawl_events e ON e.crawl_id = c.id
      WHERE c.webhook_id = $1 AND c.kind = 'crawler'
        AND CASE WHEN $2 = 'failed' THEN e.delivery_status = 'failed'
                 ELSE e.delivery_status = 'pending' AND e.first_done END
        AND ($3::timestamptz IS NULL OR e.created_at >= $3)
        AND e.id > $4::uuid
      ORDER BY e.id LIMIT $5`,
    [webhookId, filter, opts.since, opts.after, opts.limit],
  );
  return rows;
}

/** Crawler events of a webhook whose delivery failed (created since `since`), as a bulk replay picks them. */
export async function countFailedWebhookEvents(db: Q, webhookId: string, since: string | null): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM crawls c JOIN crawl_events e ON e.crawl_id = c.id
      WHERE c.webhook_id = $1 AND c.kind = 'crawler' AND e.delivery_status = 'failed' AND ($2::timestamptz IS NULL OR e.created_at >= $2)`,
    [webhookId, since],
  );
  return onlyRow(rows).n;
}
