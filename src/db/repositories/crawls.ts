import { randomUUID } from 'node:crypto';
import type { Db, DbClient } from '../pool';
import { withTransaction } from '../pool';
import type { Env } from './projects';
import type { CrawlKind, CrawlStatus, CrawlEventType } from '../../shared/names';
import type { CrawlOptions, CrawlWebhook } from '../../shared/contracts/crawl';
import type { Attempt } from './jobs';

type Q = Db | DbClient;

export interface Crawl {
  id: string;
  project_id: string;
  env: Env;
  kind: CrawlKind;
  api_version: 1 | 2;
  url: string | null;
  options: CrawlOptions;
  webhook: CrawlWebhook | null;
  status: CrawlStatus;
  page_limit: number;
  total: number;
  completed: number;
  credits_used: number;
  error: string | null;
  settled: boolean;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  expires_at: Date;
}

/** A page document as the status endpoint and page events carry it (Firecrawl's shape). */
export interface PageDocument {
  markdown?: string;
  html?: string;
  rawHtml?: string;
  links?: string[];
  metadata: {
    title?: string;
    sourceURL: string;
    url: string;
    statusCode: number | null;
    contentType?: string | null;
    error?: string;
    [key: string]: unknown;
  };
}

export interface CrawlPage {
  id: number;
  crawl_id: string;
  url: string;
  canonical: string;
  depth: number;
  status: 'pending' | 'running' | 'done' | 'failed';
}

export interface CrawlEvent {
  id: string;
  crawl_id: string;
  seq: number;
  event: string;
  body: Buffer;
  first_done: boolean;
  delivery_status: 'pending' | 'delivered' | 'failed';
}

/** What a new crawl's row is made from; the rest are defaults and counters. */
export type NewCrawl = Pick<Crawl, 'id' | 'project_id' | 'env' | 'kind' | 'api_version' | 'url' | 'options' | 'webhook' | 'page_limit' | 'expires_at'>;

/** Frontier entry: a URL, its dedupe key and its link depth. */
export interface PageSeed {
  url: string;
  canonical: string;
  depth: number;
}

/** What the plan's queue limit counts: webhook jobs owing a delivery, and crawls not yet settled. */
export async function countPendingWork(db: Q, projectId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM jobs WHERE project_id = $1 AND delivery_status = 'pending')
           + (SELECT count(*) FROM crawls WHERE project_id = $1 AND NOT settled))::int AS n`,
    [projectId],
  );
  return rows[0]!.n;
}

/**
 * Inserts the crawl and its first pages (the start URL, or a batch's URLs) in
 * the caller's transaction. The caller holds the project's lock and has
 * checked the queue limit. total counts the pages inserted.
 */
export async function insertCrawl(c: DbClient, crawl: NewCrawl, seeds: PageSeed[]): Promise<void> {
  await c.query(
    `INSERT INTO crawls (id, project_id, env, kind, api_version, url, options, webhook, page_limit, expires_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
    [crawl.id, crawl.project_id, crawl.env, crawl.kind, crawl.api_version, crawl.url, crawl.options, crawl.webhook, crawl.page_limit, crawl.expires_at],
  );
  await insertPages(c, crawl.id, seeds, crawl.page_limit);
}

/** Adds frontier pages up to the crawl's limit, skipping ones already known; returns how many were new. */
async function insertPages(c: DbClient, crawlId: string, seeds: PageSeed[], room: number): Promise<number> {
  if (seeds.length === 0 || room <= 0) return 0;
  const take = seeds.slice(0, Math.max(0, Math.min(seeds.length, 50_000)));
  // One statement for the whole list; ON CONFLICT is the dedupe, and LIMIT
  // (after dedupe within the list) keeps the crawl within its page limit.
  const { rows } = await c.query<{ n: number }>(
    `WITH input AS (
       SELECT DISTINCT ON (canonical) url, canonical, depth, ord
         FROM unnest($2::text[], $3::text[], $4::int[]) WITH ORDINALITY AS t(url, canonical, depth, ord)
        ORDER BY canonical, ord
     ), fresh AS (
       SELECT i.* FROM input i
        WHERE NOT EXISTS (SELECT 1 FROM crawl_pages p WHERE p.crawl_id = $1 AND p.canonical = i.canonical)
        ORDER BY ord LIMIT $5
     ), ins AS (
       INSERT INTO crawl_pages (crawl_id, url, canonical, depth)
       SELECT $1, url, canonical, depth FROM fresh ORDER BY ord
       ON CONFLICT (crawl_id, canonical) DO NOTHING RETURNING 1
     )
     SELECT count(*)::int AS n FROM ins`,
    [crawlId, take.map((s) => s.url), take.map((s) => s.canonical), take.map((s) => s.depth), room],
  );
  const n = rows[0]!.n;
  if (n > 0) await c.query('UPDATE crawls SET total = total + $2, updated_at = now() WHERE id = $1', [crawlId, n]);
  return n;
}

export async function getCrawl(db: Q, id: string): Promise<Crawl | null> {
  const { rows } = await db.query<Crawl>('SELECT * FROM crawls WHERE id = $1', [id]);
  return rows[0] ?? null;
}

export async function getCrawlInScope(db: Q, id: string, projectId: string, env: Env): Promise<Crawl | null> {
  const { rows } = await db.query<Crawl>('SELECT * FROM crawls WHERE id = $1 AND project_id = $2 AND env = $3', [id, projectId, env]);
  return rows[0] ?? null;
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

/**
 * A crawl whose workflow surely never started ends failed and settled (it
 * no longer counts against the queue), its unfetched pages dropped. False
 * when the row shows a workflow had it after all (a page finished, an event
 * was stored, or it ended): then nothing changes.
 */
export async function failUnstartedCrawl(c: DbClient, id: string, error: string): Promise<boolean> {
  const { rowCount } = await c.query(
    `UPDATE crawls SET status = 'failed', error = $2, settled = true, total = 0, completed_at = now(), updated_at = now()
      WHERE id = $1 AND status = 'scraping' AND completed = 0 AND completed_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM crawl_events WHERE crawl_id = $1)
        AND NOT EXISTS (SELECT 1 FROM crawl_pages WHERE crawl_id = $1 AND status <> 'pending')`,
    [id, error],
  );
  if (!rowCount) return false;
  await c.query('DELETE FROM crawl_pages WHERE crawl_id = $1', [id]);
  return true;
}

/** Marks a running crawl cancelled (the workflow is then signalled); false when it had ended already. */
export async function markCrawlCancelled(db: Q, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE crawls SET status = 'cancelled', error = 'cancelled', updated_at = now() WHERE id = $1 AND status = 'scraping'`,
    [id],
  );
  return (rowCount ?? 0) > 0;
}

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

/** Event payload fields other than the ones every event has (success, type, event, id, webhookId, metadata, timestamp). */
export type EventFields = { success: boolean; data?: unknown; status?: string; total?: number; completed?: number; creditsUsed?: number; error?: string };

/**
 * Stores an event as the exact bytes every attempt will send, in the
 * caller's transaction (which holds the crawl row's lock, so seqs are
 * gapless and ordered). Returns its seq, or null when the webhook's events
 * filter (or no webhook) leaves it out.
 */
export async function appendEvent(
  c: DbClient,
  crawl: Pick<Crawl, 'id' | 'kind' | 'webhook'>,
  type: CrawlEventType,
  fields: EventFields,
  pageId: number | null = null,
): Promise<number | null> {
  if (!crawl.webhook || !crawl.webhook.events.includes(type)) return null;
  const { rows } = await c.query<{ seq: number; now: Date }>(
    'SELECT coalesce(max(seq) + 1, 0)::int AS seq, clock_timestamp() AS now FROM crawl_events WHERE crawl_id = $1',
    [crawl.id],
  );
  const { seq, now } = rows[0]!;
  const id = randomUUID();
  const name = `${crawl.kind}.${type}`;
  const payload = {
    success: fields.success,
    type: name,
    event: name,
    id: crawl.id,
    webhookId: id,
    ...(fields.data !== undefined ? { data: fields.data } : {}),
    metadata: crawl.webhook.metadata,
    ...(fields.status !== undefined ? { status: fields.status } : {}),
    ...(fields.total !== undefined ? { total: fields.total } : {}),
    ...(fields.completed !== undefined ? { completed: fields.completed } : {}),
    ...(fields.creditsUsed !== undefined ? { creditsUsed: fields.creditsUsed } : {}),
    ...(fields.error !== undefined ? { error: fields.error } : {}),
    timestamp: new Date(now).toISOString(),
  };
  await c.query('INSERT INTO crawl_events (id, crawl_id, seq, event, body, page_id) VALUES ($1, $2, $3, $4, $5, $6)', [
    id,
    crawl.id,
    seq,
    name,
    Buffer.from(JSON.stringify(payload)),
    pageId,
  ]);
  return seq;
}

/** Locks the crawl row for a multi-step change and returns it. */
async function lockCrawl(c: DbClient, id: string): Promise<Crawl | null> {
  const { rows } = await c.query<Crawl>('SELECT * FROM crawls WHERE id = $1 FOR UPDATE', [id]);
  return rows[0] ?? null;
}

/** The crawl's first steps, once: the sitemap's pages join the frontier and `started` is stored. */
export async function startCrawlEvents(db: Db, crawlId: string, sitemapSeeds: PageSeed[]): Promise<number | null> {
  return withTransaction(db, async (c) => {
    const crawl = await lockCrawl(c, crawlId);
    if (!crawl) return null;
    const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM crawl_events WHERE crawl_id = $1 AND event LIKE '%.started'`, [crawlId]);
    if (rows[0]!.n > 0) return null;
    if (sitemapSeeds.length) await insertPages(c, crawlId, sitemapSeeds, crawl.page_limit - crawl.total);
    return appendEvent(c, crawl, 'started', { success: true });
  });
}

export interface FinishedPage {
  crawlId: string;
  pageId: number;
  ok: boolean;
  statusCode: number | null;
  document: PageDocument;
  error: string | null;
  /** In-scope links found on it, already robots-checked: they join the frontier. */
  links: PageSeed[];
}

/**
 * A page is done: its document stored, its links added to the frontier
 * within the limit, the counters moved and its page event stored, in one
 * transaction. A retried call (the worker died after the commit) changes
 * nothing and answers as the first did.
 */
export async function finishPage(db: Db, p: FinishedPage): Promise<{ eventSeq: number | null }> {
  return withTransaction(db, async (c) => {
    const crawl = await lockCrawl(c, p.crawlId);
    if (!crawl) return { eventSeq: null };
    const done = await c.query(
      `UPDATE crawl_pages SET status = $3, status_code = $4, document = $5, error = $6,
              done_seq = nextval('crawl_pages_done_seq'), done_at = now()
        WHERE id = $2 AND crawl_id = $1 AND done_seq IS NULL`,
      [p.crawlId, p.pageId, p.ok ? 'done' : 'failed', p.statusCode, p.document, p.error],
    );
    if (done.rowCount === 0) {
      const { rows } = await c.query<{ seq: number }>('SELECT seq FROM crawl_events WHERE crawl_id = $1 AND page_id = $2', [p.crawlId, p.pageId]);
      return { eventSeq: rows[0]?.seq ?? null };
    }
    // A cancelled crawl stores what was in flight but grows no further.
    if (crawl.status === 'scraping') await insertPages(c, p.crawlId, p.links, crawl.page_limit - crawl.total);
    await c.query('UPDATE crawls SET completed = completed + 1, credits_used = credits_used + $2, updated_at = now() WHERE id = $1', [
      p.crawlId,
      p.ok ? 1 : 0,
    ]);
    const eventSeq = await appendEvent(c, crawl, 'page', { success: p.ok, data: p.document, ...(p.ok ? {} : { error: p.error ?? 'failed' }) }, p.pageId);
    return { eventSeq };
  });
}

/**
 * The crawl ended: its status (a cancel already stored stays), counters
 * settled and the terminal event stored. Frontier pages never fetched are
 * dropped. Returns the terminal event's seq (null: filtered out or no
 * webhook, and then the crawl no longer counts against the queue).
 */
export async function finishCrawl(db: Db, crawlId: string, outcome: { status: 'completed' | 'failed'; error: string | null }): Promise<{ eventSeq: number | null; status: CrawlStatus }> {
  return withTransaction(db, async (c) => {
    const crawl = await lockCrawl(c, crawlId);
    if (!crawl) return { eventSeq: null, status: 'failed' as CrawlStatus };
    const { rows: ended } = await c.query<{ seq: number }>(
      `SELECT seq FROM crawl_events WHERE crawl_id = $1 AND (event LIKE '%.completed' OR event LIKE '%.failed')`,
      [crawlId],
    );
    if (crawl.completed_at) return { eventSeq: ended[0]?.seq ?? null, status: crawl.status };
    const status: CrawlStatus = crawl.status === 'cancelled' ? 'cancelled' : outcome.status;
    const error = status === 'cancelled' ? 'cancelled' : outcome.error;
    // Pages never fetched leave the count: total is what the crawl scraped or tried.
    const { rowCount: dropped } = await c.query(`DELETE FROM crawl_pages WHERE crawl_id = $1 AND done_seq IS NULL`, [crawlId]);
    await c.query(
      `UPDATE crawls SET status = $2, error = $3, total = total - $4, completed_at = now(), updated_at = now() WHERE id = $1`,
      [crawlId, status, error, dropped ?? 0],
    );
    const after = { ...crawl, total: crawl.total - (dropped ?? 0) };
    const eventSeq =
      status === 'completed'
        ? await appendEvent(c, crawl, 'completed', { success: true, status, total: after.total, completed: crawl.completed, creditsUsed: crawl.credits_used })
        : await appendEvent(c, crawl, 'failed', { success: false, status, error: error ?? 'failed', total: after.total, completed: crawl.completed, creditsUsed: crawl.credits_used });
    if (eventSeq === null) await c.query('UPDATE crawls SET settled = true WHERE id = $1', [crawlId]);
    return { eventSeq, status };
  });
}

/** Events from `fromSeq` (inclusive), in order: ids and names only. */
export async function listEvents(db: Q, crawlId: string, fromSeq: number, limit: number): Promise<Array<{ id: string; seq: number; event: string; first_done: boolean }>> {
  const { rows } = await db.query<{ id: string; seq: number; event: string; first_done: boolean }>(
    'SELECT id, seq, event, first_done FROM crawl_events WHERE crawl_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3',
    [crawlId, fromSeq, limit],
  );
  return rows;
}

export async function maxEventSeq(db: Q, crawlId: string): Promise<number> {
  const { rows } = await db.query<{ seq: number }>('SELECT coalesce(max(seq), -1)::int AS seq FROM crawl_events WHERE crawl_id = $1', [crawlId]);
  return rows[0]!.seq;
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

/** One attempt row of an event; a retried activity re-records the same attempt. */
export async function recordEventAttempt(db: Q, a: Omit<Attempt, 'id' | 'job_id' | 'webhook_id'> & { event_id: string }): Promise<void> {
  await db.query(
    `INSERT INTO delivery_attempts (event_id, series, attempt, started_at, duration_ms, url, final_url, success,
       status_code, error_code, error_message, request_headers, response_headers, response_snippet)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
     ON CONFLICT (event_id, series, attempt) DO UPDATE SET started_at = EXCLUDED.started_at,
       duration_ms = EXCLUDED.duration_ms, final_url = EXCLUDED.final_url, success = EXCLUDED.success,
       status_code = EXCLUDED.status_code, error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message,
       request_headers = EXCLUDED.request_headers, response_headers = EXCLUDED.response_headers,
       response_snippet = EXCLUDED.response_snippet`,
    [
      a.event_id, a.series, a.attempt, a.started_at, a.duration_ms, a.url, a.final_url, a.success,
      a.status_code, a.error_code, a.error_message, a.request_headers, a.response_headers, a.response_snippet,
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
       FROM e WHERE crawls.id = e.crawl_id AND $2 AND (e.event LIKE '%.completed' OR e.event LIKE '%.failed')`,
    [eventId, o.first, o.delivery],
  );
}

export async function listEventAttempts(db: Q, eventId: string): Promise<Attempt[]> {
  const { rows } = await db.query<Attempt>('SELECT * FROM delivery_attempts WHERE event_id = $1 ORDER BY series, attempt', [eventId]);
  return rows;
}

/** The error of the crawl's first finished page (why a crawl with no success failed). */
export async function firstPageError(db: Q, crawlId: string): Promise<string | null> {
  const { rows } = await db.query<{ error: string | null }>(
    'SELECT error FROM crawl_pages WHERE crawl_id = $1 AND done_seq IS NOT NULL ORDER BY done_seq LIMIT 1',
    [crawlId],
  );
  return rows[0]?.error ?? null;
}

/**
 * A cancelled crawl whose workflow is gone (its start was never confirmed,
 * or it failed): ended here, unfetched pages dropped, no longer counted by
 * the queue limit. False when it had ended already.
 */
export async function endAbandonedCrawl(db: Db, id: string): Promise<boolean> {
  return withTransaction(db, async (c) => {
    const crawl = await lockCrawl(c, id);
    if (!crawl || crawl.completed_at) return false;
    const { rowCount: dropped } = await c.query('DELETE FROM crawl_pages WHERE crawl_id = $1 AND done_seq IS NULL', [id]);
    await c.query(
      `UPDATE crawls SET total = total - $2, settled = true, completed_at = now(), updated_at = now() WHERE id = $1`,
      [id, dropped ?? 0],
    );
    return true;
  });
}
