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
import type { Crawl, CrawlPageCapture, Env, PageDocument } from '../rows';
import type { CrawlStatus, CrawlEventType, CrawlerEvent, CrawlerStopReason } from '../../shared/names';
import { crawlerEventBody, type CrawlerEventFields } from '../../delivery/crawlerEvent';

type Q = Db | DbClient;

/** What a new crawl's row is made from; the rest are defaults and counters. */
export type NewCrawl = Pick<
  Crawl,
  'id' | 'project_id' | 'env' | 'kind' | 'api_version' | 'url' | 'options' | 'webhook' | 'page_limit' | 'expires_at'
> &
  Partial<Pick<Crawl, 'webhook_id' | 'webhook_name'>>;

/** A URL a crawler found and will not crawl, with Scrapfly's reason (page_limit, robots_txt, external_domain…). */
export interface SkippedUrl {
  url: string;
  canonical: string;
  reason: string;
}

/** The terminal events of both dialects: a crawl has ended once one is stored. */
const TERMINAL_EVENTS = [
  'crawl.completed',
  'crawl.failed',
  'batch_scrape.completed',
  'batch_scrape.failed',
  'crawler_stopped',
  'crawler_cancelled',
  'crawler_finished',
];
const STARTED_EVENTS = ['crawl.started', 'batch_scrape.started', 'crawler_started'];

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
    `INSERT INTO crawls (id, project_id, env, kind, api_version, url, options, webhook, page_limit, expires_at, webhook_id, webhook_name)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
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
      crawl.webhook_id ?? null,
      crawl.webhook_name ?? null,
    ],
  );
  await insertPages(c, crawl.id, seeds, crawl.page_limit, crawl.kind === 'crawler');
}

/** What insertPages added: new frontier URLs, and (for a crawler) URLs past the page limit, stored as skipped. */
interface Inserted {
  added: string[];
  overLimit: string[];
}

/**
 * Adds frontier pages up to the crawl's limit, skipping ones already known.
 * With `recordOverflow` (a crawler, which reports what it did not crawl)
 * new URLs past the limit are stored as skipped with reason page_limit.
 */
async function insertPages(c: DbClient, crawlId: string, seeds: PageSeed[], room: number, recordOverflow = false): Promise<Inserted> {
  const none: Inserted = { added: [], overLimit: [] };
  if (seeds.length === 0 || (room <= 0 && !recordOverflow)) return none;
  const take = seeds.slice(0, Math.max(0, Math.min(seeds.length, 50_000)));
  // One statement for the whole list; ON CONFLICT is the dedupe, and the
  // row number (after dedupe within the list) keeps the crawl within its page limit.
  const { rows } = await c.query<{ url: string; status: string }>(
    `WITH input AS (
       SELECT DISTINCT ON (canonical) url, canonical, depth, ord
         FROM unnest($2::text[], $3::text[], $4::int[]) WITH ORDINALITY AS t(url, canonical, depth, ord)
        ORDER BY canonical, ord
     ), fresh AS (
       SELECT i.*, row_number() OVER (ORDER BY ord) AS rn FROM input i
        WHERE NOT EXISTS (SELECT 1 FROM crawl_pages p WHERE p.crawl_id = $1 AND p.canonical = i.canonical)
     )
     INSERT INTO crawl_pages (crawl_id, url, canonical, depth, status, error)
     SELECT $1, url, canonical, depth, CASE WHEN rn <= $5 THEN 'pending' ELSE 'skipped' END, CASE WHEN rn <= $5 THEN NULL ELSE 'page_limit' END
       FROM fresh WHERE rn <= $5 OR $6 ORDER BY ord
     ON CONFLICT (crawl_id, canonical) DO NOTHING RETURNING url, status`,
    [crawlId, take.map((s) => s.url), take.map((s) => s.canonical), take.map((s) => s.depth), Math.max(0, room), recordOverflow],
  );
  const out: Inserted = { added: [], overLimit: [] };
  for (const r of rows) (r.status === 'pending' ? out.added : out.overLimit).push(r.url);
  if (rows.length > 0) {
    await c.query('UPDATE crawls SET total = total + $2, skipped = skipped + $3, updated_at = now() WHERE id = $1', [
      crawlId,
      out.added.length,
      out.overLimit.length,
    ]);
  }
  return out;
}

/** Stores URLs a crawler will not crawl (first reason wins: a known URL stays as it is); returns those new. */
async function insertSkipped(c: DbClient, crawlId: string, skipped: SkippedUrl[]): Promise<Array<{ url: string; reason: string }>> {
  if (skipped.length === 0) return [];
  const take = skipped.slice(0, 50_000);
  const { rows } = await c.query<{ url: string; reason: string }>(
    `INSERT INTO crawl_pages (crawl_id, url, canonical, depth, status, error)
     SELECT DISTINCT ON (canonical) $1, url, canonical, 0, 'skipped', reason
       FROM unnest($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(url, canonical, reason, ord)
      ORDER BY canonical, ord
     ON CONFLICT (crawl_id, canonical) DO NOTHING RETURNING url, error AS reason`,
    [crawlId, take.map((s) => s.url), take.map((s) => s.canonical), take.map((s) => s.reason)],
  );
  if (rows.length > 0) await c.query('UPDATE crawls SET skipped = skipped + $2, updated_at = now() WHERE id = $1', [crawlId, rows.length]);
  return rows;
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
        AND NOT EXISTS (SELECT 1 FROM crawl_pages WHERE crawl_id = $1 AND status NOT IN ('pending', 'skipped'))`,
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

/** The next event's seq and the transaction's clock (the event's timestamp). */
async function nextEventSlot(c: DbClient, crawlId: string): Promise<{ seq: number; now: Date }> {
  const { rows } = await c.query<{ seq: number; now: Date }>(
    'SELECT coalesce(max(seq) + 1, 0)::int AS seq, clock_timestamp() AS now FROM crawl_events WHERE crawl_id = $1',
    [crawlId],
  );
  return onlyRow(rows);
}

async function insertEvent(c: DbClient, e: { id: string; crawlId: string; seq: number; name: string; body: unknown; pageId: number | null }) {
  await c.query('INSERT INTO crawl_events (id, crawl_id, seq, event, body, page_id) VALUES ($1, $2, $3, $4, $5, $6)', [
    e.id,
    e.crawlId,
    e.seq,
    e.name,
    Buffer.from(JSON.stringify(e.body)),
    e.pageId,
  ]);
}

/**
 * Stores a Firecrawl event as the exact bytes every attempt will send, in the
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
  const { seq, now } = await nextEventSlot(c, crawl.id);
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
  await insertEvent(c, { id, crawlId: crawl.id, seq, name, body: payload, pageId });
  return seq;
}

/**
 * Stores a Scrapfly crawler event (for its named webhook, when it asked for
 * that event). The crawl row is re-read in the transaction, so the event's
 * `state` is the crawl as this change left it. Returns its seq, or null.
 */
async function appendCrawlerEvent(c: DbClient, crawlId: string, fields: CrawlerEventFields, pageId: number | null = null): Promise<number | null> {
  const crawl = await lockCrawl(c, crawlId);
  if (!crawl?.webhook_name || !crawl.options.crawler?.events.includes(fields.event)) return null;
  const { seq, now } = await nextEventSlot(c, crawlId);
  await insertEvent(c, { id: randomUUID(), crawlId, seq, name: fields.event, body: crawlerEventBody(crawl, fields, now), pageId });
  return seq;
}

/** Stores several events in order; returns the last seq stored (null: none). */
async function appendCrawlerEvents(c: DbClient, crawlId: string, list: CrawlerEventFields[], pageId: number | null): Promise<number | null> {
  let last: number | null = null;
  for (const fields of list) last = (await appendCrawlerEvent(c, crawlId, fields, pageId)) ?? last;
  return last;
}

/** Locks the crawl row for a multi-step change and returns it. */
async function lockCrawl(c: DbClient, id: string): Promise<Crawl | null> {
  const { rows } = await c.query<Crawl>('SELECT * FROM crawls WHERE id = $1 FOR UPDATE', [id]);
  return rows[0] ?? null;
}

/**
 * The crawl's first steps, once: the sitemap's pages join the frontier and
 * `started` is stored (a crawler's start_time too).
 */
export async function startCrawlEvents(db: Db, crawlId: string, sitemapSeeds: PageSeed[]): Promise<number | null> {
  return withTransaction(db, async (c) => {
    const crawl = await lockCrawl(c, crawlId);
    if (!crawl) return null;
    if (crawl.kind === 'crawler') {
      if (crawl.started_at) return null;
      await c.query('UPDATE crawls SET started_at = clock_timestamp(), updated_at = now() WHERE id = $1', [crawlId]);
      const sitemap = await insertPages(c, crawlId, sitemapSeeds, crawl.page_limit - crawl.total, true);
      const started = await appendCrawlerEvent(c, crawlId, { event: 'crawler_started' });
      const found: CrawlerEventFields[] = [];
      if (sitemap.added.length) found.push({ event: 'crawler_url_discovered', origin: 'sitemap', urls: sitemap.added });
      if (sitemap.overLimit.length) found.push({ event: 'crawler_url_skipped', urls: reasons(sitemap.overLimit, 'page_limit') });
      return (await appendCrawlerEvents(c, crawlId, found, null)) ?? started;
    }
    const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM crawl_events WHERE crawl_id = $1 AND event = ANY($2)`, [
      crawlId,
      STARTED_EVENTS,
    ]);
    if (onlyRow(rows).n > 0) return null;
    if (sitemapSeeds.length) await insertPages(c, crawlId, sitemapSeeds, crawl.page_limit - crawl.total);
    return appendEvent(c, crawl, 'started', { success: true });
  });
}

const reasons = (urls: string[], reason: string) => Object.fromEntries(urls.map((u) => [u, reason]));

export interface FinishedPage {
  crawlId: string;
  pageId: number;
  ok: boolean;
  statusCode: number | null;
  document: PageDocument;
  error: string | null;
  /** In-scope links found on it, already robots-checked: they join the frontier. */
  links: PageSeed[];
  /** A crawler's links it will not follow, with the reason (reported as skipped). */
  skipped?: SkippedUrl[];
  /** A crawler's exchange as fetched (WARC and HAR are built from it); absent when nothing was received. */
  capture?: Omit<CrawlPageCapture, 'page_id' | 'crawl_id'> | null;
  /** A failed crawler page's error code (crawler_url_failed's `error`), ERR::CRAWLER::… or ERR::SCRAPE::…. */
  errorCode?: string | null;
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
        WHERE id = $2 AND crawl_id = $1 AND done_seq IS NULL AND status IN ('pending', 'running')`,
      [p.crawlId, p.pageId, p.ok ? 'done' : 'failed', p.statusCode, p.document, p.error],
    );
    if (done.rowCount === 0) {
      const { rows } = await c.query<{ seq: number | null }>('SELECT max(seq)::int AS seq FROM crawl_events WHERE crawl_id = $1 AND page_id = $2', [
        p.crawlId,
        p.pageId,
      ]);
      return { eventSeq: rows[0]?.seq ?? null };
    }
    if (crawl.kind === 'crawler') return finishCrawlerPage(c, crawl, p);
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
 * finishPage for a crawler: the exchange kept for the artifacts, links into
 * the frontier (those past page_limit and those out of scope stored as
 * skipped, with their reason), the counters, then its events: the page's
 * own (visited or failed), what it discovered, what was skipped, each with
 * the state this change left.
 */
async function finishCrawlerPage(c: DbClient, crawl: Crawl, p: FinishedPage): Promise<{ eventSeq: number | null }> {
  if (p.capture) {
    const x = p.capture;
    await c.query(
      `INSERT INTO crawl_page_captures (page_id, crawl_id, fetched_at, duration_ms, url, final_url, request_headers, status_code,
         status_text, response_headers, body)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT (page_id) DO NOTHING`,
      [
        p.pageId,
        p.crawlId,
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
  // A cancelled (or timed out) crawler stores what was in flight but grows no further.
  const growing = crawl.status === 'scraping';
  const found = growing ? await insertPages(c, p.crawlId, p.links, crawl.page_limit - crawl.total, true) : { added: [], overLimit: [] };
  const skipped = growing ? await insertSkipped(c, p.crawlId, p.skipped ?? []) : [];
  await c.query('UPDATE crawls SET completed = completed + 1, credits_used = credits_used + $2, updated_at = now() WHERE id = $1', [
    p.crawlId,
    p.ok ? 1 : 0,
  ]);
  const url = p.document.metadata.sourceURL;
  const events: CrawlerEventFields[] = [
    p.ok
      ? { event: 'crawler_url_visited', url, statusCode: p.statusCode ?? 200, content: (p.document.content ?? {}) as Record<string, string> }
      : { event: 'crawler_url_failed', url, error: p.errorCode ?? 'ERR::CRAWLER::PAGE_FAILED', statusCode: p.statusCode },
  ];
  if (found.added.length) events.push({ event: 'crawler_url_discovered', origin: 'navigation', urls: found.added });
  const skips = { ...reasons(found.overLimit, 'page_limit'), ...Object.fromEntries(skipped.map((k) => [k.url, k.reason])) };
  if (Object.keys(skips).length) events.push({ event: 'crawler_url_skipped', urls: skips });
  return { eventSeq: await appendCrawlerEvents(c, p.crawlId, events, p.pageId) };
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
  outcome: { status: 'completed' | 'failed'; error: string | null; stopReason?: CrawlerStopReason },
): Promise<{ eventSeq: number | null; status: CrawlStatus }> {
  return withTransaction(db, async (c) => {
    const crawl = await lockCrawl(c, crawlId);
    if (!crawl) return { eventSeq: null, status: 'failed' as CrawlStatus };
    const { rows: ended } = await c.query<{ seq: number }>(`SELECT seq FROM crawl_events WHERE crawl_id = $1 AND event = ANY($2)`, [
      crawlId,
      TERMINAL_EVENTS,
    ]);
    if (crawl.completed_at) return { eventSeq: ended[0]?.seq ?? null, status: crawl.status };
    const status: CrawlStatus = crawl.status === 'cancelled' ? 'cancelled' : outcome.status;
    const error = status === 'cancelled' ? 'cancelled' : outcome.error;
    if (crawl.kind === 'crawler') return endCrawler(c, crawl, status, error, outcome.stopReason);
    // Pages never fetched leave the count: total is what the crawl scraped or tried.
    const { rowCount: dropped } = await c.query(`DELETE FROM crawl_pages WHERE crawl_id = $1 AND done_seq IS NULL AND status <> 'skipped'`, [
      crawlId,
    ]);
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
 * finishCrawl for a crawler: URLs accepted and never fetched become skipped
 * with the stop reason (Scrapfly lists what it did not crawl), the stop
 * reason and stop time are stored, and the terminal event follows:
 * crawler_finished, crawler_stopped (failed) or crawler_cancelled.
 */
async function endCrawler(
  c: DbClient,
  crawl: Crawl,
  status: CrawlStatus,
  error: string | null,
  stopReason: CrawlerStopReason | undefined,
): Promise<{ eventSeq: number | null; status: CrawlStatus }> {
  const reason: CrawlerStopReason =
    status === 'cancelled' ? 'user_cancelled' : (stopReason ?? (status === 'completed' ? 'no_more_urls' : 'crawler_error'));
  const { rowCount: unfetched } = await c.query(
    `UPDATE crawl_pages SET status = 'skipped', error = $2 WHERE crawl_id = $1 AND done_seq IS NULL AND status IN ('pending', 'running')`,
    [crawl.id, reason],
  );
  const n = unfetched ?? 0;
  await c.query(
    `UPDATE crawls SET status = $2, error = $3, stop_reason = $4, total = total - $5, skipped = skipped + $5,
            started_at = coalesce(started_at, clock_timestamp()), completed_at = clock_timestamp(), updated_at = now()
      WHERE id = $1`,
    [crawl.id, status, error, reason, n],
  );
  const event: CrawlerEvent = status === 'cancelled' ? 'crawler_cancelled' : status === 'completed' ? 'crawler_finished' : 'crawler_stopped';
  const eventSeq = await appendCrawlerEvent(c, crawl.id, { event });
  if (eventSeq === null) await c.query('UPDATE crawls SET settled = true WHERE id = $1', [crawl.id]);
  return { eventSeq, status };
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
    const { rowCount: dropped } = await c.query(`DELETE FROM crawl_pages WHERE crawl_id = $1 AND done_seq IS NULL AND status <> 'skipped'`, [id]);
    await c.query(
      `UPDATE crawls SET total = total - $2, settled = true, completed_at = now(), updated_at = now(),
              stop_reason = CASE WHEN kind = 'crawler' THEN coalesce(stop_reason, 'user_cancelled') END
        WHERE id = $1`,
      [id, dropped ?? 0],
    );
    return true;
  });
}
