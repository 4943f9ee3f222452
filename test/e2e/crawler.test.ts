// Scrapfly crawlers (kind 'crawler') end to end on the crawl engine: created
// through the CrawlSubmitter command (as POST /crawl will), run by the real
// worker on the run's Temporal server against a loopback site with cycles, a
// robots.txt (with a group for the crawler's own User-Agent token), a
// sitemap, a failing page, a rel=nofollow link, an excluded path, media, an
// external host and a script-built page for Chromium. What the crawl did is
// read from PostgreSQL: page statuses and skip reasons, documents and their
// formats, captures, counters, stop reasons. Fresh histories replay, and
// RECORD_HISTORIES=<tag> keeps the crawler's as a fixture.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { CrawlCanceller } from '../../src/commands/crawlCanceller';
import { CrawlSubmitter, type CrawlRequest } from '../../src/commands/crawlSubmitter';
import { canonicalUrl } from '../../src/crawl/urls';
import { crawlerState } from '../../src/delivery/crawlerEvent';
import type { Crawl, PageDocument } from '../../src/db/rows';
import { repoRoot } from '../../src/repoRoot';
import { CRAWLER_FORMATS, type CrawlerOptions, type CrawlScopeOptions } from '../../src/shared/contracts/crawl';
import { crawlWorkflowId } from '../../src/shared/names';
import { WORKFLOW_BUNDLE } from '../../src/worker/worker';
import { startCommandEnv, type CommandEnv } from '../helpers/commandEnv';
import { until } from '../helpers/wait';

const UA = 'AcmeCrawler/1.0 (+https://acme.example/bot)';
const FIXTURES = path.join(repoRoot(), 'test', 'fixtures', 'histories');
const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><title>${title}</title><meta name="description" content="About ${title}"></head><body><h1>${title}</h1>${body}</body></html>`;
const links = (...hrefs: string[]) => hrefs.map((h) => `<a href="${h}">${h}</a>`).join(' ');

/** The loopback site; every request is logged, and /hold waits for release(). */
async function startSite() {
  const log: Array<{ path: string; host: string; userAgent: string | undefined; at: number }> = [];
  let origin = '';
  let external = '';
  let released = false;
  let holding: Array<() => void> = [];
  const pages: Record<string, () => string> = {
    '/': () =>
      page(
        'Home',
        links('/a', '/b', '/a#frag', '/broken', '/private/secret', '/acme-only/x', '/excluded/x', '/logo.png', `${external}/ext`, '/deep/1') +
          '<a rel="nofollow" href="/nofollowed">nofollow</a>',
      ),
    '/a': () => page('A', links('/', '/b', '/a')),
    '/gate': () => page('Gate', links('/hold', '/many/1', '/many/2')),
    '/b': () => page('B', links('/a', '/')),
    '/from-sitemap': () => page('From the sitemap', links('/')),
    '/nofollowed': () => page('Nofollowed', links('/')),
    '/js': () =>
      page(
        'Script',
        '<p>served</p><script>setTimeout(() => { const p = document.createElement("p"); p.id = "late"; p.textContent = "rendered by script"; ' +
          'const a = document.createElement("a"); a.href = "/js/link"; a.textContent = "late link"; document.body.append(p, a); }, 50);</script>',
      ),
    '/js/link': () => page('Linked by script', '<p>reached</p>'),
  };
  for (let k = 1; k <= 6; k++) pages[`/deep/${k}`] = () => page(`Deep ${k}`, links(`/deep/${k + 1}`, '/'));
  for (let k = 1; k <= 200; k++) pages[`/many/${k}`] = () => page(`Many ${k}`, links(`/many/${k + 1}`, `/many/${k + 2}`));
  const server = http.createServer((req, res) => {
    const target = req.url ?? '/';
    log.push({ path: target, host: req.headers.host ?? '', userAgent: req.headers['user-agent'], at: Date.now() });
    const p = target.split('?')[0]!;
    const htmlOut = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'x-site': 'loopback' });
      res.end(body);
    };
    if (p === '/robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end(
        `User-agent: AcmeCrawler\nDisallow: /private/\nDisallow: /acme-only/\n\nUser-agent: *\nDisallow: /private/\n\nSitemap: ${origin}/sitemap.xml\n`,
      );
    }
    if (p === '/sitemap.xml') {
      res.writeHead(200, { 'content-type': 'application/xml' });
      const urls = ['/', '/from-sitemap', '/private/listed'].map((u) => `<url><loc>${origin}${u}</loc></url>`).join('');
      return res.end(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${urls}</urlset>`);
    }
    if (p === '/broken') return htmlOut(500, page('Broken', '<p>down</p>'));
    if (p === '/hold') {
      const answer = () => htmlOut(200, page('Held', links('/many/3')));
      return released ? answer() : void holding.push(answer);
    }
    const make = pages[p];
    if (make) return htmlOut(200, make());
    htmlOut(404, page('Not found', ''));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  external = `http://localhost:${port}`;
  return {
    origin,
    external,
    log,
    served: (p: string) => pages[p]!(),
    release() {
      released = true;
      for (const go of holding) go();
      holding = [];
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

type Site = Awaited<ReturnType<typeof startSite>>;

interface PageRow {
  url: string;
  status: string;
  status_code: number | null;
  error: string | null;
  depth: number;
  document: PageDocument | null;
}

describe('Scrapfly crawlers on the crawl engine', () => {
  let env: CommandEnv;
  let site: Site;
  let submitter: CrawlSubmitter;

  before(async () => {
    site = await startSite();
    env = await startCommandEnv({ CRAWL_PAGE_CONCURRENCY: '2' });
    submitter = new CrawlSubmitter({ db: env.db, config: env.config, logger: env.logger, temporal: env.temporal });
  });
  after(async () => {
    await env?.close();
    await site?.close();
  });

  /** A crawler as POST /crawl will store it: every format, Scrapfly's defaults unless `over` says otherwise. */
  const crawler = (
    seed: string,
    over: { crawler?: Partial<CrawlerOptions>; scope?: CrawlScopeOptions; pageLimit?: number; seeds?: string[]; sitemap?: 'skip' | 'include' } = {},
  ): CrawlRequest => {
    const seeds = over.seeds ?? [seed];
    return {
      kind: 'crawler',
      // A crawler has no Firecrawl API version (0); the submitter's type predates it.
      apiVersion: 0 as number as CrawlRequest['apiVersion'],
      url: over.crawler?.discover === false ? null : `${site.origin}${seed}`,
      options: {
        scope: { pathSyntax: 'wildcard', allowSubdomains: true, ...over.scope },
        formats: [],
        onlyMainContent: false,
        ignoreRobotsTxt: false,
        sitemap: over.sitemap ?? 'skip',
        ignoreQueryParameters: false,
        maxConcurrency: null,
        robotsUserAgent: null,
        headers: { 'X-Crawl': 'e2e' },
        timeoutMs: null,
        userAgent: UA,
        crawler: {
          formats: [...CRAWLER_FORMATS],
          events: [],
          discover: true,
          maxDurationMs: 900_000,
          delayMs: 0,
          renderingDelayMs: 0,
          ignoreNoFollow: false,
          seedUrl: `${site.origin}${seeds[0]}`,
          projectName: 'default',
          apiBase: 'http://127.0.0.1:9',
          ...over.crawler,
        },
      },
      webhook: null,
      pageLimit: over.pageLimit ?? 100,
      seeds: seeds.map((s) => ({ url: `${site.origin}${s}`, canonical: canonicalUrl(`${site.origin}${s}`)!, depth: 0 })),
    };
  };

  const run = async (request: CrawlRequest): Promise<string> => (await submitter.submit({ project: env.scope.project, env: 'live', request })).id;
  const ended = (id: string) =>
    until(
      async () => {
        const { rows } = await env.db.query<Crawl>('SELECT * FROM crawls WHERE id = $1', [id]);
        return rows[0]?.completed_at ? rows[0] : undefined;
      },
      120_000,
      100,
    );
  const pagesOf = async (id: string) =>
    (await env.db.query<PageRow>('SELECT url, status, status_code, error, depth, document FROM crawl_pages WHERE crawl_id = $1 ORDER BY id', [id]))
      .rows;
  const byPath = (rows: PageRow[]) => new Map(rows.map((r) => [r.url.startsWith(site.origin) ? r.url.slice(site.origin.length) : r.url, r]));
  const statuses = (rows: PageRow[]) =>
    Object.fromEntries([...byPath(rows)].map(([p, r]) => [p, r.status === 'skipped' ? `skipped:${r.error}` : r.status]).sort());
  const captures = async (id: string) =>
    (
      await env.db.query<{
        url: string;
        final_url: string;
        status_code: number;
        status_text: string;
        request_headers: Record<string, string>;
        response_headers: Record<string, string>;
        body: Buffer;
        fetched_at: Date;
        duration_ms: number;
      }>('SELECT * FROM crawl_page_captures WHERE crawl_id = $1 ORDER BY fetched_at', [id])
    ).rows;

  it('crawls what is in scope once, reports what it skipped and why, keeps every format and the exchange', async () => {
    const before = site.log.length;
    const id = await run(crawler('/', { scope: { excludePaths: ['/excluded/*'], maxDiscoveryDepth: 3 }, sitemap: 'include' }));
    const crawl = await ended(id);
    const rows = await pagesOf(id);
    assert.deepEqual(statuses(rows), {
      '/': 'done',
      '/a': 'done',
      '/acme-only/x': 'skipped:robots_txt', // the group for the User-Agent's own token
      '/b': 'done',
      '/broken': 'failed',
      '/deep/1': 'done',
      '/deep/2': 'done',
      '/deep/3': 'done',
      '/deep/4': 'skipped:max_depth',
      '/excluded/x': 'skipped:excluded_path',
      '/from-sitemap': 'done',
      '/logo.png': 'skipped:not_a_page',
      '/nofollowed': 'skipped:nofollow',
      '/private/secret': 'skipped:robots_txt',
      [`${site.external}/ext`]: 'skipped:external_domain',
    });
    // A robots-disallowed sitemap entry is not reported (the sitemap is read, not crawled).
    assert.ok(!rows.some((r) => r.url.includes('/private/listed')));
    // Fetched once each, nothing skipped was fetched, with the crawler's User-Agent.
    const own = site.log.slice(before).filter((e) => !['/robots.txt', '/sitemap.xml'].includes(e.path));
    assert.deepEqual(own.map((e) => e.path).sort(), ['/', '/a', '/b', '/broken', '/deep/1', '/deep/2', '/deep/3', '/from-sitemap']);
    assert.ok(own.every((e) => e.userAgent === UA && e.host === site.origin.slice('http://'.length)));

    assert.equal(crawl.status, 'completed');
    assert.equal(crawl.stop_reason, 'no_more_urls');
    assert.deepEqual([crawl.total, crawl.completed, crawl.credits_used, crawl.skipped], [8, 8, 7, 7]);
    const state = crawlerState(crawl, new Date());
    assert.deepEqual([state.urls_visited, state.urls_failed, state.urls_skipped, state.urls_to_crawl, state.urls_extracted], [7, 1, 7, 8, 15]);
    // Depth counts link hops from the seed.
    assert.deepEqual(
      ['/', '/a', '/deep/1', '/deep/3'].map((p) => byPath(rows).get(p)!.depth),
      [0, 1, 1, 3],
    );

    // Every format of a visited page; metadata as before.
    const home = byPath(rows).get('/')!.document!;
    assert.deepEqual(Object.keys(home.content!).sort(), [...CRAWLER_FORMATS].sort());
    assert.equal(home.content!.html, site.served('/'));
    assert.match(home.content!.markdown!, /^# Home/m);
    assert.match(home.content!.text!, /Home/);
    assert.equal(home.metadata.sourceURL, `${site.origin}/`);
    assert.equal(home.metadata.title, 'Home');
    assert.equal(JSON.parse(home.content!.json!).status_code, 200);
    const meta = JSON.parse(home.content!.page_metadata!);
    assert.deepEqual([meta.title, meta.description, meta.language, meta.links_count], ['Home', 'About Home', 'en', 10]);
    // A failed page: its code for crawler_url_failed, its message as before.
    const broken = byPath(rows).get('/broken')!;
    assert.deepEqual(
      [broken.status_code, broken.error, broken.document!.metadata.errorCode],
      [500, 'HTTP 500', 'ERR::SCRAPE::BAD_UPSTREAM_RESPONSE'],
    );

    // One capture per fetched page, the failed one included: the exchange as it happened.
    const caps = await captures(id);
    assert.equal(caps.length, 8);
    const first = caps.find((c) => c.url === `${site.origin}/`)!;
    assert.equal(first.body.toString(), site.served('/'));
    assert.deepEqual([first.status_code, first.status_text], [200, 'OK']);
    assert.equal(first.request_headers['user-agent'], UA);
    assert.equal(first.request_headers['x-crawl'], 'e2e');
    assert.equal(first.response_headers['x-site'], 'loopback');
    assert.deepEqual(
      caps.filter((c) => c.status_code === 500).map((c) => [c.url, c.status_text]),
      [[`${site.origin}/broken`, 'Internal Server Error']],
    );
  });

  it('the seed is always fetched; include-only wildcards and ignore_no_follow', async () => {
    const id = await run(
      crawler('/', { scope: { includePaths: ['/nofollowed', '/deep/*'], maxDiscoveryDepth: 1 }, crawler: { ignoreNoFollow: true } }),
    );
    const crawl = await ended(id);
    const s = statuses(await pagesOf(id));
    assert.equal(s['/'], 'done', 'not included, but the seed');
    assert.equal(s['/nofollowed'], 'done', 'followed: nofollow is ignored');
    assert.equal(s['/deep/1'], 'done');
    assert.equal(s['/a'], 'skipped:not_included_path');
    assert.equal(s['/deep/2'], 'skipped:max_depth');
    assert.equal(s['/b'], 'skipped:not_included_path');
    assert.equal(crawl.stop_reason, 'no_more_urls');
  });

  it('base_path_restriction below the seed; page_limit cuts the crawl and is its stop reason', async () => {
    const based = await ended(await run(crawler('/deep/1', { scope: { allowSubdomains: true } })));
    assert.deepEqual(statuses(await pagesOf(based.id)), {
      '/': 'skipped:base_path_restriction',
      '/deep/1': 'done',
      '/deep/2': 'skipped:base_path_restriction',
    });
    assert.equal(based.stop_reason, 'no_more_urls');

    const limited = await ended(await run(crawler('/', { pageLimit: 3 })));
    const rows = await pagesOf(limited.id);
    assert.equal(rows.filter((r) => r.status === 'done' || r.status === 'failed').length, 3, 'fetched pages never exceed page_limit');
    assert.ok(rows.some((r) => r.status === 'skipped' && r.error === 'page_limit'));
    assert.deepEqual([limited.status, limited.stop_reason], ['completed', 'page_limit']);
  });

  it('a seed that fails: failed with seed_url_failed', async () => {
    const crawl = await ended(await run(crawler('/broken')));
    assert.deepEqual([crawl.status, crawl.stop_reason, crawl.error], ['failed', 'seed_url_failed', 'HTTP 500']);
  });

  it('a URL list follows no link', async () => {
    const id = await run(crawler('/a', { seeds: ['/a', '/b'], crawler: { discover: false } }));
    const crawl = await ended(id);
    assert.deepEqual(statuses(await pagesOf(id)), { '/a': 'done', '/b': 'done' });
    assert.deepEqual([crawl.status, crawl.stop_reason, crawl.skipped], ['completed', 'no_more_urls', 0]);
  });

  it('delay spaces the fetches; max_duration stops claiming and is the stop reason; the history replays', async () => {
    const id = await run(crawler('/many/1', { scope: { crawlEntireDomain: true }, crawler: { delayMs: 400, maxDurationMs: 2_000 } }));
    const crawl = await ended(id);
    assert.deepEqual([crawl.status, crawl.stop_reason], ['completed', 'max_duration']);
    const rows = await pagesOf(id);
    const done = rows.filter((r) => r.status === 'done');
    assert.ok(done.length >= 1 && done.length < 10, `${done.length} pages in 2 s at one every 400 ms`);
    // What was found and never fetched is skipped with the stop reason.
    assert.ok(rows.some((r) => r.status === 'skipped' && r.error === 'max_duration'));
    assert.ok(!rows.some((r) => r.status === 'pending' || r.status === 'running'));
    // One at a time, each fetch at least the delay after the one before had ended (the data's order, not the test's clock).
    const caps = await captures(id);
    assert.equal(caps.length, done.length);
    for (let i = 1; i < caps.length; i++) {
      const previousEnd = caps[i - 1]!.fetched_at.getTime() + caps[i - 1]!.duration_ms;
      const gap = caps[i]!.fetched_at.getTime() - previousEnd;
      assert.ok(gap >= 400 - 1, `fetch ${i} began ${gap} ms after the one before ended`);
    }

    const handle = env.temporal.workflow.getHandle(crawlWorkflowId(id));
    const history = await handle.fetchHistory();
    // A durable timer before each fetch but the first (and maybe one more, before a claim the deadline then stopped).
    const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes).length;
    assert.ok(timers === done.length - 1 || timers === done.length, `${timers} timers for ${done.length} fetches`);
    await Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, history);
    const tag = process.env.RECORD_HISTORIES;
    if (tag) writeFileSync(path.join(FIXTURES, `crawler-delay-max-duration-${tag}.json`), historyToJSON(history));
  });

  it('a cancel ends it CANCELLED with user_cancelled; what was not fetched is skipped with that reason', async () => {
    // One page at a time: /hold is in flight (held by the site) while /many/1 and /many/2 wait in the frontier.
    const request = crawler('/gate', { scope: { crawlEntireDomain: true } });
    const id = await run({ ...request, options: { ...request.options, maxConcurrency: 1 } });
    await until(async () => (site.log.some((e) => e.path === '/hold') ? true : undefined), 30_000, 50);
    const canceller = new CrawlCanceller({ db: env.db, temporal: env.temporal });
    assert.equal(await canceller.cancel({ projectId: env.scope.project.id, env: 'live' }, id), 'cancelled');
    const at = site.log.length;
    site.release();
    const crawl = await ended(id);
    assert.deepEqual([crawl.status, crawl.stop_reason], ['cancelled', 'user_cancelled']);
    const s = statuses(await pagesOf(id));
    assert.deepEqual(s, {
      '/gate': 'done',
      '/hold': 'done', // in flight at the cancel: it finished, and its links were not taken
      '/many/1': 'skipped:user_cancelled',
      '/many/2': 'skipped:user_cancelled',
    });
    assert.ok(!site.log.slice(at).some((e) => e.path.startsWith('/many/')), 'no fetch after the cancel');
  });

  it('rendering_delay renders in Chromium: the content is the rendered DOM, its links are followed, the capture is what was served', async () => {
    const id = await run(crawler('/js', { scope: { maxDiscoveryDepth: 1 }, crawler: { renderingDelayMs: 300 } }));
    const crawl = await ended(id);
    const rows = await pagesOf(id);
    assert.deepEqual(statuses(rows), { '/js': 'done', '/js/link': 'done' });
    assert.equal(crawl.stop_reason, 'no_more_urls');
    const doc = byPath(rows).get('/js')!.document!;
    assert.match(doc.content!.html!, /<p id="late">rendered by script<\/p>/);
    assert.match(doc.content!.text!, /rendered by script/);
    assert.equal(doc.metadata.statusCode, 200);
    const cap = (await captures(id)).find((c) => c.url === `${site.origin}/js`)!;
    assert.equal(cap.body.toString(), site.served('/js'), "the main document's body as Chromium got it");
    assert.deepEqual([cap.status_code, cap.status_text, cap.response_headers['x-site']], [200, 'OK', 'loopback']);
    assert.equal(cap.request_headers['user-agent'], UA);
    const requests = site.log.filter((e) => e.path === '/js');
    assert.ok(requests.length >= 1 && requests.every((e) => e.userAgent === UA));
  });
});
