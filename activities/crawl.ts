import { ApplicationFailure, Context, heartbeat } from '@temporalio/activity';
import { getProjectById } from '../src/db/repositories/projects';
import { claimPages, firstPageError, getPage, hasSkipped } from '../src/db/repositories/crawlPages';
import { finishCrawl, finishPage, getCrawl, startCrawlEvents, type PageSeed, type SkippedUrl } from '../src/db/repositories/crawls';
import type { Crawl, PageDocument } from '../src/db/rows';
import { scrapePage, type PageCapture, type ScrapePageResult } from '../src/crawl/fetchPage';
import { renderCrawlPage } from '../src/crawl/renderedPage';
import { createRobotsCache } from '../src/crawl/robotsCache';
import { collectSitemapUrls } from '../src/crawl/sitemapFetch';
import { isLikelyNonPage } from '../src/crawl/skip';
import { checkScope, compileScope, crawlerSkipReason, type CrawlScope, type CrawlerSkipReason } from '../src/crawl/scope';
import { canonicalUrl } from '../src/crawl/urls';
import { robotsToken, type RobotsPolicy } from '../src/crawl/robots';
import type { CrawlPageOutcome } from '../src/shared/contracts/crawl';
import type { CrawlerStopReason } from '../src/shared/names';
import { crawlEventsWorkflowId, crawlPageHolder, crawlWorkflowId } from '../src/shared/names';
import { eventsAppendedSignal } from '../src/shared/workflowApi';
import { buildCrawlEventsInput } from '../src/temporal/crawlInput';
import type { ActivityDeps } from './deps';

const crawlNotFound = (crawlId: string) =>
  ApplicationFailure.create({ type: 'CrawlNotFound', message: `crawl ${crawlId} not found`, nonRetryable: true });

/** Sitemap URLs a crawl reads at most (the page limit caps what is kept). */
const SITEMAP_MAX_URLS = 50_000;

/** Whether the crawl follows links: a Firecrawl crawl (not sitemap-only), or a Scrapfly crawler that is not a URL list. */
const discovers = (crawl: Crawl) =>
  crawl.kind === 'crawler' ? crawl.options.crawler?.discover !== false : crawl.kind === 'crawl' && crawl.options.sitemap !== 'only';

/** Whether the crawl reads sitemaps (robots.txt's Sitemap lines, /sitemap.xml) for its first pages. */
const readsSitemaps = (crawl: Crawl) =>
  (crawl.kind === 'crawl' || (crawl.kind === 'crawler' && crawl.options.crawler?.discover !== false)) && crawl.options.sitemap !== 'skip';

/** Activities of crawlWorkflow: seeding, claiming the frontier, fetching a page, ending. */
export function createCrawlActivities(deps: ActivityDeps) {
  const { db, config, logger } = deps;
  const robots = createRobotsCache({ http: deps.scrapeHttp, timeoutMs: Math.min(config.scrape.timeoutMs, 10_000) });
  // Compiled scopes hold RegExps, so they are compiled here, once per crawl per worker.
  const scopes = new Map<string, CrawlScope | null>();
  const scopeOf = (crawl: Crawl): CrawlScope | null => {
    const known = scopes.get(crawl.id);
    if (known !== undefined) return known;
    // Oldest first (a Map keeps insertion order): a bound, not an LRU.
    const oldest = scopes.keys().next();
    if (scopes.size > 1000 && !oldest.done) scopes.delete(oldest.value);
    const compiled = crawl.url ? compileScope(crawl.url, crawl.options.scope) : null;
    const scope = compiled?.ok ? compiled.scope : null;
    scopes.set(crawl.id, scope);
    return scope;
  };
  const policyFor = (crawl: Crawl, url: string): Promise<RobotsPolicy | null> =>
    crawl.options.ignoreRobotsTxt ? Promise.resolve(null) : robots.policyFor(url, robotsToken(crawl.options));
  const allowed = async (crawl: Crawl, url: string) => (await robotsRefusal(crawl, url)) === null;
  /** Why robots.txt forbids the URL, or null when it may be fetched. */
  const robotsRefusal = async (crawl: Crawl, url: string): Promise<string | null> => {
    const policy = await policyFor(crawl, url);
    if (policy === null || policy.isAllowed(url)) return null;
    if (policy.mode !== 'disallow_all') return 'robots.txt disallows this page';
    // RFC 9309: a robots.txt that cannot be read (5xx, unreachable) disallows the whole site.
    const why =
      policy.status !== null ? `robots.txt answered HTTP ${policy.status}` : `robots.txt could not be fetched: ${policy.fetchError ?? 'no answer'}`;
    return `${why}; every page of ${policy.origin} counts as disallowed (RFC 9309)`;
  };

  /** Tells the crawl's events workflow that events up to `upTo` are stored (starting it when needed). */
  const announce = (crawlId: string, upTo: number) =>
    deps.temporal.workflow.signalWithStart('crawlEventsWorkflow', {
      workflowId: crawlEventsWorkflowId(crawlId),
      taskQueue: config.temporal.taskQueue,
      args: [buildCrawlEventsInput(config, crawlId)],
      signal: eventsAppendedSignal,
      signalArgs: [{ upTo }],
    });

  /**
   * A page's links: the in-scope, robots-allowed ones as frontier entries one
   * hop deeper, and (for a crawler, which reports them) the others with
   * Scrapfly's reason, once per URL. A crawler follows no rel=nofollow link
   * unless it ignores nofollow.
   */
  const followLinks = async (
    crawl: Crawl,
    page: { url: string; depth: number },
    got: Pick<ScrapePageResult, 'links' | 'nofollow'>,
  ): Promise<{ links: PageSeed[]; skipped: SkippedUrl[] }> => {
    const none = { links: [], skipped: [] };
    if (!discovers(crawl)) return none;
    const scope = scopeOf(crawl);
    if (!scope) return none;
    const crawler = crawl.kind === 'crawler' ? crawl.options.crawler : undefined;
    const ignoreQuery = crawl.options.ignoreQueryParameters;
    const nofollow = crawler && !crawler.ignoreNoFollow ? new Set(got.nofollow) : null;
    const out: PageSeed[] = [];
    const skipped = new Map<string, SkippedUrl>();
    const skip = (url: string, reason: CrawlerSkipReason) => {
      if (!crawler) return;
      const canonical = canonicalUrl(url, undefined, { ignoreQuery });
      if (canonical && !skipped.has(canonical)) skipped.set(canonical, { url, canonical, reason });
    };
    for (const link of got.links) {
      if (isLikelyNonPage(link)) {
        skip(link, 'not_a_page');
        continue;
      }
      const d = checkScope(scope, { url: link, depth: page.depth + 1, foundOn: page.url });
      if (!d.inScope) {
        const reason = crawlerSkipReason(d.reason);
        if (reason !== null && d.url !== null) skip(d.url, reason);
        continue;
      }
      const canonical = canonicalUrl(d.url, undefined, { ignoreQuery });
      if (!canonical) continue;
      if (nofollow?.has(link)) {
        skip(d.url, 'nofollow');
        continue;
      }
      if (!(await allowed(crawl, d.url))) {
        skip(d.url, 'robots_txt');
        continue;
      }
      out.push({ url: d.url, canonical, depth: page.depth + 1 });
    }
    return { links: out, skipped: [...skipped.values()] };
  };

  return {
    /**
     * Once per crawl: sitemap pages join the frontier (v2 `sitemap`
     * include/only; robots.txt's Sitemap lines too) and `started` is stored.
     */
    async seedCrawl({ crawlId }: { crawlId: string }): Promise<void> {
      const crawl = await getCrawl(db, crawlId);
      if (!crawl) throw crawlNotFound(crawlId);
      const seeds: PageSeed[] = [];
      if (readsSitemaps(crawl) && crawl.url) {
        const scope = scopeOf(crawl);
        const policy = await policyFor(crawl, crawl.url);
        const found = await collectSitemapUrls(
          crawl.url,
          policy?.sitemaps ?? [],
          { http: deps.scrapeHttp },
          {
            maxUrls: Math.min(SITEMAP_MAX_URLS, crawl.page_limit * 4),
            timeoutMs: Math.min(config.scrape.timeoutMs, 10_000),
          },
        );
        for (const url of found.urls) {
          if (!scope || isLikelyNonPage(url)) continue;
          const d = checkScope(scope, { url, depth: 0 });
          if (!d.inScope) continue;
          const canonical = canonicalUrl(d.url, undefined, { ignoreQuery: crawl.options.ignoreQueryParameters });
          if (canonical && (await allowed(crawl, d.url))) seeds.push({ url: d.url, canonical, depth: 0 });
        }
        if (found.problems.length) logger.info({ crawlId, problems: found.problems.slice(0, 5) }, 'sitemap problems');
      }
      const seq = await startCrawlEvents(db, crawlId, seeds);
      logger.info({ crawlId, kind: crawl.kind, sitemapPages: seeds.length }, 'crawl started');
      if (seq !== null) await announce(crawlId, seq);
    },

    /** Up to `max` frontier pages for the crawl to fetch next (see claimPages). */
    async claimCrawlPages(input: { crawlId: string; max: number; inFlight: number[] }): Promise<number[]> {
      return claimPages(db, input.crawlId, input.max, input.inFlight);
    },

    /**
     * One page: its capture slot (or its place in line: `queued`), robots,
     * the fetch through the address guard, then document, links, counters
     * and page event in one transaction. The slot is held only around the fetch.
     */
    async crawlPage({ crawlId, pageId }: { crawlId: string; pageId: number }): Promise<CrawlPageOutcome> {
      const [crawl, page] = await Promise.all([getCrawl(db, crawlId), getPage(db, pageId)]);
      if (!crawl || !page) throw crawlNotFound(crawlId);
      if (page.status === 'done' || page.status === 'failed') return { queued: false, eventSeq: null };
      const project = await getProjectById(db, crawl.project_id);
      if (!project) throw crawlNotFound(crawlId);
      const holder = crawlPageHolder(crawlId, pageId);
      if ((await deps.slots.acquire(project, holder, true)) !== 'granted') return { queued: true, eventSeq: null };
      const ctx = Context.current();
      const beat = setInterval(() => heartbeat(), 1000);
      const crawler = crawl.kind === 'crawler' ? (crawl.options.crawler ?? null) : null;
      try {
        let ok: boolean;
        let statusCode: number | null = null;
        let document: PageDocument;
        let error: string | null = null;
        let errorCode: string | null = null;
        let links: PageSeed[] = [];
        let skipped: SkippedUrl[] = [];
        let capture: PageCapture | null = null;
        const refusal = await robotsRefusal(crawl, page.url);
        if (refusal !== null) {
          ok = false;
          error = refusal;
          errorCode = 'ERR::CRAWLER::ROBOTS_DISALLOWED';
          document = { metadata: { sourceURL: page.url, url: page.url, statusCode: null, error } };
        } else {
          const timeoutMs = Math.min(crawl.options.timeoutMs ?? config.scrape.timeoutMs, config.scrape.timeoutMs);
          const options = {
            formats: crawl.options.formats,
            headers: crawl.options.headers,
            timeoutMs,
            maxBytes: config.scrape.maxBytes,
            onlyMainContent: crawl.options.onlyMainContent,
            ignoreQuery: crawl.options.ignoreQueryParameters,
            signal: ctx.cancellationSignal,
            ...(crawl.options.userAgent ? { userAgent: crawl.options.userAgent } : {}),
            // A crawler's formats and its exchange as fetched; a Firecrawl crawl asks for neither.
            ...(crawler ? { contentFormats: crawler.formats, capture: true } : {}),
          };
          const got =
            crawler && crawler.renderingDelayMs > 0
              ? await renderCrawlPage(page.url, { ...options, renderingDelayMs: crawler.renderingDelayMs }, { browser: deps.browser })
              : await scrapePage(page.url, options, { http: deps.scrapeHttp });
          ({ ok, statusCode, document, error, errorCode, capture } = got);
          if (ok || got.links.length) ({ links, skipped } = await followLinks(crawl, page, got));
        }
        if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
        const finished = { crawlId, pageId, ok, statusCode, document, error, links };
        if (crawler && !ok) document.metadata.errorCode = errorCode ??= 'ERR::SCRAPE::FAILED';
        const { eventSeq } = await finishPage(db, crawler ? { ...finished, skipped, capture, errorCode } : finished);
        if (eventSeq !== null) await announce(crawlId, eventSeq);
        return { queued: false, eventSeq };
      } finally {
        clearInterval(beat);
        await deps.slots
          .release(project, holder)
          .catch((err) => logger.warn({ crawlId, pageId, err: (err as Error).message }, 'capture slot not released; it expires'));
      }
    },

    /** A page the worker could not fetch after retries (not the target's answer: ours). */
    async failCrawlPage(input: { crawlId: string; pageId: number; error: string }): Promise<void> {
      const page = await getPage(db, input.pageId);
      if (!page) return;
      const crawl = await getCrawl(db, input.crawlId);
      const error = `the page could not be fetched after retries: ${input.error}`;
      const document: PageDocument = { metadata: { sourceURL: page.url, url: page.url, statusCode: null, error } };
      const finished = { crawlId: input.crawlId, pageId: input.pageId, ok: false, statusCode: null, document, error, links: [] };
      let errorCode: string | undefined;
      if (crawl?.kind === 'crawler') document.metadata.errorCode = errorCode = 'ERR::CRAWLER::PAGE_FAILED';
      const { eventSeq } = await finishPage(db, errorCode ? { ...finished, errorCode } : finished);
      if (eventSeq !== null) await announce(input.crawlId, eventSeq);
    },

    /**
     * The crawl ended (frontier empty, cancelled, or, for a crawler, out of
     * time: `timedOut`): status, terminal event, and every capture slot or
     * place in line its pages still had. A crawler's stop reason: cancelled
     * → user_cancelled (the repository's); no page ok → failed with
     * seed_url_failed; out of time → max_duration; URLs cut by the page limit
     * → page_limit; else no_more_urls.
     */
    async endCrawl({ crawlId, timedOut }: { crawlId: string; timedOut?: boolean }): Promise<string> {
      const crawl = await getCrawl(db, crawlId);
      if (!crawl) throw crawlNotFound(crawlId);
      const project = await getProjectById(db, crawl.project_id);
      if (project) await deps.slots.releaseAll(project, `${crawlWorkflowId(crawlId)}#`);
      // A crawl whose pages all failed has failed (its first page's error says why); a batch completes.
      let outcome: { status: 'completed' | 'failed'; error: string | null; stopReason?: CrawlerStopReason } = { status: 'completed', error: null };
      if ((crawl.kind === 'crawl' || crawl.kind === 'crawler') && crawl.credits_used === 0) {
        outcome = { status: 'failed', error: (await firstPageError(db, crawlId)) ?? 'no page could be crawled' };
      }
      if (crawl.kind === 'crawler') {
        outcome.stopReason =
          outcome.status === 'failed'
            ? 'seed_url_failed'
            : timedOut
              ? 'max_duration'
              : (await hasSkipped(db, crawlId, 'page_limit'))
                ? 'page_limit'
                : 'no_more_urls';
      }
      const { eventSeq, status } = await finishCrawl(db, crawlId, outcome);
      scopes.delete(crawlId);
      logger.info({ crawlId, status, total: crawl.total, completed: crawl.completed }, 'crawl ended');
      if (eventSeq !== null) await announce(crawlId, eventSeq);
      return status;
    },
  };
}

export type CrawlActivities = ReturnType<typeof createCrawlActivities>;
