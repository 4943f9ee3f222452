// Scrapfly's Crawler API (SPEC section 13) through the official scrapfly-sdk
// 0.11.1, unchanged, pointed at Hookshot with its `host` option: starting
// crawlers (JSON and the multipart url_list), waiting, status, URLs by
// status, contents (JSON, plain, batch), cancel, and the SDK's error
// classes; then the wire itself, where the SDK hides it. Crawls run for real
// on the engine against a small loopback site.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Crawl, CrawlerConfig, CrawlerContents, errors, ScrapflyClient } from 'scrapfly-sdk';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { until } from '../helpers/wait';

/** Runs fn, which must throw; returns what it threw. */
async function thrown(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected an error');
}

function assertCrawlerError(err: any, status: number, code: string) {
  assert.ok(err instanceof errors.ScrapflyCrawlerError, `${err?.constructor?.name}: ${err?.message}`);
  assert.equal(err.args.http_status_code, status);
  assert.equal(err.args.code, code);
}

/**
 * The site: `/` links to /a and /b; /a, /b and /c are pages; /missing is a
 * 404; /hold/* answers only once released (a crawl that stays running).
 */
async function startSite() {
  const held: http.ServerResponse[] = [];
  const seen: string[] = [];
  let holding = true;
  const page = (title: string, links: string[] = []) =>
    `<!doctype html><html><head><title>${title}</title></head><body><h1>${title}</h1>${links.map((l) => `<a href="${l}">${l}</a>`).join(' ')}</body></html>`;
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    seen.push(path);
    const html = (body: string) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(body);
    };
    if (path === '/') return html(page('Home', ['/a', '/b']));
    if (path === '/a' || path === '/b' || path === '/c') return html(page(`Page ${path.slice(1)}`));
    if (path.startsWith('/hold/')) {
      if (holding) return void held.push(res);
      return html(page('Held'));
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not here');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    holds: () => seen.filter((p) => p.startsWith('/hold/')).length,
    release() {
      holding = false;
      for (const res of held.splice(0)) res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>Held</h1>');
    },
    async close() {
      this.release();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('Scrapfly Crawler API through the official SDK', () => {
  let hs: TestHookshot;
  let site: Awaited<ReturnType<typeof startSite>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let client: ScrapflyClient;
  let otherProjectKey: string;
  /** The seed crawl (test 1) and the url_list crawl (test 2), read again by later tests. */
  let seedCrawl: Crawl;
  let listCrawl: Crawl;

  const wait = (crawl: Crawl) => crawl.wait({ pollInterval: 0.2, maxWait: 120 });
  const raw = (path: string, init: Parameters<TestHookshot['api']>[1] = {}) => hs.api(path, { key: hs.keys.live, ...init });

  before(async () => {
    site = await startSite();
    receiver = await startReceiver(() => ({ status: 200 }));
    hs = await startTestHookshot();
    client = new ScrapflyClient({ key: hs.keys.live, host: hs.apiUrl });
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'other', plan: 'PRO' } });
    otherProjectKey = (await hs.api('/admin/projects/other/keys', { method: 'POST', headers: admin, json: { env: 'live' } })).body.key;
  });
  after(async () => {
    await hs?.close();
    await site?.close();
    await receiver?.close();
  });

  it('starts a crawler from a seed URL, waits for it, and reads its status: numbers from the first answer, DONE at the end', async () => {
    seedCrawl = new Crawl(client, new CrawlerConfig({ url: `${site.url}/`, page_limit: 10, content_formats: ['html', 'markdown'] }));
    await seedCrawl.start();
    assert.match(seedCrawl.uuid!, /^[0-9a-f-]{36}$/);
    const first = await client.crawlStatus(seedCrawl.uuid!);
    assert.equal(first.crawler_uuid, seedCrawl.uuid);
    assert.ok(['PENDING', 'RUNNING', 'DONE'].includes(first.status), first.status);
    assert.equal(typeof first.is_finished, 'boolean');
    for (const k of ['urls_visited', 'urls_extracted', 'urls_failed', 'urls_skipped', 'urls_to_crawl', 'api_credit_used', 'duration'] as const) {
      assert.equal(typeof first.state[k], 'number', k);
    }
    await wait(seedCrawl);
    const done = await seedCrawl.status();
    assert.equal(done.status, 'DONE');
    assert.equal(done.is_finished, true);
    assert.equal(done.is_success, true);
    assert.ok(done.isComplete);
    assert.equal(typeof done.state.start_time, 'number');
    assert.equal(typeof done.state.stop_time, 'number');
    assert.ok(done.state.stop_time! >= done.state.start_time!);
    assert.equal(typeof done.state.stop_reason, 'string');
    assert.ok(done.state.urls_visited >= 1);
    assert.ok(done.state.api_credit_used >= done.state.urls_visited, 'a fetched page costs one credit');
    const visited = await seedCrawl.urls({ status: 'visited' });
    assert.ok(
      visited.urls.some((u) => u.url === `${site.url}/`),
      JSON.stringify(visited.urls),
    );
    assert.ok(visited.urls.every((u) => u.status === 'visited' && u.reason === undefined));
  });

  it('starts a url_list crawler (multipart): the listed URLs only, a 404 failed with a code, one past page_limit skipped', async () => {
    const [a, b, missing, extra] = ['/a', '/b', '/missing', '/c'].map((p) => `${site.url}${p}`) as [string, string, string, string];
    listCrawl = new Crawl(client, new CrawlerConfig({ url_list: [a, b, missing, extra], page_limit: 3, content_formats: ['html', 'markdown'] }));
    await listCrawl.start();
    await wait(listCrawl);
    const visited = await listCrawl.urls({ status: 'visited' });
    assert.deepEqual(visited.urls.map((u) => u.url).sort(), [a, b]);
    const failed = await listCrawl.urls({ status: 'failed' });
    assert.deepEqual(
      failed.urls.map((u) => u.url),
      [missing],
    );
    assert.match(failed.urls[0]!.reason!, /^ERR::[A-Z_]+::[A-Z_]+$/);
    const skipped = await client.crawlUrls(listCrawl.uuid!, { status: 'skipped' });
    assert.deepEqual(
      skipped.urls.map((u) => [u.url, u.reason, u.status]),
      [[extra, 'page_limit', 'skipped']],
    );
    assert.deepEqual((await listCrawl.urls({ status: 'pending' })).urls, []);
    assert.ok(!site.seen.includes('/c'), 'the URL past the limit was never fetched');
    // No discovery: / was not listed, so nothing of the site's links was followed from here.
    const status = await listCrawl.status();
    assert.equal(status.state.urls_visited, 2);
    assert.equal(status.state.urls_failed, 1);
    assert.equal(status.state.urls_skipped, 1);
    assert.equal(status.state.urls_to_crawl, 3);
    assert.equal(status.state.urls_extracted, 4);

    // Paged: one URL a page, then an empty page (200, empty body) past the end.
    const p1 = await listCrawl.urls({ status: 'visited', page: 1, per_page: 1 });
    const p2 = await listCrawl.urls({ status: 'visited', page: 2, per_page: 1 });
    const p3 = await listCrawl.urls({ status: 'visited', page: 3, per_page: 1 });
    assert.deepEqual([p1.urls.length, p2.urls.length, p3.urls.length], [1, 1, 0]);
    assert.deepEqual([p1.page, p1.per_page], [1, 1]);
    assert.notEqual(p1.urls[0]!.url, p2.urls[0]!.url);
    const end = await raw(`/crawl/${listCrawl.uuid}/urls?status=visited&page=3&per_page=1`);
    assert.equal(end.status, 200);
    assert.equal(end.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(end.body, undefined, 'an empty body');
  });

  it('serves contents: JSON pages with links, plain content with its type, read() null for a miss, a batch keyed by the exact URLs', async () => {
    const uuid = listCrawl.uuid!;
    const [a, b] = [`${site.url}/a`, `${site.url}/b`];
    // The content the crawler stores for each format, written here so the
    // answers below are known exactly (whatever the engine's conversion makes of the pages).
    for (const [url, name] of [
      [a, 'A'],
      [b, 'B'],
    ] as const) {
      await hs.db.query(
        `UPDATE crawl_pages SET document = jsonb_set(document, '{content}', $3::jsonb) WHERE crawl_id = $1 AND url = $2 AND status = 'done'`,
        [uuid, url, JSON.stringify({ html: `<h1>${name}</h1>`, markdown: `# ${name}` })],
      );
    }

    const json = async (opts: Parameters<ScrapflyClient['crawlContents']>[1]) => {
      const out = await client.crawlContents(uuid, opts);
      assert.ok(out instanceof CrawlerContents);
      return out;
    };
    const all = await json({ format: 'markdown' });
    assert.deepEqual(all.contents, { [a]: { markdown: '# A' }, [b]: { markdown: '# B' } });
    assert.equal(all.links.crawled_urls, `${hs.apiUrl}/crawl/${uuid}/urls`);
    assert.equal(all.links.next, null);
    assert.equal(all.links.prev, null);
    const both = await json({ format: 'markdown,html' as 'markdown' });
    assert.deepEqual(both.contents[a], { markdown: '# A', html: '<h1>A</h1>' });

    const page1 = await json({ format: 'html', limit: 1 });
    assert.equal(Object.keys(page1.contents).length, 1);
    assert.match(page1.links.next!, new RegExp(`/crawl/${uuid}/contents\\?formats=html&offset=1&limit=1$`));
    assert.ok(!page1.links.next!.includes('key='), 'links carry no key');
    const page2 = await json({ format: 'html', limit: 1, offset: 1 });
    assert.equal(Object.keys(page2.contents).length, 1);
    assert.notDeepEqual(Object.keys(page2.contents), Object.keys(page1.contents));
    assert.equal(page2.links.next, null);
    assert.match(page2.links.prev!, /offset=0&limit=1$/);

    assert.equal(await listCrawl.read(a, 'markdown'), '# A');
    assert.equal(await listCrawl.read(a), '<h1>A</h1>', 'html by default');
    assert.equal(await listCrawl.read(`${site.url}/a#top`, 'markdown'), '# A', 'another spelling of the URL, by its canonical form');
    assert.equal(await listCrawl.read(`${site.url}/x/../a`, 'markdown'), '# A');
    assert.equal(await listCrawl.read(`${site.url}/never`, 'markdown'), null);
    assert.equal(await listCrawl.read(`${site.url}/missing`, 'markdown'), null, 'a failed page has no content');
    assert.equal(await seedCrawl.read(`${site.url}/never`), null);

    const plain = await raw(`/crawl/${uuid}/contents?formats=markdown&plain=true&url=${encodeURIComponent(a)}`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers.get('content-type'), 'text/markdown; charset=utf-8');
    assert.equal(plain.body, '# A');
    const htmlPlain = await raw(`/crawl/${uuid}/contents?format=html&plain=true&url=${encodeURIComponent(a)}`);
    assert.equal(htmlPlain.headers.get('content-type'), 'text/html; charset=utf-8');
    const miss = await raw(`/crawl/${uuid}/contents?formats=markdown&plain=true&url=${encodeURIComponent(`${site.url}/never`)}`);
    assert.equal(miss.status, 404);
    assert.equal(miss.headers.get('content-type'), 'application/json');
    assert.equal(miss.body.code, 'ERR::CRAWLER::NOT_FOUND');

    const variant = `${site.url}/a#frag`;
    const batch = await listCrawl.readBatch([a, variant, `${site.url}/never`, b], ['markdown', 'html']);
    assert.deepEqual(batch, {
      [a]: { markdown: '# A', html: '<h1>A</h1>' },
      [variant]: { markdown: '# A', html: '<h1>A</h1>' },
      [b]: { markdown: '# B', html: '<h1>B</h1>' },
    });
    const wire = await raw(`/crawl/${uuid}/contents/batch?formats=markdown`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: `${a}\r\n\r\n${site.url}/never\n`,
    });
    assert.equal(wire.status, 200);
    assert.match(wire.headers.get('content-type')!, /^multipart\/related; boundary=hookshot-[0-9a-f]{32}$/);
    assert.equal(wire.headers.get('x-scrapfly-requested-urls'), '2');
    assert.equal(wire.headers.get('x-scrapfly-found-urls'), '1');
    const boundary = /boundary=(\S+)/.exec(wire.headers.get('content-type')!)![1];
    assert.equal(
      wire.body,
      `--${boundary}\r\nContent-Type: text/markdown; charset=utf-8\r\nContent-Location: ${a}\r\n\r\n# A\r\n--${boundary}--\r\n`,
    );
    const none = await client.crawlContentsBatch(uuid, [`${site.url}/never`], ['markdown']);
    assert.deepEqual(none, {});

    // A format the crawler does not store, and the SDK's `formats=undefined` when a caller gives none.
    assertCrawlerError(await thrown(() => client.crawlContents(uuid, { format: 'text' })), 400, 'ERR::CRAWLER::CONFIG_ERROR');
    assertCrawlerError(await thrown(() => client.crawlContents(uuid, {} as { format: 'html' })), 400, 'ERR::CRAWLER::CONFIG_ERROR');
    assertCrawlerError(await thrown(() => listCrawl.readBatch([a], ['text'])), 400, 'ERR::CRAWLER::CONFIG_ERROR');
  });

  it('cancels a running crawler: CANCELLED at once, no fetch after it, unfetched URLs skipped; a second cancel is still true', async () => {
    const holds = ['/hold/1', '/hold/2', '/hold/3'].map((p) => `${site.url}${p}`);
    const crawl = new Crawl(client, new CrawlerConfig({ url_list: holds, max_concurrency: 1 }));
    await crawl.start();
    await until(async () => (site.holds() >= 1 ? true : undefined));
    const running = await crawl.status();
    assert.equal(running.status, 'RUNNING');
    const pending = await crawl.urls({ status: 'pending' });
    assert.equal(pending.urls.length, 3, 'the page in flight is not fetched yet either');

    const fetchedBefore = site.holds();
    assert.equal(await crawl.cancel(), true);
    const cancelled = await crawl.status();
    assert.equal(cancelled.status, 'CANCELLED');
    assert.equal(cancelled.is_finished, true);
    assert.equal(cancelled.is_success, false);
    assert.equal(cancelled.state.stop_reason, 'user_cancelled');
    assert.equal(await crawl.cancel(), true, 'idempotent');
    await crawl.wait({ pollInterval: 0.2, allowCancelled: true });
    const err = await thrown(() => crawl.wait({ pollInterval: 0.2 }));
    assert.equal(err.args.code, 'CANCELLED');

    // The page in flight finishes; nothing is fetched after the cancel, and the crawler ends.
    site.release();
    const ended = await until(async () => {
      const s = await crawl.status();
      return s.state.stop_time !== null ? s : undefined;
    });
    assert.equal(ended.status, 'CANCELLED');
    assert.equal(site.holds(), fetchedBefore);
    const skipped = await client.crawlUrls(crawl.uuid!, { status: 'skipped' });
    assert.deepEqual(
      skipped.urls.map((u) => u.reason),
      ['user_cancelled', 'user_cancelled'],
    );
    assert.equal(await crawl.cancel(), true, 'an ended crawler too');

    // Cancelling a crawler that is DONE leaves it DONE.
    assert.equal(await seedCrawl.cancel(), true);
    assert.equal((await seedCrawl.status()).status, 'DONE');
  });

  it("maps errors to the SDK's classes: unknown or foreign uuid, bad key, bad config, queue limit", async () => {
    const unknown = randomUUID();
    for (const call of [
      () => client.crawlStatus(unknown),
      () => client.crawlUrls(unknown),
      () => client.crawlContents(unknown, { format: 'html' }),
      () => client.crawlContents(unknown, { format: 'html', plain: true, url: `${site.url}/a` }),
      () => client.crawlContentsBatch(unknown, [`${site.url}/a`], ['html']),
      () => client.crawlCancel(unknown),
      () => client.crawlStatus('not-a-uuid'),
    ]) {
      assertCrawlerError(await thrown(call), 404, 'ERR::CRAWLER::NOT_FOUND');
    }

    // Another project, or the same project's other environment: the crawler does not exist for them.
    const uuid = seedCrawl.uuid!;
    for (const key of [otherProjectKey, hs.keys.test]) {
      const outsider = new ScrapflyClient({ key, host: hs.apiUrl });
      for (const call of [
        () => outsider.crawlStatus(uuid),
        () => outsider.crawlUrls(uuid),
        () => outsider.crawlContents(uuid, { format: 'html' }),
        () => outsider.crawlContentsBatch(uuid, [`${site.url}/`], ['html']),
        () => outsider.crawlCancel(uuid),
      ]) {
        assertCrawlerError(await thrown(call), 404, 'ERR::CRAWLER::NOT_FOUND');
      }
    }
    // A Firecrawl crawl's id is not a crawler's.
    const firecrawl = (await raw('/v2/crawl', { method: 'POST', json: { url: 'http://127.0.0.1:9/', limit: 1 } })).body.id;
    assertCrawlerError(await thrown(() => client.crawlStatus(firecrawl)), 404, 'ERR::CRAWLER::NOT_FOUND');

    const stranger = new ScrapflyClient({ key: 'hs_live_0000000000000000000000000000000000000000', host: hs.apiUrl });
    for (const call of [
      () => stranger.crawl(new CrawlerConfig({ url: `${site.url}/` })),
      () => stranger.crawl(new CrawlerConfig({ url_list: [`${site.url}/a`] })),
      () => stranger.crawlStatus(uuid),
      () => stranger.crawlUrls(uuid),
      () => stranger.crawlContents(uuid, { format: 'html', plain: true, url: `${site.url}/` }),
      () => stranger.crawlContentsBatch(uuid, [`${site.url}/`], ['html']),
      () => stranger.crawlCancel(uuid),
    ]) {
      const e = await thrown(call);
      assert.ok(e instanceof errors.BadApiKeyError, `${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.args.http_status_code, 401);
    }

    // What the SDK lets through and Hookshot refuses: the message names the field.
    for (const [options, field] of [
      [{ content_formats: ['extracted_data'] }, /content_formats\[0\]: extracted_data is not supported/],
      [{ extraction_rules: { '*': { type: 'prompt', value: 'titles' } } }, /extraction_rules: is not supported/],
      [{ page_limit: '5' }, /page_limit/],
      [{ max_concurrency: 2.5 }, /max_concurrency/],
    ] as const) {
      const e = await thrown(() => client.crawl(new CrawlerConfig({ url: `${site.url}/`, ...(options as object) })));
      assertCrawlerError(e, 400, 'ERR::CRAWLER::CONFIG_ERROR');
      assert.match(e.message, field);
    }
    const multipart = await thrown(() => client.crawl(new CrawlerConfig({ url_list: [`${site.url}/a`, 'not a url'] })));
    assertCrawlerError(multipart, 400, 'ERR::CRAWLER::CONFIG_ERROR');
    assert.match(multipart.message, /url_list\[1\]/);

    // An unknown webhook: 400 with the webhook code (so not a crawler error class).
    const hook = await thrown(() => client.crawl(new CrawlerConfig({ url: `${site.url}/`, webhook_name: 'nowhere' })));
    assert.ok(hook instanceof errors.ApiHttpClientError, String(hook));
    assert.equal(hook.args.http_status_code, 400);
    assert.equal(hook.args.code, 'ERR::WEBHOOK::NOT_FOUND');

    // A plan whose queue holds nothing: 429, the SDK's TooManyRequests.
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'free', plan: 'FREE' } });
    const freeKey = (await hs.api('/admin/projects/free/keys', { method: 'POST', headers: admin, json: { env: 'live' } })).body.key;
    const free = new ScrapflyClient({ key: freeKey, host: hs.apiUrl });
    const full = await thrown(() => free.crawl(new CrawlerConfig({ url: `${site.url}/` })));
    assert.ok(full instanceof errors.TooManyRequests, String(full));
  });
});

describe('Scrapfly Crawler API on the wire', () => {
  let hs: TestHookshot;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  // Refused at once by anything that fetches it: these crawlers end quickly.
  const SITE = 'http://127.0.0.1:9';
  const api = (path: string, init: Parameters<TestHookshot['api']>[1] = {}) => hs.api(path, { key: hs.keys.live, ...init });
  const post = (json: unknown) => api('/crawl', { method: 'POST', json });

  function assertEnvelope(res: { status: number; headers: Headers; body: any }, status: number, code: string, message?: RegExp) {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(Object.keys(res.body).sort(), ['code', 'error_id', 'http_code', 'message', 'retryable']);
    assert.equal(res.body.code, code);
    assert.equal(res.body.http_code, status);
    if (message) assert.match(res.body.message, message);
  }

  before(async () => {
    receiver = await startReceiver(() => ({ status: 200 }));
    hs = await startTestHookshot();
  });
  after(async () => {
    await hs?.close();
    await receiver?.close();
  });

  it('POST /crawl answers 201 {crawler_uuid, uuid, status}, and no success body holds error_id or http_code', async () => {
    const res = await post({ url: `${SITE}/`, page_limit: 1 });
    assert.equal(res.status, 201);
    assert.deepEqual(Object.keys(res.body).sort(), ['crawler_uuid', 'status', 'uuid']);
    assert.equal(res.body.crawler_uuid, res.body.uuid);
    assert.equal(res.body.status, 'PENDING');
    const id = res.body.crawler_uuid;
    for (const path of [`/crawl/${id}/status`, `/crawl/${id}/contents?formats=html`]) {
      const r = await api(path);
      assert.equal(r.status, 200, path);
      assert.ok(!('error_id' in r.body) && !('http_code' in r.body), path);
    }
    const cancel = await api(`/crawl/${id}/cancel`, { method: 'POST' });
    assert.equal(cancel.status, 200);
    assert.deepEqual(Object.keys(cancel.body).sort(), ['crawler_uuid', 'status']);
    const row = (await hs.db.query('SELECT kind, api_version, page_limit, url FROM crawls WHERE id = $1', [id])).rows[0];
    assert.deepEqual(row, { kind: 'crawler', api_version: 0, page_limit: 1, url: `${SITE}/` });
  });

  it('refuses a bad config with 400 ERR::CRAWLER::CONFIG_ERROR naming the field, and creates nothing', async () => {
    const before = (await hs.db.query('SELECT count(*)::int AS n FROM crawls')).rows[0].n;
    const cases: Array<[unknown, RegExp]> = [
      [{ url: `${SITE}/`, follow_links: true }, /unknown parameter "follow_links"/],
      [{ url: `${SITE}/`, max_duration: 10 }, /^max_duration: /],
      [{ url: `${SITE}/`, max_duration: 20_000 }, /^max_duration: /],
      [{ url: `${SITE}/`, rendering_delay: 30_000 }, /^rendering_delay: /],
      [{ url: `${SITE}/`, delay: '1e3' }, /^delay: /],
      [{ url: `${SITE}/`, content_formats: ['extracted_data'] }, /^content_formats\[0\]: extracted_data is not supported/],
      [{ url: `${SITE}/`, extraction_rules: {} }, /^extraction_rules: is not supported/],
      [{ url: `${SITE}/`, webhook_events: ['crawler_updated'] }, /^webhook_events\[0\]: /],
      [{ url: `${SITE}/`, exclude_paths: ['/a'], include_only_paths: ['/b'] }, /^include_only_paths: cannot be combined/],
      [{ page_limit: 3 }, /^url: is required/],
      [{ url: 'file:///etc/passwd' }, /^url: must be an http or https URL/],
      [{ remote_url_list: `${SITE}/list.txt` }, /^remote_url_list: is not supported/],
      [[1, 2], /request body must be a JSON object/],
    ];
    for (const [json, message] of cases) assertEnvelope(await post(json), 400, 'ERR::CRAWLER::CONFIG_ERROR', message);
    assertEnvelope(
      await api('/crawl', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"url": ' }),
      400,
      'ERR::CRAWLER::CONFIG_ERROR',
      /not valid JSON/,
    );
    assert.equal((await hs.db.query('SELECT count(*)::int AS n FROM crawls')).rows[0].n, before);
  });

  it('reads a multipart body (config + urls parts), and refuses other media with 415', async () => {
    const form = new FormData();
    form.append('config', new Blob([JSON.stringify({ page_limit: 5, content_formats: ['markdown'] })], { type: 'application/json' }), 'config.json');
    form.append('urls', new Blob([`${SITE}/one\n\n${SITE}/two\r\n`], { type: 'text/plain' }), 'urls.txt');
    const res = await api('/crawl', { method: 'POST', body: form });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const row = (await hs.db.query('SELECT options, page_limit FROM crawls WHERE id = $1', [res.body.crawler_uuid])).rows[0];
    assert.equal(row.page_limit, 5);
    assert.deepEqual(row.options.crawler.formats, ['markdown']);
    assert.equal(row.options.crawler.discover, false);
    const pages = await hs.db.query('SELECT url FROM crawl_pages WHERE crawl_id = $1 ORDER BY id', [res.body.crawler_uuid]);
    assert.deepEqual(
      pages.rows.map((r) => r.url),
      [`${SITE}/one`, `${SITE}/two`],
    );

    const odd = new FormData();
    odd.append('config', JSON.stringify({}));
    odd.append('extra', 'x');
    assertEnvelope(await api('/crawl', { method: 'POST', body: odd }), 400, 'ERR::CRAWLER::CONFIG_ERROR', /part "extra" is not expected/);
    const both = new FormData();
    both.append('config', JSON.stringify({ url_list: [`${SITE}/x`] }));
    both.append('urls', `${SITE}/y`);
    assertEnvelope(await api('/crawl', { method: 'POST', body: both }), 400, 'ERR::CRAWLER::CONFIG_ERROR', /^url_list: /);
    assertEnvelope(
      await api('/crawl', { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=zz' }, body: 'garbage' }),
      400,
      'ERR::CRAWLER::CONFIG_ERROR',
      /not valid multipart/,
    );
    assertEnvelope(
      await api('/crawl', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: `${SITE}/` }),
      415,
      'ERR::API::UNSUPPORTED_MEDIA_TYPE',
    );
    // Elsewhere, multipart stays refused.
    assertEnvelope(await api('/webhooks', { method: 'POST', body: odd }), 415, 'ERR::API::UNSUPPORTED_MEDIA_TYPE');
  });

  it('a named webhook: lower-cased, of the key’s project and environment, enabled; the lifecycle events by default', async () => {
    await api('/webhooks', { method: 'POST', json: { name: 'crawl-hook', url: receiver.url } });
    const res = await post({ url: `${SITE}/`, webhook_name: 'Crawl-Hook' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const row = (await hs.db.query('SELECT webhook_id, webhook_name, options FROM crawls WHERE id = $1', [res.body.crawler_uuid])).rows[0];
    assert.equal(row.webhook_name, 'crawl-hook');
    assert.match(row.webhook_id, /^[0-9a-f-]{36}$/);
    assert.deepEqual(row.options.crawler.events, ['crawler_started', 'crawler_stopped', 'crawler_cancelled', 'crawler_finished']);
    // Another environment's webhook of that name does not exist for this key.
    assertEnvelope(
      await hs.api('/crawl', { method: 'POST', key: hs.keys.test, json: { url: `${SITE}/`, webhook_name: 'crawl-hook' } }),
      400,
      'ERR::WEBHOOK::NOT_FOUND',
      /"crawl-hook"/,
    );
    await api('/webhooks/crawl-hook/disable', { method: 'POST' });
    assertEnvelope(await post({ url: `${SITE}/`, webhook_name: 'crawl-hook' }), 400, 'ERR::WEBHOOK::DISABLED');
  });

  it('read endpoints check their parameters: CONFIG_ERROR naming the field, NOT_FOUND for an unknown crawler', async () => {
    const id = (await post({ url: `${SITE}/`, page_limit: 1 })).body.crawler_uuid;
    assertEnvelope(await api(`/crawl/${id}/urls?status=done`), 400, 'ERR::CRAWLER::CONFIG_ERROR', /^status: /);
    assertEnvelope(await api(`/crawl/${id}/urls?per_page=5000`), 400, 'ERR::CRAWLER::CONFIG_ERROR', /^per_page: /);
    assertEnvelope(await api(`/crawl/${id}/urls?page=0`), 400, 'ERR::CRAWLER::CONFIG_ERROR', /^page: /);
    assertEnvelope(await api(`/crawl/${id}/contents?formats=html&limit=51`), 400, 'ERR::CRAWLER::CONFIG_ERROR', /^limit: /);
    assertEnvelope(await api(`/crawl/${id}/contents?formats=html&plain=true`), 400, 'ERR::CRAWLER::CONFIG_ERROR', /^url: /);
    const urls = Array.from({ length: 101 }, (_, i) => `${SITE}/${i}`).join('\n');
    const batch = (body: string) =>
      api(`/crawl/${id}/contents/batch?formats=html`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    assertEnvelope(await batch(urls), 400, 'ERR::CRAWLER::CONFIG_ERROR', /^urls: must list at most 100 URLs/);
    assertEnvelope(await batch('\n \n'), 400, 'ERR::CRAWLER::CONFIG_ERROR', /^urls: must list at least one URL/);
    assertEnvelope(await api(`/crawl/${randomUUID()}/status`), 404, 'ERR::CRAWLER::NOT_FOUND');
    assertEnvelope(await api(`/crawl/${randomUUID()}/cancel`, { method: 'POST' }), 404, 'ERR::CRAWLER::NOT_FOUND');
    assertEnvelope(await hs.api(`/crawl/${id}/status`), 401, 'ERR::AUTH::MISSING_KEY');
  });
});
