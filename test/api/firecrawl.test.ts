import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import fc from 'fast-check';
import Firecrawl, { FirecrawlAppV1 } from '@mendable/firecrawl-js';
import { ServiceError, type Client } from '@temporalio/client';
import { withTransaction } from '../../src/db/pool';
import { insertCrawl } from '../../src/db/repositories/crawls';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';

// The Firecrawl-style API (SPEC section 7). No crawl workflow runs pages
// here (the worker may not know crawlWorkflow yet): status and paging read
// crawls whose documents the test writes itself, and crawls created through
// the API are only read back while they are `scraping`.

const HOOK = 'https://127.0.0.1:9/hook'; // nothing is delivered in these tests
// Refused at once if anything ever fetches it: keeps a future crawl workflow quick here.
const SITE = 'http://127.0.0.1:9';

function assertFirecrawlError(res: { status: number; body: any }, status: number, code: string, message?: RegExp) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body).sort(), ['code', 'error', 'error_id', 'http_code', 'message', 'retryable', 'success']);
  assert.equal(res.body.success, false);
  assert.equal(res.body.code, code);
  assert.equal(res.body.http_code, status);
  assert.equal(res.body.error, res.body.message);
  assert.equal(typeof res.body.retryable, 'boolean');
  assert.match(res.body.error_id, /^[0-9a-f-]{36}$/);
  if (message) assert.match(res.body.error, message);
}

/** A request with the path as written (fetch and URL would fold or reinterpret //v1). */
function rawRequest(base: string, method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(base), { method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Firecrawl-style crawl and batch scrape API', () => {
  let hs: TestHookshot;
  let key: string;
  let projectId: string;
  const auth = () => ({ authorization: `Bearer ${key}` });
  const call = (path: string, init: { method?: string; json?: unknown; headers?: Record<string, string> } = {}) =>
    hs.api(path, { ...init, headers: { ...auth(), ...(init.headers ?? {}) } });
  const post = (path: string, json: unknown) => hs.api(path, { method: 'POST', json, headers: auth() });
  const crawlCount = async () => (await hs.db.query(`SELECT count(*)::int AS n FROM crawls`)).rows[0].n as number;

  /** A crawl written directly (no workflow), with `docs` finished pages in done order. */
  async function seededCrawl(opts: { kind?: 'crawl' | 'batch_scrape'; status?: string; docs: number; bigMarkdown?: number; project?: string }) {
    const id = randomUUID();
    await withTransaction(hs.db, (c) =>
      insertCrawl(
        c,
        {
          id,
          project_id: opts.project ?? projectId,
          env: 'test',
          kind: opts.kind ?? 'crawl',
          api_version: 1,
          url: `${SITE}/`,
          options: {
            scope: {},
            formats: ['markdown'],
            onlyMainContent: true,
            ignoreRobotsTxt: false,
            sitemap: 'skip',
            ignoreQueryParameters: false,
            maxConcurrency: null,
            robotsUserAgent: null,
            headers: {},
            timeoutMs: null,
          },
          webhook: null,
          page_limit: 10_000,
          expires_at: new Date(Date.now() + 86_400_000),
        },
        [],
      ),
    );
    for (let i = 0; i < opts.docs; i++) {
      const url = `${SITE}/p${i}`;
      const document = {
        markdown: opts.bigMarkdown ? 'x'.repeat(opts.bigMarkdown) : `# page ${i}`,
        metadata: { title: `p${i}`, sourceURL: url, url, statusCode: 200, contentType: 'text/html' },
      };
      await hs.db.query(
        `INSERT INTO crawl_pages (crawl_id, url, canonical, depth, status, status_code, document, done_seq, done_at)
         VALUES ($1, $2, $2, 0, 'done', 200, $3, nextval('crawl_pages_done_seq'), now())`,
        [id, url, document],
      );
    }
    await hs.db.query(
      `UPDATE crawls SET total = $2, completed = $2, credits_used = $2, status = $3, completed_at = CASE WHEN $3 = 'scraping' THEN NULL ELSE now() END WHERE id = $1`,
      [id, opts.docs, opts.status ?? 'completed'],
    );
    return id;
  }

  before(async () => {
    hs = await startTestHookshot();
    key = hs.keys.test;
    projectId = (await hs.db.query(`SELECT id FROM projects WHERE name = 'default'`)).rows[0].id;
  });
  after(async () => {
    await hs?.close();
  });

  it("starts a crawl on either version: exactly 200, {success, id, url}, both versions' names and unknown keys accepted", async () => {
    const v1 = await call('/v1/crawl', {
      method: 'POST',
      json: {
        url: `${SITE}/docs`,
        limit: 5,
        maxDepth: 2,
        crawlEntireDomain: true,
        ignoreSitemap: true,
        includePaths: ['^/docs'],
        scrapeOptions: { formats: ['markdown', 'html'] },
        webhook: HOOK,
        origin: 'js-sdk@0.1.0',
        integration: 'x',
        somethingNew: 1,
      },
    });
    assert.equal(v1.status, 200, JSON.stringify(v1.body));
    assert.deepEqual(Object.keys(v1.body).sort(), ['id', 'success', 'url']);
    assert.equal(v1.body.success, true);
    assert.equal(v1.body.url, `${hs.apiUrl}/v1/crawl/${v1.body.id}`);

    const row = (await hs.db.query('SELECT * FROM crawls WHERE id = $1', [v1.body.id])).rows[0];
    assert.equal(row.kind, 'crawl');
    assert.equal(row.api_version, 1);
    assert.equal(row.status, 'scraping');
    assert.equal(row.page_limit, 5);
    assert.equal(row.url, `${SITE}/docs`);
    assert.deepEqual(row.options.scope, { includePaths: ['^/docs'], maxDepth: 2, crawlEntireDomain: true });
    assert.equal(row.options.sitemap, 'skip');
    assert.deepEqual(row.options.formats, ['markdown', 'html']);
    assert.deepEqual(row.webhook, { url: HOOK, headers: {}, metadata: {}, events: ['started', 'page', 'completed', 'failed'] });
    const pages = (await hs.db.query('SELECT url, depth FROM crawl_pages WHERE crawl_id = $1', [v1.body.id])).rows;
    assert.deepEqual(pages, [{ url: `${SITE}/docs`, depth: 0 }]);

    const v2 = await call('/v2/crawl', {
      method: 'POST',
      json: {
        url: SITE,
        maxDiscoveryDepth: 1,
        allowBackwardLinks: true,
        sitemap: 'only',
        limit: 10_000_000,
        formats: [{ type: 'links' }],
        webhook: { url: HOOK, headers: { 'X-Token': 't' }, metadata: { run: 7 }, events: ['page', 'crawl.completed'] },
      },
    });
    assert.equal(v2.status, 200, JSON.stringify(v2.body));
    assert.equal(v2.body.url, `${hs.apiUrl}/v2/crawl/${v2.body.id}`);
    const row2 = (await hs.db.query('SELECT * FROM crawls WHERE id = $1', [v2.body.id])).rows[0];
    assert.equal(row2.api_version, 2);
    assert.equal(row2.page_limit, 10_000, 'limit is capped by CRAWL_MAX_PAGES');
    assert.equal(row2.options.sitemap, 'only');
    assert.deepEqual(row2.options.formats, ['links']);
    assert.deepEqual(row2.options.scope, { maxDiscoveryDepth: 1, allowBackwardLinks: true });
    assert.deepEqual(row2.webhook, { url: HOOK, headers: { 'X-Token': 't' }, metadata: { run: 7 }, events: ['page', 'completed'] });

    // Readable at once (the v1 client gives up after three quick non-200s).
    const st = await call(`/v2/crawl/${v2.body.id}`);
    assert.equal(st.status, 200);
    assert.equal(st.body.status, 'scraping');
    assert.deepEqual(st.body.data, []);
    assert.ok(!('next' in st.body));
  });

  it('refuses wrong values with 400 naming the field, and writes nothing', async () => {
    const before = await crawlCount();
    const cases: Array<[string, unknown, RegExp]> = [
      ['/v1/crawl', { url: SITE, webhook: 'http://127.0.0.1/hook' }, /^webhook\.url: must be an https:\/\/ URL/],
      ['/v2/crawl', { url: SITE, webhook: { url: 'http://127.0.0.1/hook' } }, /^webhook\.url: /],
      ['/v2/crawl', { url: SITE, webhook: { url: HOOK, headers: { 'Content-Type': 'text/plain' } } }, /^webhook\.headers\.Content-Type: /],
      ['/v2/crawl', { url: SITE, webhook: { url: HOOK, headers: { 'x-firecrawl-signature': 'x' } } }, /^webhook\.headers\.x-firecrawl-signature: /],
      ['/v2/crawl', { url: SITE, webhook: { url: HOOK, headers: { Connection: 'close' } } }, /^webhook\.headers\.Connection: /],
      ['/v2/crawl', { url: SITE, webhook: { url: HOOK, events: ['page', 'done'] } }, /^webhook\.events\[1\]: /],
      ['/v2/crawl', { url: SITE, webhook: { url: HOOK, metadata: [1] } }, /^webhook\.metadata: /],
      ['/v1/crawl', { url: SITE, includePaths: ['^/ok', '(unclosed'] }, /^includePaths\[1\]: .*regular expression/],
      ['/v2/crawl', { url: SITE, excludePaths: ['(a+)+$'] }, /^excludePaths\[0\]: /],
      // A shape error inside an array names the element as the rules do (it read `includePaths.1` before).
      ['/v2/crawl', { url: SITE, includePaths: ['^/ok', 5] }, /^includePaths\[1\]: /],
      [
        '/v2/crawl',
        { url: SITE, scrapeOptions: { formats: ['markdown', 'screenshot'] } },
        /^scrapeOptions\.formats\[1\]: "screenshot" is not supported/,
      ],
      ['/v2/crawl', { url: SITE, scrapeOptions: { formats: [{ type: 'json', prompt: 'x' }] } }, /^scrapeOptions\.formats\[0\]: "json"/],
      ['/v2/batch/scrape', { urls: [SITE], formats: ['summary'] }, /^formats\[0\]: /],
      ['/v2/crawl', { url: 'ftp://example.com/' }, /^url: /],
      ['/v2/crawl', {}, /^url: /],
      ['/v2/crawl', { url: SITE, limit: 0 }, /^limit: /],
      ['/v2/crawl', { url: SITE, sitemap: 'sometimes' }, /^sitemap: /],
      ['/v2/crawl', { url: SITE, scrapeOptions: { timeout: 999_999_999 } }, /^scrapeOptions\.timeout: /],
      ['/v1/batch/scrape', { urls: [`${SITE}/a`, 'not a url'] }, /^urls\[1\]: /],
      ['/v2/batch/scrape', { urls: [`${SITE}/a`, 'nope'], ignoreInvalidURLs: false }, /^urls\[1\]: /],
      ['/v2/batch/scrape', { urls: [] }, /^urls: /],
      ['/v2/batch/scrape', { urls: ['nope'] }, /^urls: no valid URL/],
      ['/v2/batch/scrape', { urls: [SITE], appendToId: randomUUID() }, /^appendToId: /],
    ];
    for (const [path, json, message] of cases) {
      assertFirecrawlError(await call(path, { method: 'POST', json }), 400, 'ERR::VALIDATION::INVALID_PARAMETER', message);
    }
    assert.equal(await crawlCount(), before);
  });

  it('batch scrape: dedupes, skips invalid URLs when asked (v2 by default), and its id reads at /v1/crawl/:id', async () => {
    const v1 = await call('/v1/batch/scrape', {
      method: 'POST',
      json: { urls: [`${SITE}/a`, `${SITE}/a#frag`, 'bad', `${SITE}/b`], ignoreInvalidURLs: true, formats: ['rawHtml'], origin: 'js-sdk@x' },
    });
    assert.equal(v1.status, 200, JSON.stringify(v1.body));
    assert.deepEqual(Object.keys(v1.body).sort(), ['id', 'invalidURLs', 'success', 'url']);
    assert.deepEqual(v1.body.invalidURLs, ['bad']);
    assert.equal(v1.body.url, `${hs.apiUrl}/v1/batch/scrape/${v1.body.id}`);
    const row = (await hs.db.query('SELECT kind, total, page_limit, options FROM crawls WHERE id = $1', [v1.body.id])).rows[0];
    assert.equal(row.kind, 'batch_scrape');
    assert.equal(row.total, 2);
    assert.equal(row.page_limit, 2);
    assert.deepEqual(row.options.formats, ['rawHtml']);

    for (const path of [`/v1/crawl/${v1.body.id}`, `/v1/batch/scrape/${v1.body.id}`, `/v2/batch/scrape/${v1.body.id}`]) {
      const st = await call(path);
      assert.equal(st.status, 200, path);
      assert.equal(st.body.status, 'scraping');
      assert.equal(st.body.total, 2);
      assert.deepEqual(st.body.data, []);
    }

    const v2 = await call('/v2/batch/scrape', { method: 'POST', json: { urls: ['bad', `${SITE}/c`], scrapeOptions: { formats: ['html'] } } });
    assert.equal(v2.status, 200, JSON.stringify(v2.body));
    assert.deepEqual(v2.body.invalidURLs, ['bad']);
  });

  it("errors under /v1 and /v2 carry Firecrawl's fields: 401, 404 (route, unknown and foreign ids), 400, 415", async () => {
    assertFirecrawlError(await hs.api('/v1/crawl', { method: 'POST', json: { url: SITE } }), 401, 'ERR::AUTH::MISSING_KEY');
    assertFirecrawlError(await hs.api('/v2/crawl/x', { headers: { authorization: 'Bearer nope' } }), 401, 'ERR::AUTH::INVALID_KEY');
    assertFirecrawlError(await call('/v1/nope'), 404, 'ERR::API::NOT_FOUND');
    assertFirecrawlError(await call('/v2'), 404, 'ERR::API::NOT_FOUND');
    assertFirecrawlError(await call(`/v2/crawl/${randomUUID()}`), 404, 'ERR::CRAWL::NOT_FOUND');
    assertFirecrawlError(await call('/v1/crawl/not-a-uuid'), 404, 'ERR::CRAWL::NOT_FOUND');
    assertFirecrawlError(await call(`/v1/crawl/${randomUUID()}`, { method: 'DELETE' }), 404, 'ERR::CRAWL::NOT_FOUND');
    assertFirecrawlError(await call('/v1/crawl', { method: 'PUT' }), 405, 'ERR::API::METHOD_NOT_ALLOWED');
    assertFirecrawlError(
      await hs.api('/v2/crawl', { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '{"url":' }),
      400,
      'ERR::VALIDATION::INVALID_PARAMETER',
      /not valid JSON/,
    );
    assertFirecrawlError(
      await hs.api('/v2/crawl', { method: 'POST', headers: { ...auth(), 'content-type': 'text/plain' }, body: 'url=x' }),
      415,
      'ERR::API::UNSUPPORTED_MEDIA_TYPE',
    );
    assertFirecrawlError(await call('/v2/crawl/x?skip=-1'), 400, 'ERR::VALIDATION::INVALID_PARAMETER', /^skip: /);

    // Another project's crawl is not there for this key.
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    assert.equal((await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'other', plan: 'PRO' } })).status, 201);
    const otherId = (await hs.db.query(`SELECT id FROM projects WHERE name = 'other'`)).rows[0].id;
    const foreign = await seededCrawl({ docs: 1, project: otherId });
    assertFirecrawlError(await call(`/v1/crawl/${foreign}`), 404, 'ERR::CRAWL::NOT_FOUND');
    assertFirecrawlError(await call(`/v2/crawl/${foreign}`, { method: 'DELETE' }), 404, 'ERR::CRAWL::NOT_FOUND');
    assert.equal((await hs.db.query('SELECT status FROM crawls WHERE id = $1', [foreign])).rows[0].status, 'completed');

    // Elsewhere the shape is unchanged.
    const plain = await hs.api('/webhooks');
    assert.deepEqual(Object.keys(plain.body).sort(), ['code', 'error_id', 'http_code', 'message', 'retryable']);
  });

  it('folds //v1 and //v2 (a v1 apiUrl ending in a slash), and only those', async () => {
    const id = await seededCrawl({ docs: 1 });
    for (const path of [`//v1/crawl/${id}`, `///v2/crawl/${id}`]) {
      const r = await rawRequest(hs.apiUrl, 'GET', path, auth());
      assert.equal(r.status, 200, path);
      assert.equal(r.body.data.length, 1);
    }
    const r = await rawRequest(hs.apiUrl, 'GET', '//webhooks', auth());
    assert.equal(r.status, 404);
  });

  it('status pages with skip/limit; next is absolute, same version, absent on the last page and never on an empty one', async () => {
    const id = await seededCrawl({ docs: 7 });
    const first = await call(`/v1/crawl/${id}?limit=3`);
    assert.equal(first.status, 200);
    assert.deepEqual(Object.keys(first.body).sort(), ['completed', 'creditsUsed', 'data', 'expiresAt', 'next', 'status', 'success', 'total']);
    assert.equal(first.body.status, 'completed');
    assert.equal(first.body.total, 7);
    assert.equal(first.body.completed, 7);
    assert.equal(first.body.creditsUsed, 7);
    assert.ok(!Number.isNaN(Date.parse(first.body.expiresAt)));
    assert.deepEqual(
      first.body.data.map((d: any) => d.metadata.title),
      ['p0', 'p1', 'p2'],
    );
    assert.equal(first.body.next, `${hs.apiUrl}/v1/crawl/${id}?skip=3&limit=3`);

    const seen: string[] = [];
    let url: string | undefined = `${hs.apiUrl}/v2/crawl/${id}?limit=3`;
    while (url) {
      const r = await hs.api(url.slice(hs.apiUrl.length), { headers: auth() });
      assert.equal(r.status, 200);
      assert.ok(r.body.data.length > 0);
      seen.push(...r.body.data.map((d: any) => d.metadata.title));
      if (r.body.next) assert.ok(r.body.next.startsWith(`${hs.apiUrl}/v2/crawl/${id}?skip=`), r.body.next);
      url = r.body.next;
    }
    assert.deepEqual(seen, ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);

    const all = await call(`/v2/crawl/${id}`);
    assert.equal(all.body.data.length, 7);
    assert.ok(!('next' in all.body), 'one page holds everything: no next');
    const past = await call(`/v2/crawl/${id}?skip=7`);
    assert.deepEqual(past.body.data, []);
    assert.ok(!('next' in past.body), 'no next with an empty page');
    assertFirecrawlError(await call(`/v2/crawl/${id}?limit=1001`), 400, 'ERR::VALIDATION::INVALID_PARAMETER', /^limit: /);

    // A page also stops by bytes (about 10 MB): 4 MB documents come two a page.
    const big = await seededCrawl({ docs: 3, bigMarkdown: 4 * 1024 * 1024 });
    const p1 = await call(`/v1/crawl/${big}`);
    assert.equal(p1.body.data.length, 2);
    assert.equal(p1.body.next, `${hs.apiUrl}/v1/crawl/${big}?skip=2`);
    const p2 = await call(`/v1/crawl/${big}?skip=2`);
    assert.equal(p2.body.data.length, 1);
    assert.ok(!('next' in p2.body));
  });

  it('next is built from PUBLIC_URL when the operator set it', async () => {
    const other = await startTestHookshot({ PUBLIC_URL: 'https://hookshot.example/api/' });
    try {
      const k = other.keys.test;
      const pid = (await other.db.query(`SELECT id FROM projects WHERE name = 'default'`)).rows[0].id;
      const saved = { hs, projectId };
      hs = other;
      projectId = pid;
      try {
        const id = await seededCrawl({ docs: 2 });
        const r = await other.api(`/v2/crawl/${id}?limit=1`, { headers: { authorization: `Bearer ${k}` } });
        assert.equal(r.body.next, `https://hookshot.example/api/v2/crawl/${id}?skip=1&limit=1`);
        const s = await other.api('/v2/batch/scrape', { method: 'POST', headers: { authorization: `Bearer ${k}` }, json: { urls: [SITE] } });
        assert.equal(s.body.url, `https://hookshot.example/api/v2/batch/scrape/${s.body.id}`);
      } finally {
        ({ hs, projectId } = saved);
      }
    } finally {
      await other.close();
    }
  });

  it('cancel: 200 {status: cancelled}, repeatable; an ended crawl answers with how it ended', async () => {
    const started = await call('/v2/crawl', { method: 'POST', json: { url: SITE } });
    assert.equal(started.status, 200);
    for (const path of [`/v2/crawl/${started.body.id}`, `/v1/crawl/${started.body.id}`]) {
      const r = await call(path, { method: 'DELETE' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { success: true, status: 'cancelled' });
    }
    const row = (await hs.db.query('SELECT status, error FROM crawls WHERE id = $1', [started.body.id])).rows[0];
    assert.deepEqual(row, { status: 'cancelled', error: 'cancelled' });
    assert.equal((await call(`/v2/crawl/${started.body.id}`)).body.status, 'cancelled');

    const batch = await call('/v2/batch/scrape', { method: 'POST', json: { urls: [SITE] } });
    assert.deepEqual((await call(`/v2/batch/scrape/${batch.body.id}`, { method: 'DELETE' })).body, { success: true, status: 'cancelled' });

    const done = await seededCrawl({ docs: 1 });
    const r = await call(`/v1/crawl/${done}`, { method: 'DELETE' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { success: true, status: 'completed' });
    assert.equal((await hs.db.query('SELECT status FROM crawls WHERE id = $1', [done])).rows[0].status, 'completed');
  });

  it('the plan queue limit counts unsettled crawls: 429 QUEUE_FULL, nothing written', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    assert.equal((await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'free', plan: 'FREE' } })).status, 201);
    const freeKey = (await hs.api('/admin/projects/free/keys', { method: 'POST', headers: admin, json: { env: 'test' } })).body.key;
    const before = await crawlCount();
    const r = await hs.api('/v2/crawl', { method: 'POST', headers: { authorization: `Bearer ${freeKey}` }, json: { url: SITE } });
    assertFirecrawlError(r, 429, 'ERR::WEBHOOK::QUEUE_FULL', /limit 0/);
    assert.equal(r.body.retryable, true);
    assert.equal(await crawlCount(), before);

    // DISCOVERY (500): 499 unsettled crawls leave room for exactly one more.
    assert.equal((await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'disc', plan: 'DISCOVERY' } })).status, 201);
    const discKey = (await hs.api('/admin/projects/disc/keys', { method: 'POST', headers: admin, json: { env: 'live' } })).body.key;
    const disc = (await hs.db.query(`SELECT id FROM projects WHERE name = 'disc'`)).rows[0].id;
    await hs.db.query(
      `INSERT INTO crawls (id, project_id, env, kind, api_version, url, options, page_limit, expires_at)
       SELECT gen_random_uuid(), $1, 'live', 'crawl', 2, $2, '{}'::jsonb, 1, now() + interval '1 day' FROM generate_series(1, 499)`,
      [disc, SITE],
    );
    const h = { authorization: `Bearer ${discKey}` };
    const ok = await hs.api('/v1/batch/scrape', { method: 'POST', headers: h, json: { urls: [SITE] } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assertFirecrawlError(await hs.api('/v1/crawl', { method: 'POST', headers: h, json: { url: SITE } }), 429, 'ERR::WEBHOOK::QUEUE_FULL');
    // Settled crawls leave the count.
    await hs.db.query(`UPDATE crawls SET settled = true, status = 'completed' WHERE project_id = $1 AND id <> $2`, [disc, ok.body.id]);
    assert.equal((await hs.api('/v1/crawl', { method: 'POST', headers: h, json: { url: SITE } })).status, 200);
  });

  it('the official SDK, both clients, with apiUrl pointed here', async () => {
    const v2 = new Firecrawl({ apiKey: key, apiUrl: hs.apiUrl });
    const started = await v2.startCrawl(SITE, {
      limit: 3,
      maxDiscoveryDepth: 1,
      crawlEntireDomain: true,
      sitemap: 'skip',
      scrapeOptions: { formats: ['markdown', { type: 'html' }] },
      webhook: { url: HOOK, events: ['completed'] },
    });
    assert.match(started.id, /^[0-9a-f-]{36}$/);
    const running = await v2.getCrawlStatus(started.id);
    assert.equal(running.status, 'scraping');
    assert.deepEqual(running.data, []);
    assert.equal(await v2.cancelCrawl(started.id), true);

    const seeded = await seededCrawl({ docs: 5 });
    const all = await v2.getCrawlStatus(seeded, { autoPaginate: true });
    assert.equal(all.status, 'completed');
    assert.equal(all.data.length, 5);
    assert.equal(all.total, 5);
    const batchSeeded = await seededCrawl({ docs: 4, kind: 'batch_scrape' });
    const batchStatus = await v2.getBatchScrapeStatus(batchSeeded);
    assert.equal(batchStatus.data.length, 4);

    const batch = await v2.startBatchScrape([`${SITE}/x`, 'nope'], { options: { formats: ['markdown'] }, ignoreInvalidURLs: true });
    assert.deepEqual(batch.invalidURLs, ['nope']);
    assert.equal((await v2.getBatchScrapeStatus(batch.id)).status, 'scraping');
    assert.equal(await v2.cancelBatchScrape(batch.id), true);

    // 4xx errors surface with Firecrawl's message and code.
    await assert.rejects(v2.startCrawl(SITE, { webhook: 'http://127.0.0.1/hook' }), (err: any) => {
      assert.equal(err.status, 400);
      assert.equal(err.code, 'ERR::VALIDATION::INVALID_PARAMETER');
      assert.match(err.message, /webhook\.url/);
      return true;
    });

    // v1, with a trailing slash in apiUrl (it asks for //v1/...).
    const v1 = new FirecrawlAppV1({ apiKey: key, apiUrl: `${hs.apiUrl}/` });
    const c1: any = await v1.asyncCrawlUrl(SITE, {
      limit: 2,
      maxDepth: 1,
      allowBackwardLinks: true,
      ignoreSitemap: true,
      scrapeOptions: { formats: ['markdown'] },
    });
    assert.equal(c1.success, true);
    const s1: any = await v1.checkCrawlStatus(c1.id);
    assert.equal(s1.success, true);
    assert.equal(s1.status, 'scraping');
    const cancelled: any = await v1.cancelCrawl(c1.id);
    assert.equal(cancelled.status, 'cancelled');

    const paged: any = await v1.checkCrawlStatus(seeded, true, undefined, 0, 2);
    assert.equal(paged.status, 'completed');
    assert.equal(paged.data.length, 5, 'followed next to the end');

    const b1: any = await v1.asyncBatchScrapeUrls([`${SITE}/y`], { formats: ['html'] });
    assert.equal(b1.success, true);
    const bs1: any = await v1.checkBatchScrapeStatus(b1.id);
    assert.equal(bs1.status, 'scraping');
    const bs2: any = await v1.checkBatchScrapeStatus(batchSeeded, true);
    assert.equal(bs2.data.length, 4);
  });

  it('a start Temporal refused ends the crawl failed and settled (503); one it may have taken keeps the row (503) until a cancel finds no workflow', async () => {
    let fault: 'refused' | 'unreachable' | null = null;
    const grpc = (code: number, details: string) =>
      new ServiceError('Failed to start Workflow', { cause: Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} }) });
    const wrap = (real: Client): Client => {
      const bind = (t: object, p: string | symbol) => {
        const v = Reflect.get(t, p, t);
        return typeof v === 'function' ? v.bind(t) : v;
      };
      const workflow = new Proxy(real.workflow, {
        get(target, prop) {
          if (prop === 'start') {
            return async (...args: Parameters<Client['workflow']['start']>) => {
              if (fault === 'refused') throw grpc(3, 'invalid argument');
              if (fault === 'unreachable') throw grpc(4, 'Deadline exceeded');
              return target.start(...args);
            };
          }
          if (prop === 'getHandle' && fault === 'unreachable') {
            return () => ({
              describe: async () => {
                throw grpc(4, 'Deadline exceeded');
              },
            });
          }
          return bind(target, prop);
        },
      });
      return new Proxy(real, { get: (t, p) => (p === 'workflow' ? workflow : bind(t, p)) });
    };
    const other = await startTestHookshot({}, { wrapApiTemporal: wrap });
    try {
      const h = { authorization: `Bearer ${other.keys.test}` };
      fault = 'refused';
      const r = await other.api('/v2/crawl', { method: 'POST', headers: h, json: { url: SITE } });
      assertFirecrawlError(r, 503, 'ERR::TEMPORAL::UNAVAILABLE', /nothing was started/);
      const failed = (await other.db.query('SELECT status, settled, total FROM crawls')).rows;
      assert.deepEqual(failed, [{ status: 'failed', settled: true, total: 0 }]);

      fault = 'unreachable';
      const u = await other.api('/v1/batch/scrape', { method: 'POST', headers: h, json: { urls: [SITE] } });
      assertFirecrawlError(u, 503, 'ERR::TEMPORAL::UNAVAILABLE', /may or may not have started/);
      const kept = (await other.db.query(`SELECT status, settled, total FROM crawls WHERE kind = 'batch_scrape'`)).rows;
      assert.deepEqual(kept, [{ status: 'scraping', settled: false, total: 1 }]);

      // Cancelling it finds no workflow: the crawl ends there and frees its place in the queue.
      fault = null;
      const id = (await other.db.query(`SELECT id FROM crawls WHERE kind = 'batch_scrape'`)).rows[0].id;
      const c = await other.api(`/v1/batch/scrape/${id}`, { method: 'DELETE', headers: h });
      assert.equal(c.status, 200);
      assert.equal(c.body.status, 'cancelled');
      const ended = (await other.db.query(`SELECT status, settled, total, completed_at IS NOT NULL AS ended FROM crawls WHERE id = $1`, [id])).rows;
      assert.deepEqual(ended, [{ status: 'cancelled', settled: true, total: 0, ended: true }]);
    } finally {
      await other.close();
    }
  });

  it('random bodies on the start routes: never 5xx, 200 or a Firecrawl error, a row only on 200', async () => {
    // Every string that could be a URL points at 127.0.0.1:9 (nothing listens there).
    const str = fc.oneof(
      fc.constantFrom(
        SITE,
        `${SITE}/a?b=1`,
        HOOK,
        'http://127.0.0.1:9/hook',
        '(',
        '^/a',
        '(a+)+$',
        'markdown',
        'html',
        'links',
        'screenshot',
        'page',
        'started',
        'Content-Type',
        '',
        '__proto__',
      ),
      fc.string({ maxLength: 20 }).filter((x) => !x.includes(':')),
    );
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        str,
        fc.integer({ min: -5, max: 20_000 }),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(str, tie('v'), { maxKeys: 4 }),
      ),
    })).v;
    const fields = [
      'url',
      'urls',
      'limit',
      'maxDepth',
      'maxDiscoveryDepth',
      'includePaths',
      'excludePaths',
      'crawlEntireDomain',
      'allowBackwardLinks',
      'sitemap',
      'ignoreSitemap',
      'formats',
      'scrapeOptions',
      'webhook',
      'ignoreInvalidURLs',
      'maxConcurrency',
      'timeout',
      'headers',
      'origin',
    ];
    const body = fc.oneof(
      fc.dictionary(fc.constantFrom(...fields), value, { maxKeys: 8 }),
      fc.record({
        url: fc.constant(SITE),
        webhook: fc.oneof(
          value,
          fc.record({ url: fc.constantFrom(HOOK, 'http://127.0.0.1:9/h'), headers: value, metadata: value, events: value }, { requiredKeys: [] }),
        ),
      }),
      fc.record({ urls: fc.array(str, { maxLength: 5 }), formats: value, ignoreInvalidURLs: value }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/v1/crawl', '/v2/crawl', '/v1/batch/scrape', '/v2/batch/scrape'), body, async (path, json) => {
        const before = await crawlCount();
        const r = await post(path, json);
        assert.ok(r.status < 500, `${r.status} ${JSON.stringify(r.body)} for ${path} ${JSON.stringify(json)}`);
        if (r.status === 200) {
          assert.equal(r.body.success, true);
          assert.equal(await crawlCount(), before + 1);
        } else {
          assert.equal(r.status, 400, JSON.stringify(r.body));
          assert.equal(r.body.success, false);
          assert.equal(typeof r.body.error, 'string');
          assert.equal(await crawlCount(), before);
        }
      }),
      { numRuns: 150 },
    );
  });
});
