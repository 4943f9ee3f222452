// The crawls table and the transactions that move a crawl through its life:
// created with its first pages, started, a page finished, ended, abandoned.
// Each takes the crawl row's lock and writes the crawl's pages and events in
// the same transaction, so those writes live here with the crawl rather than
// in crawlPages.ts / crawlEvents.ts (which hold the frontier's claims and
// reads, and the events' delivery).
import { randomUUID } from 'node:crypto';
import type { Db, DbClient } from '../pool';
import { onlyRow } from '../pool';
import { withTransaction } from '../pool';
import type { Crawl, Env, PageDocument } from '../rows';
import type { CrawlStatus, CrawlEventType } from '../../shared/names';

type Q = Db | DbClient;

/** What a new crawl's row is made from; the rest are defaults and counters. */
export type NewCrawl = Pick<
  Crawl,
  'id' | 'project_id' | 'env' | 'kind' | 'api_version' | 'url' | 'options' | 'webhook' | 'page_limit' | 'expires_at'
>;

/** Frontier entry: a URL, its dedupe key and its link depth. */
export interface PageSeed {
  url: string;
  canonical: string;
  depth: number;
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
    [
      crawl.id,
      crawl.project_id,
      crawl.env,
      crawl.kind,
      crawl.api_version,
      crawl.url,
      crawl.options,
      crawl.webhook,
      crawl.page_limit,
      crawl.expires_at,
    ],
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
  const n = onlyRow(rows).n;
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

/** Event payload fields other than the ones every event has (success, type, event, id, webhookId, metadata, timestamp). */
type EventFields = { success: boolean; data?: unknown; status?: string; total?: number; completed?: number; creditsUsed?: number; error?: string };

/**
 * Stores an event as the exact bytes every attempt will send, in the
 * caller's transaction (which holds the crawl row's lock, so seqs are
 * gapless and ordered). Returns its seq, or null when the webhook's events
 * filter (or no webhook) leaves it out.
 */
async function appendEvent(
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
  const { seq, now } = onlyRow(rows);
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
    const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM crawl_events WHERE crawl_id = $1 AND event LIKE '%.started'`, [
      crawlId,
    ]);
    if (onlyRow(rows).n > 0) return null;
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
    const eventSeq = await appendEvent(
      c,
      crawl,
      'page',
      { success: p.ok, data: p.document, ...(p.ok ? {} : { error: p.error ?? 'failed' }) },
      p.pageId,
    );
    return { eventSeq };
  });
}

/**
 * The crawl ended: its status (a cancel already stored stays), counters
 * settled and the terminal event stored. Frontier pages never fetched are
 * dropped. Returns the terminal event's seq (null: filtered out or no
 * webhook, and then the crawl no longer counts against the queue).
 */
export async function finishCrawl(
  db: Db,
  crawlId: string,
  outcome: { status: 'completed' | 'failed'; error: string | null },
): Promise<{ eventSeq: number | null; status: CrawlStatus }> {
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
    await c.query(`UPDATE crawls SET status = $2, error = $3, total = total - $4, completed_at = now(), updated_at = now() WHERE id = $1`, [
      crawlId,
      status,
      error,
      dropped ?? 0,
    ]);
    const after = { ...crawl, total: crawl.total - (dropped ?? 0) };
    const eventSeq =
      status === 'completed'
        ? await appendEvent(c, crawl, 'completed', {
            success: true,
            status,
            total: after.total,
            completed: crawl.completed,
            creditsUsed: crawl.credits_used,
          })
        : await appendEvent(c, crawl, 'failed', {
            success: false,
            status,
            error: error ?? 'failed',
            total: after.total,
            completed: crawl.completed,
            creditsUsed: crawl.credits_used,
          });
    if (eventSeq === null) await c.query('UPDATE crawls SET settled = true WHERE id = $1', [crawlId]);
    return { eventSeq, status };
  });
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
    await c.query(`UPDATE crawls SET total = total - $2, settled = true, completed_at = now(), updated_at = now() WHERE id = $1`, [id, dropped ?? 0]);
    return true;
  });
}
