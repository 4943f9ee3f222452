// Crawls and batch scrapes end to end, as a Firecrawl user sees them: the
// official SDK against the whole service (real Temporal, PostgreSQL), a
// loopback site of about 240 pages, and an HTTPS receiver trusted through
// NODE_EXTRA_CA_CERTS. Events are checked for order, signature (by an
// independent verifier), headers, metadata and retries.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startCrawlSite, type CrawlSite } from '../helpers/crawlSite';
import { startHttpsReceiver } from '../helpers/httpsReceiver';
import { verifyFirecrawlWithPython } from '../helpers/verify';
import type { Received, Responder } from '../helpers/receiver';
import { until } from '../helpers/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Firecrawl, FirecrawlAppV1 } = require('@mendable/firecrawl-js');

type Receiver = Awaited<ReturnType<typeof startHttpsReceiver>>;
const body = (r: Received) => JSON.parse(r.body.toString('utf8'));
const whenTrue = (cond: () => boolean | Promise<boolean>, ms = 120_000) => until(async () => ((await cond()) ? true : undefined), ms, 50);

/** Events of one crawl, in arrival order (first attempts and retries alike). */
const eventsOf = (rx: Receiver, id: string) => rx.received.filter((r) => body(r).id === id);
const terminal = (rx: Receiver, id: string) => eventsOf(rx, id).some((r) => /\.(completed|failed)$/.test(body(r).event));

describe('crawl and batch scrape with Firecrawl-style events', () => {
  let hs: TestHookshot;
  let site: CrawlSite;
  let secret: string;
  before(async () => {
    site = await startCrawlSite({ slowMs: 300 });
    hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '100ms,100ms', WEBHOOK_RETRY_JITTER: '0', CRAWL_PAGE_CONCURRENCY: '4' });
    secret = (await hs.api('/account', { key: hs.keys.live })).body.event_signing_secret;
    assert.match(secret, /^[0-9a-f]{64}$/);
  });
  after(async () => {
    await hs?.close();
    await site?.close();
  });

  it('v2 crawl: every in-scope page once, events in order, signed, with headers and metadata', async () => {
    // The first attempt of one page event fails: it is retried with the same bytes and webhookId.
    let failedOnce: string | null = null;
    const respond: Responder = (r) => {
      const e = body(r);
      if (e.type === 'crawl.page' && failedOnce === null) {
        failedOnce = e.webhookId;
        return { status: 503 };
      }
      return { status: 200 };
    };
    const rx = await startHttpsReceiver(respond);
    try {
      const fc = new Firecrawl({ apiKey: hs.keys.live, apiUrl: hs.apiUrl });
      const started = await fc.startCrawl(site.url, {
        limit: 1000,
        scrapeOptions: { formats: ['markdown', 'links'] },
        webhook: { url: `${rx.url}/hook`, headers: { Authorization: 'Bearer receiver-token' }, metadata: { user_id: '12345', run: 'e2e' } },
      });
      assert.match(started.id, /^[0-9a-f-]{36}$/);
      await whenTrue(() => terminal(rx, started.id));

      // Pages: exactly the site's crawlable set; robots.txt, the other host and files are left alone.
      const fetched = site.fetchedPages();
      assert.deepEqual([...fetched].sort(), [...site.expected.pages].sort());
      // Once each; a redirect's target is also reached through the redirect.
      for (const path of fetched) if (path !== site.paths.redirectTarget) assert.equal(site.hits.get(path) ?? 1, 1, `${path} fetched once`);
      assert.ok(![...site.log].some((e) => e.path.startsWith('/private/')), 'robots.txt disallowed paths never fetched');
      assert.ok(!site.log.some((e) => e.host.startsWith('localhost')), 'another host is external by default');

      // Status through the SDK (it follows `next` until the last page).
      const status = await fc.getCrawlStatus(started.id);
      assert.equal(status.status, 'completed');
      assert.equal(status.total, site.expected.pages.size);
      assert.equal(status.completed, status.total);
      assert.equal(status.data.length, status.total);
      const home = status.data.find((d: any) => d.metadata.sourceURL === site.url);
      assert.ok(home?.markdown?.length > 0 && Array.isArray(home.links), 'formats asked for are present');
      assert.equal(home.html, undefined, 'formats not asked for are absent');

      // Events: started first; one first-attempt page event per page; the terminal one last.
      const events = eventsOf(rx, started.id).map((r) => ({ r, e: body(r) }));
      assert.equal(events[0]!.e.type, 'crawl.started');
      assert.equal(events.at(-1)!.e.type, 'crawl.completed');
      const pageIds = new Set(events.filter(({ e }) => e.type === 'crawl.page').map(({ e }) => e.webhookId));
      assert.equal(pageIds.size, site.expected.pages.size);
      const last = events.at(-1)!.e;
      assert.equal(last.status, 'completed');
      assert.equal(last.total, site.expected.pages.size);
      assert.equal(last.completed, site.expected.pages.size);
      for (const { r, e } of events) {
        assert.equal(e.event, e.type);
        assert.equal(e.id, started.id);
        assert.deepEqual(e.metadata, { user_id: '12345', run: 'e2e' });
        assert.ok(!Number.isNaN(Date.parse(e.timestamp)));
        assert.equal(r.headers.authorization, 'Bearer receiver-token');
        assert.equal(r.headers['content-type'], 'application/json');
        assert.equal(r.url, '/hook');
      }
      // The independent verifier accepts a sample of signatures (each is a Python process).
      for (const { r } of [events[0]!, events[5]!, events.at(-1)!]) {
        const v = await verifyFirecrawlWithPython(secret, r.body, String(r.headers['x-firecrawl-signature']));
        assert.ok(v.ok, v.output);
      }
      // The retried event: same webhookId, same bytes.
      const copies = events.filter(({ e }) => e.webhookId === failedOnce);
      assert.equal(copies.length, 2, 'the failed page event came again');
      assert.ok(copies[0]!.r.body.equals(copies[1]!.r.body));
      // A failed page is a page event with success false and data.metadata.error.
      const broken = events.find(({ e }) => e.type === 'crawl.page' && e.data.metadata.sourceURL.endsWith(site.paths.error));
      assert.equal(broken?.e.success, false);
      assert.match(broken!.e.data.metadata.error, /500/);
    } finally {
      await rx.close();
    }
  });

  it('a webhook given as a string gets every event; limit caps the pages', async () => {
    const rx = await startHttpsReceiver();
    try {
      const fc = new Firecrawl({ apiKey: hs.keys.live, apiUrl: hs.apiUrl });
      const started = await fc.startCrawl(site.url, { limit: 15, sitemap: 'skip', webhook: `${rx.url}/fast` });
      await whenTrue(() => terminal(rx, started.id));
      const types = eventsOf(rx, started.id).map((r) => body(r).type);
      assert.equal(types[0], 'crawl.started');
      assert.equal(types.at(-1), 'crawl.completed');
      assert.equal(types.filter((t) => t === 'crawl.page').length, 15);
    } finally {
      await rx.close();
    }
  });

  it('v1 batch scrape through the SDK waiter (it polls /v1/crawl/<id>), with batch_scrape events', async () => {
    const rx = await startHttpsReceiver();
    try {
      const v1 = new FirecrawlAppV1({ apiKey: hs.keys.live, apiUrl: hs.apiUrl });
      const urls = ['/', '/p/1', '/p/2', site.paths.docs[1]!].map((p) => new URL(p, site.url).toString());
      const res = await v1.batchScrapeUrls(urls, { formats: ['markdown', 'html'] }, 2, undefined, { url: rx.url, events: ['started', 'completed'] });
      assert.equal(res.success, true);
      assert.equal(res.status, 'completed');
      assert.equal(res.data.length, 4);
      assert.ok(res.data.every((d: any) => typeof d.markdown === 'string' && typeof d.html === 'string'));
      const id = body(rx.received[0]!).id;
      await whenTrue(() => terminal(rx, id));
      assert.deepEqual(
        eventsOf(rx, id).map((r) => body(r).type),
        ['batch_scrape.started', 'batch_scrape.completed'],
        'the events filter holds',
      );
    } finally {
      await rx.close();
    }
  });

  it('v1 crawl through the SDK waiter: ignoreRobotsTxt and includePaths as asked', async () => {
    const own = await startCrawlSite({ pages: 20 });
    try {
      const v1 = new FirecrawlAppV1({ apiKey: hs.keys.live, apiUrl: `${hs.apiUrl}/` });
      const res = await v1.crawlUrl(
        own.url,
        { includePaths: ['^/private/'], ignoreRobotsTxt: true, ignoreSitemap: true, scrapeOptions: { formats: ['rawHtml'] } },
        2,
      );
      assert.equal(res.status, 'completed');
      const fetched = [...own.fetchedPages()].sort();
      assert.ok(fetched.length > 1 && fetched.every((p) => p === '/' || p.startsWith('/private/')), fetched.join(' '));
      assert.deepEqual(fetched, [...own.expectedPaths({ robots: false, sitemap: false, follow: (p) => p.startsWith('/private/') }).pages].sort());
      assert.ok(!own.log.some((e) => e.path === '/sitemap.xml'), 'ignoreSitemap: not read');
      assert.ok(res.data.every((d: any) => typeof d.rawHtml === 'string' && d.markdown === undefined));
    } finally {
      await own.close();
    }
  });

  it('an unreachable receiver never holds up the crawl; its attempts are logged', async () => {
    const fc = new Firecrawl({ apiKey: hs.keys.live, apiUrl: hs.apiUrl });
    const urls = ['/p/1', '/p/2', '/p/3'].map((p) => new URL(p, site.url).toString());
    const started = await fc.startBatchScrape(urls, { webhook: 'https://127.0.0.1:9/closed' });
    await whenTrue(async () => (await fc.getBatchScrapeStatus(started.id)).status === 'completed', 30_000);
    await whenTrue(async () => {
      const { rows } = await hs.database.pool.query(
        `SELECT count(DISTINCT a.event_id)::int AS n FROM delivery_attempts a JOIN crawl_events e ON e.id = a.event_id
          WHERE e.crawl_id = $1 AND a.attempt = 1 AND a.error_code = 'ERR::WEBHOOK::ENDPOINT_UNREACHABLE'`,
        [started.id],
      );
      return rows[0].n === 5; // started, three pages, completed
    }, 30_000);
  });

  it('cancel stops new fetches at once and ends with crawl.failed "cancelled"', async () => {
    const rx = await startHttpsReceiver();
    const held = await startCrawlSite({ hold: true });
    try {
      const fc = new Firecrawl({ apiKey: hs.keys.live, apiUrl: hs.apiUrl });
      const started = await fc.startCrawl(held.url, { limit: 500, webhook: { url: rx.url } });
      await held.waitForInFlight(1);
      assert.equal(await fc.cancelCrawl(started.id), true);
      const after = held.log.length;
      held.release();
      await whenTrue(() => terminal(rx, started.id));
      const last = body(eventsOf(rx, started.id).at(-1)!);
      assert.equal(last.type, 'crawl.failed');
      assert.equal(last.error, 'cancelled');
      const status = await fc.getCrawlStatus(started.id);
      assert.equal(status.status, 'cancelled');
      // Only what was in flight (and its robots/sitemap reads) was fetched after the cancel.
      assert.ok(held.log.length - after <= 6, `${held.log.length - after} requests after the cancel`);
    } finally {
      await rx.close();
      await held.close();
    }
  });

  it('a start URL the address guard refuses: crawl.failed with the reason, no request leaves', async () => {
    const rx = await startHttpsReceiver();
    try {
      const fc = new Firecrawl({ apiKey: hs.keys.live, apiUrl: hs.apiUrl });
      // 127.0.0.2 is loopback outside SCRAPE_ALLOWED_CIDRS (127.0.0.1/32): refused before connecting.
      const started = await fc.startCrawl('http://127.0.0.2:9/', { webhook: rx.url });
      await whenTrue(() => terminal(rx, started.id));
      const last = body(eventsOf(rx, started.id).at(-1)!);
      assert.equal(last.type, 'crawl.failed');
      assert.match(last.error, /address guard|refused/);
    } finally {
      await rx.close();
    }
  });

  it('pages count against the plan concurrency: at most C fetches at once', async () => {
    await hs.api('/admin/projects/default', { method: 'PATCH', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, json: { concurrency: 2 } });
    const slowSite = await startCrawlSite({ holdMs: 60 });
    try {
      const fc = new Firecrawl({ apiKey: hs.keys.live, apiUrl: hs.apiUrl });
      const a = await fc.startCrawl(slowSite.url, { limit: 12, sitemap: 'skip' });
      const b = await fc.startCrawl(slowSite.url, { limit: 12, sitemap: 'skip' });
      for (const id of [a.id, b.id]) await whenTrue(async () => (await fc.getCrawlStatus(id)).status === 'completed');
      assert.ok(slowSite.peakInFlight <= 2, `peak ${slowSite.peakInFlight}`);
      assert.equal(slowSite.peakInFlight, 2, 'both slots were used');
      const held = await hs.database.pool.query('SELECT count(*)::int AS n FROM capture_leases');
      assert.equal(held.rows[0].n, 0, 'no slot left behind');
    } finally {
      await hs.api('/admin/projects/default', { method: 'PATCH', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, json: { concurrency: null } });
      await slowSite.close();
    }
  });

  it('rotating the event secret signs later events with the new one', async () => {
    const rotated = await hs.api('/account/rotate-event-secret', { method: 'POST', key: hs.keys.live });
    assert.equal(rotated.status, 200);
    const fresh = rotated.body.event_signing_secret;
    assert.notEqual(fresh, secret);
    const rx = await startHttpsReceiver();
    try {
      const fc = new Firecrawl({ apiKey: hs.keys.live, apiUrl: hs.apiUrl });
      const started = await fc.startBatchScrape([site.url], { webhook: { url: rx.url, events: ['completed'] } });
      await whenTrue(() => terminal(rx, started.id));
      const r = eventsOf(rx, started.id)[0]!;
      assert.ok((await verifyFirecrawlWithPython(fresh, r.body, String(r.headers['x-firecrawl-signature']))).ok);
      assert.ok(!(await verifyFirecrawlWithPython(secret, r.body, String(r.headers['x-firecrawl-signature']))).ok);
      // The attempt log records it like a named webhook's, without the caller's secrets.
      const attempts = await hs.database.pool.query(
        'SELECT a.success, a.request_headers FROM delivery_attempts a JOIN crawl_events e ON e.id = a.event_id WHERE e.crawl_id = $1',
        [started.id],
      );
      assert.equal(attempts.rows.length, 1);
      assert.equal(attempts.rows[0].success, true);
    } finally {
      await rx.close();
    }
  });
});
