// The crawl activities on their own (MockActivityEnvironment): a real
// loopback site fetched through the address-guarded client, real rows and
// real capture slots in a fresh database; the recording Temporal fake stands
// in for the events workflow's signal-with-start.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createCrawlActivities, type CrawlActivities } from '../../activities/crawl';
import { canonicalUrl } from '../../src/crawl/urls';
import { withTransaction } from '../../src/db/pool';
import { getCrawl, insertCrawl } from '../../src/db/repositories/crawls';
import { getPage } from '../../src/db/repositories/crawlPages';
import type { Crawl, PageDocument } from '../../src/db/rows';
import type { CrawlOptions } from '../../src/shared/contracts/crawl';
import { CRAWLER_EVENTS, crawlEventsWorkflowId, crawlPageHolder, crawlWorkflowId } from '../../src/shared/names';
import { eventsAppendedSignal, slotGrantedSignal } from '../../src/shared/workflowApi';
import { quietActivityEnv, runIn, startActivityHarness, type ActivityHarness } from '../helpers/activityHarness';
import { html, Loopback, routes, send, type LoopbackServer } from '../helpers/loopback';

const OPTIONS: CrawlOptions = {
  scope: {},
  formats: ['markdown'],
  onlyMainContent: false,
  ignoreRobotsTxt: false,
  sitemap: 'skip',
  ignoreQueryParameters: false,
  maxConcurrency: null,
  robotsUserAgent: null,
  headers: {},
  timeoutMs: null,
};

describe('crawl activities', () => {
  let h: ActivityHarness;
  let acts: CrawlActivities;
  const loopback = new Loopback();
  let site: LoopbackServer;
  before(async () => {
    h = await startActivityHarness();
    acts = createCrawlActivities(h.deps);
    site = await loopback.server(
      routes({
        '/robots.txt': send(200, 'User-agent: *\nDisallow: /private\n', { 'content-type': 'text/plain' }),
        '/': html(
          '<html><head><title>Home</title></head><body><h1>Welcome</h1><a href="/about">about</a><a href="/private/x">hidden</a></body></html>',
        ),
        '/about': html('<html><head><title>About</title></head><body>about us</body></html>'),
        '/private/x': html('<html><body>secret</body></html>'),
        '/slow': (_req, res) => {
          setTimeout(() => html('<html><head><title>Slow</title></head><body>late</body></html>')(_req, res), 1600).unref();
        },
        '/hang': () => undefined,
      }),
    );
  });
  after(async () => {
    await loopback.close();
    await h?.close();
  });

  /** A crawl of `path` on the site whose webhook wants every event, with its start page in the frontier. */
  const newCrawl = async (path = '/', options: Partial<CrawlOptions> = {}): Promise<Crawl> => {
    const id = randomUUID();
    const url = `${site.origin}${path}`;
    await withTransaction(h.database.pool, (c) =>
      insertCrawl(
        c,
        {
          id,
          project_id: h.project.id,
          env: 'live',
          kind: 'crawl',
          api_version: 2,
          url,
          options: { ...OPTIONS, ...options },
          webhook: { url: 'https://127.0.0.1:9/hook', headers: {}, metadata: { run: 'acttest' }, events: ['started', 'page', 'completed', 'failed'] },
          page_limit: 10,
          expires_at: new Date(Date.now() + 3600_000),
        },
        [{ url, canonical: canonicalUrl(url)!, depth: 0 }],
      ),
    );
    return (await getCrawl(h.database.pool, id))!;
  };
  const pagesOf = async (crawlId: string) =>
    (
      await h.database.pool.query<{
        id: number;
        url: string;
        status: string;
        status_code: number | null;
        document: PageDocument | null;
        error: string | null;
      }>('SELECT id, url, status, status_code, document, error FROM crawl_pages WHERE crawl_id = $1 ORDER BY id', [crawlId])
    ).rows;
  const eventsOf = async (crawlId: string) =>
    (
      await h.database.pool.query<{ seq: number; event: string; body: Buffer }>(
        'SELECT seq, event, body FROM crawl_events WHERE crawl_id = $1 ORDER BY seq',
        [crawlId],
      )
    ).rows.map((e) => ({ seq: e.seq, event: e.event, body: JSON.parse(e.body.toString()) as Record<string, unknown> }));
  /** The signal-with-starts the crawl's events workflow got, as their `upTo`s. */
  const announced = (crawlId: string, from = 0) =>
    h.temporal.calls.slice(from).flatMap((c) => {
      if (c.kind !== 'signalWithStart' || c.workflowId !== crawlEventsWorkflowId(crawlId)) return [];
      assert.equal(c.workflowType, 'crawlEventsWorkflow');
      assert.equal(c.signal, eventsAppendedSignal.name);
      return c.signalArgs as Array<{ upTo: number }>;
    });
  const leases = async (holder: string) =>
    (
      await h.database.pool.query('SELECT 1 FROM capture_leases WHERE holder = $1 UNION ALL SELECT 1 FROM capture_waiters WHERE holder = $1', [
        holder,
      ])
    ).rowCount;

  it('seedCrawl stores the started event once and announces it', async () => {
    const crawl = await newCrawl();
    const from = h.temporal.calls.length;
    const env = new MockActivityEnvironment();
    await runIn(env, acts.seedCrawl, { crawlId: crawl.id });
    await runIn(env, acts.seedCrawl, { crawlId: crawl.id });
    const events = await eventsOf(crawl.id);
    assert.deepEqual(
      events.map((e) => e.event),
      ['crawl.started'],
    );
    assert.equal(events[0]!.body.id, crawl.id);
    assert.deepEqual(events[0]!.body.metadata, { run: 'acttest' });
    assert.deepEqual(announced(crawl.id, from), [{ upTo: 0 }], 'a second seed stores nothing and announces nothing');
  });

  it('crawlPage fetches the page, stores its document and page event, adds its allowed links, and frees the slot', async () => {
    const crawl = await newCrawl();
    await runIn(new MockActivityEnvironment(), acts.seedCrawl, { crawlId: crawl.id });
    const [pageId] = await runIn(new MockActivityEnvironment(), acts.claimCrawlPages, { crawlId: crawl.id, max: 5, inFlight: [] });
    assert.ok(pageId !== undefined);
    const from = h.temporal.calls.length;
    const hitsBefore = site.hits('/');

    const outcome = await runIn(new MockActivityEnvironment(), acts.crawlPage, { crawlId: crawl.id, pageId });
    assert.deepEqual(outcome, { queued: false, eventSeq: 1 });
    assert.equal(site.hits('/'), hitsBefore + 1);

    const pages = await pagesOf(crawl.id);
    assert.equal(pages[0]!.status, 'done');
    assert.equal(pages[0]!.status_code, 200);
    assert.equal(pages[0]!.document!.metadata.title, 'Home');
    assert.equal(pages[0]!.document!.metadata.sourceURL, `${site.origin}/`);
    assert.match(pages[0]!.document!.markdown ?? '', /Welcome/);
    // /about joins the frontier; /private/x is disallowed by robots.txt and does not.
    assert.deepEqual(
      pages.slice(1).map((p) => [p.url, p.status]),
      [[`${site.origin}/about`, 'pending']],
    );

    const events = await eventsOf(crawl.id);
    assert.deepEqual(
      events.map((e) => [e.seq, e.event]),
      [
        [0, 'crawl.started'],
        [1, 'crawl.page'],
      ],
    );
    assert.equal(events[1]!.body.success, true);
    assert.equal((events[1]!.body.data as PageDocument).metadata.title, 'Home');
    assert.deepEqual(announced(crawl.id, from), [{ upTo: 1 }]);

    const after = (await getCrawl(h.database.pool, crawl.id))!;
    assert.equal(after.total, 2);
    assert.equal(after.completed, 1);
    assert.equal(after.credits_used, 1);
    assert.equal(await leases(crawlPageHolder(crawl.id, pageId)), 0, 'the capture slot is released after the fetch');

    // The page is finished: a repeat (the activity retried after its commit) fetches nothing.
    assert.deepEqual(await runIn(new MockActivityEnvironment(), acts.crawlPage, { crawlId: crawl.id, pageId }), { queued: false, eventSeq: null });
    assert.equal(site.hits('/'), hitsBefore + 1);
  });

  it('crawlPage answers queued, fetching nothing, while the project has no free slot', async () => {
    const crawl = await newCrawl('/about');
    const [pageId] = await runIn(new MockActivityEnvironment(), acts.claimCrawlPages, { crawlId: crawl.id, max: 1, inFlight: [] });
    // FREE allows one capture at a time: someone else holds it.
    assert.equal(await h.deps.slots.acquire(h.project, 'someone-else', false), 'granted');
    try {
      const hitsBefore = site.hits('/about');
      assert.deepEqual(await runIn(new MockActivityEnvironment(), acts.crawlPage, { crawlId: crawl.id, pageId: pageId! }), {
        queued: true,
        eventSeq: null,
      });
      assert.equal(site.hits('/about'), hitsBefore);
      assert.equal((await getPage(h.database.pool, pageId!))!.status, 'running');
      assert.equal(await leases(crawlPageHolder(crawl.id, pageId!)), 1, 'the page waits in the line');
    } finally {
      await h.deps.slots.release(h.project, 'someone-else');
    }
    assert.deepEqual(
      h.temporal.calls.filter((c) => c.kind === 'signal' && c.workflowId === crawlWorkflowId(crawl.id)),
      [{ kind: 'signal', workflowId: crawlWorkflowId(crawl.id), signal: slotGrantedSignal.name }],
      'the release wakes the crawl whose page was next in line',
    );
    // The line's first in is granted the freed slot, and the page is fetched on the next call.
    assert.deepEqual(await runIn(new MockActivityEnvironment(), acts.crawlPage, { crawlId: crawl.id, pageId: pageId! }), {
      queued: false,
      eventSeq: 0,
    });
    assert.equal((await getPage(h.database.pool, pageId!))!.status, 'done');
  });

  it('crawlPage stores a robots.txt refusal as a failed page, without fetching it', async () => {
    const crawl = await newCrawl('/private/x');
    const [pageId] = await runIn(new MockActivityEnvironment(), acts.claimCrawlPages, { crawlId: crawl.id, max: 1, inFlight: [] });
    const hitsBefore = site.hits('/private/x');
    await runIn(new MockActivityEnvironment(), acts.crawlPage, { crawlId: crawl.id, pageId: pageId! });
    assert.equal(site.hits('/private/x'), hitsBefore);
    const [page] = await pagesOf(crawl.id);
    assert.equal(page!.status, 'failed');
    assert.equal(page!.error, 'robots.txt disallows this page');
    const [event] = await eventsOf(crawl.id);
    assert.equal(event!.event, 'crawl.page');
    assert.equal(event!.body.success, false);
    assert.equal(event!.body.error, 'robots.txt disallows this page');
  });

  it('crawlPage heartbeats while a slow page loads', async () => {
    const crawl = await newCrawl('/slow');
    const [pageId] = await runIn(new MockActivityEnvironment(), acts.claimCrawlPages, { crawlId: crawl.id, max: 1, inFlight: [] });
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    await runIn(env, acts.crawlPage, { crawlId: crawl.id, pageId: pageId! });
    assert.ok(beats >= 1, `a 1.6 s fetch heartbeats every second (got ${beats})`);
    assert.equal((await pagesOf(crawl.id))[0]!.document!.metadata.title, 'Slow');
  });

  it('a cancelled crawlPage ends as cancelled: nothing stored, the slot released', async () => {
    const crawl = await newCrawl('/hang');
    const [pageId] = await runIn(new MockActivityEnvironment(), acts.claimCrawlPages, { crawlId: crawl.id, max: 1, inFlight: [] });
    const env = quietActivityEnv();
    const running = runIn(env, acts.crawlPage, { crawlId: crawl.id, pageId: pageId! });
    const holder = crawlPageHolder(crawl.id, pageId!);
    // Cancel once the fetch is in flight (the slot is taken just before it).
    const deadline = Date.now() + 10_000;
    while (site.hits('/hang') === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    env.cancel();
    await assert.rejects(running, (err) => err instanceof CancelledFailure);
    const [page] = await pagesOf(crawl.id);
    assert.equal(page!.status, 'running', 'a cancelled fetch is not a finished page');
    assert.equal(page!.document, null);
    assert.deepEqual(await eventsOf(crawl.id), []);
    assert.equal(await leases(holder), 0);
  });

  it('failCrawlPage stores the worker-side failure and its page event', async () => {
    const crawl = await newCrawl('/about');
    const [pageId] = await runIn(new MockActivityEnvironment(), acts.claimCrawlPages, { crawlId: crawl.id, max: 1, inFlight: [] });
    const from = h.temporal.calls.length;
    await runIn(new MockActivityEnvironment(), acts.failCrawlPage, { crawlId: crawl.id, pageId: pageId!, error: 'worker lost' });
    const [page] = await pagesOf(crawl.id);
    assert.equal(page!.status, 'failed');
    assert.equal(page!.error, 'the page could not be fetched after retries: worker lost');
    assert.deepEqual(announced(crawl.id, from), [{ upTo: 0 }]);
  });

  it('endCrawl completes a crawl that scraped something and fails one that did not, with the terminal event', async () => {
    const good = await newCrawl('/about');
    const [pageId] = await runIn(new MockActivityEnvironment(), acts.claimCrawlPages, { crawlId: good.id, max: 1, inFlight: [] });
    await runIn(new MockActivityEnvironment(), acts.crawlPage, { crawlId: good.id, pageId: pageId! });
    const from = h.temporal.calls.length;
    assert.equal(await runIn(new MockActivityEnvironment(), acts.endCrawl, { crawlId: good.id }), 'completed');
    const ev = (await eventsOf(good.id)).at(-1)!;
    assert.equal(ev.event, 'crawl.completed');
    assert.deepEqual([ev.body.total, ev.body.completed, ev.body.creditsUsed], [1, 1, 1]);
    assert.deepEqual(announced(good.id, from), [{ upTo: ev.seq }]);

    const bad = await newCrawl('/private/x');
    const [badPage] = await runIn(new MockActivityEnvironment(), acts.claimCrawlPages, { crawlId: bad.id, max: 1, inFlight: [] });
    await runIn(new MockActivityEnvironment(), acts.crawlPage, { crawlId: bad.id, pageId: badPage! });
    assert.equal(await runIn(new MockActivityEnvironment(), acts.endCrawl, { crawlId: bad.id }), 'failed');
    const row = (await getCrawl(h.database.pool, bad.id))!;
    assert.equal(row.status, 'failed');
    assert.equal(row.error, 'robots.txt disallows this page');
    assert.equal((await eventsOf(bad.id)).at(-1)!.event, 'crawl.failed');
  });

  /** A Scrapfly crawler of `path` with a named webhook that wants every event. */
  const newCrawler = async (path: string): Promise<Crawl> => {
    const id = randomUUID();
    const url = `${site.origin}${path}`;
    const options: CrawlOptions = {
      ...OPTIONS,
      formats: [],
      scope: { pathSyntax: 'wildcard', crawlEntireDomain: true },
      userAgent: 'ActBot/2.0',
      crawler: {
        formats: ['markdown', 'page_metadata'],
        events: [...CRAWLER_EVENTS],
        discover: true,
        maxDurationMs: 900_000,
        delayMs: 0,
        renderingDelayMs: 0,
        ignoreNoFollow: false,
        seedUrl: url,
        projectName: 'acttest',
        apiBase: 'http://127.0.0.1:9',
      },
    };
    await withTransaction(h.database.pool, (c) =>
      insertCrawl(
        c,
        {
          id,
          project_id: h.project.id,
          env: 'live',
          kind: 'crawler',
          api_version: 0 as Crawl['api_version'],
          url,
          options,
          webhook: null,
          webhook_name: 'named',
          page_limit: 10,
          expires_at: new Date(Date.now() + 3600_000),
        },
        [{ url, canonical: canonicalUrl(url)!, depth: 0 }],
      ),
    );
    return (await getCrawl(h.database.pool, id))!;
  };
  const claimOne = async (crawlId: string) =>
    (await runIn(new MockActivityEnvironment(), acts.claimCrawlPages, { crawlId, max: 1, inFlight: [] }))[0]!;
  const payload = (e: { body: Record<string, unknown> }) => e.body.payload as Record<string, any>;

  it("a crawler's page: its formats, its exchange, what it found and what it skipped, as Scrapfly events", async () => {
    const crawl = await newCrawler('/');
    await runIn(new MockActivityEnvironment(), acts.seedCrawl, { crawlId: crawl.id });
    const pageId = await claimOne(crawl.id);
    await runIn(new MockActivityEnvironment(), acts.crawlPage, { crawlId: crawl.id, pageId });
    const pages = await pagesOf(crawl.id);
    assert.deepEqual(
      pages.map((p) => [p.url.slice(site.origin.length), p.status, p.error]),
      [
        ['/', 'done', null],
        ['/about', 'pending', null],
        ['/private/x', 'skipped', 'robots_txt'],
      ],
    );
    assert.deepEqual(Object.keys(pages[0]!.document!.content!).sort(), ['markdown', 'page_metadata']);
    assert.equal(pages[0]!.document!.markdown, undefined, 'no Firecrawl format was asked for');
    const events = await eventsOf(crawl.id);
    assert.deepEqual(
      events.map((e) => e.event),
      ['crawler_started', 'crawler_url_visited', 'crawler_url_discovered', 'crawler_url_skipped'],
    );
    assert.match(payload(events[1]!).scrape.content.markdown, /Welcome/);
    assert.deepEqual(payload(events[2]!).discovered_urls, [`${site.origin}/about`]);
    assert.deepEqual(payload(events[3]!).urls, { [`${site.origin}/private/x`]: 'robots_txt' });
    const { rows } = await h.database.pool.query('SELECT status_code, status_text, request_headers FROM crawl_page_captures WHERE page_id = $1', [
      pageId,
    ]);
    assert.deepEqual([rows[0].status_code, rows[0].status_text, rows[0].request_headers['user-agent']], [200, 'OK', 'ActBot/2.0']);
  });

  it('a crawler page robots.txt forbids fails with ERR::CRAWLER::ROBOTS_DISALLOWED, a worker-side failure with PAGE_FAILED', async () => {
    const refused = await newCrawler('/private/x');
    await runIn(new MockActivityEnvironment(), acts.crawlPage, { crawlId: refused.id, pageId: await claimOne(refused.id) });
    const [page] = await pagesOf(refused.id);
    assert.deepEqual(
      [page!.status, page!.error, page!.document!.metadata.errorCode],
      ['failed', 'robots.txt disallows this page', 'ERR::CRAWLER::ROBOTS_DISALLOWED'],
    );
    const [failed] = await eventsOf(refused.id);
    assert.deepEqual([failed!.event, payload(failed!).error], ['crawler_url_failed', 'ERR::CRAWLER::ROBOTS_DISALLOWED']);

    const lost = await newCrawler('/about');
    await runIn(new MockActivityEnvironment(), acts.failCrawlPage, { crawlId: lost.id, pageId: await claimOne(lost.id), error: 'worker lost' });
    assert.equal(payload((await eventsOf(lost.id))[0]!).error, 'ERR::CRAWLER::PAGE_FAILED');
  });

  it('endCrawl gives a crawler its stop reason: seed_url_failed when no page was ok, max_duration when time ran out', async () => {
    const bad = await newCrawler('/private/x');
    await runIn(new MockActivityEnvironment(), acts.crawlPage, { crawlId: bad.id, pageId: await claimOne(bad.id) });
    assert.equal(await runIn(new MockActivityEnvironment(), acts.endCrawl, { crawlId: bad.id }), 'failed');
    const badRow = (await getCrawl(h.database.pool, bad.id))!;
    assert.deepEqual([badRow.status, badRow.stop_reason], ['failed', 'seed_url_failed']);
    assert.equal((await eventsOf(bad.id)).at(-1)!.event, 'crawler_stopped');

    const slow = await newCrawler('/');
    await runIn(new MockActivityEnvironment(), acts.crawlPage, { crawlId: slow.id, pageId: await claimOne(slow.id) });
    assert.equal(await runIn(new MockActivityEnvironment(), acts.endCrawl, { crawlId: slow.id, timedOut: true }), 'completed');
    const slowRow = (await getCrawl(h.database.pool, slow.id))!;
    assert.deepEqual([slowRow.status, slowRow.stop_reason], ['completed', 'max_duration']);
    assert.equal((await pagesOf(slow.id)).find((p) => p.url.endsWith('/about'))!.error, 'max_duration', 'found, never fetched');
    assert.equal((await eventsOf(slow.id)).at(-1)!.event, 'crawler_finished');
  });
});
