// Scrapfly's POST /crawl config read into the crawl Hookshot stores (SPEC
// section 13): every option's default, mapping and refusal, and the crawl
// workflow input a crawler gets. Pure: the schema and the input builder only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CrawlerBody, crawlerRequest, readFormats, type CrawlerSpec } from '../../src/api/routes/crawler/schema';
import { loadConfig } from '../../src/config';
import { buildCrawlWorkflowInput } from '../../src/temporal/crawlInput';

const config = loadConfig({ CRAWL_MAX_PAGES: '500', CRAWL_PAGE_CONCURRENCY: '8' });
const schema = CrawlerBody(config);
const ctx = { projectName: 'acme', apiBase: 'https://hooks.example', concurrencyCap: 4 };

function read(body: Record<string, unknown>) {
  const r = schema.safeParse(body);
  if (!r.success) assert.fail(`refused: ${JSON.stringify(r.error.issues)}`);
  return crawlerRequest(r.data as CrawlerSpec, ctx);
}

/** The field paths a body is refused for (`url_list[1]`, `delay`), or [] when accepted. */
function refusedAt(body: Record<string, unknown>): string[] {
  const r = schema.safeParse(body);
  if (r.success) return [];
  return r.error.issues.map((i) =>
    i.code === 'unrecognized_keys'
      ? `unknown:${i.keys.join(',')}`
      : i.path.reduce<string>((out, k) => (typeof k === 'number' ? `${out}[${k}]` : out ? `${out}.${String(k)}` : String(k)), ''),
  );
}

describe('the crawler request', () => {
  it('fills every default from a bare url, as Scrapfly documents them', () => {
    const r = read({ url: 'HTTP://Example.com:80/blog' });
    assert.equal(r.kind, 'crawler');
    assert.equal(r.apiVersion, 0);
    assert.equal(r.url, 'http://example.com/blog');
    assert.deepEqual(r.seeds, [{ url: 'http://example.com/blog', canonical: 'http://example.com/blog', depth: 0 }]);
    assert.equal(r.pageLimit, 500, 'page_limit absent is CRAWL_MAX_PAGES');
    assert.equal(r.webhook, null);
    assert.equal(r.webhookName, null);
    assert.deepEqual(r.options.scope, { pathSyntax: 'wildcard', crawlEntireDomain: false, allowSubdomains: true, allowExternalLinks: false });
    assert.equal(r.options.sitemap, 'skip');
    assert.equal(r.options.ignoreRobotsTxt, false);
    assert.equal(r.options.maxConcurrency, null);
    assert.deepEqual(r.options.headers, {});
    assert.equal(r.options.userAgent, null);
    assert.deepEqual(r.options.crawler, {
      formats: ['html'],
      events: [],
      discover: true,
      maxDurationMs: 900_000,
      delayMs: 0,
      renderingDelayMs: 0,
      ignoreNoFollow: false,
      seedUrl: 'http://example.com/blog',
      projectName: 'acme',
      apiBase: 'https://hooks.example',
    });
  });

  it('maps each option onto the engine’s names', () => {
    const r = read({
      url: 'https://example.com/',
      page_limit: 40,
      max_depth: 3,
      max_duration: 60,
      exclude_paths: ['/private/*', '*.pdf'],
      ignore_base_path_restriction: true,
      follow_external_links: true,
      allowed_external_domains: ['*.Example.org'],
      follow_internal_subdomains: false,
      allowed_internal_subdomains: ['docs.example.com'],
      headers: { 'X-Test': 'yes' },
      delay: 250,
      user_agent: 'crawler-test/1',
      max_concurrency: 3,
      rendering_delay: 500,
      use_sitemaps: true,
      respect_robots_txt: false,
      ignore_no_follow: true,
      content_formats: ['markdown', 'text', 'markdown', 'page_metadata'],
      webhook_name: 'Crawl-Hook',
      webhook_events: ['crawler_finished', 'crawler_url_visited'],
    });
    assert.equal(r.pageLimit, 40);
    assert.deepEqual(r.options.scope, {
      pathSyntax: 'wildcard',
      crawlEntireDomain: true,
      allowSubdomains: false,
      allowExternalLinks: true,
      maxDiscoveryDepth: 3,
      excludePaths: ['/private/*', '*.pdf'],
      allowedSubdomains: ['docs.example.com'],
      allowedExternalDomains: ['*.example.org'],
    });
    assert.equal(r.options.sitemap, 'include');
    assert.equal(r.options.ignoreRobotsTxt, true);
    assert.equal(r.options.maxConcurrency, 3);
    assert.deepEqual(r.options.headers, { 'X-Test': 'yes' });
    assert.equal(r.options.userAgent, 'crawler-test/1');
    assert.equal(r.webhookName, 'crawl-hook', 'lower-cased, as Scrapfly does');
    const c = r.options.crawler!;
    assert.deepEqual(c.formats, ['markdown', 'text', 'page_metadata']);
    assert.deepEqual(c.events, ['crawler_url_visited', 'crawler_finished'], 'in the events’ own order, once each');
    assert.equal(c.maxDurationMs, 60_000);
    assert.equal(c.delayMs, 250);
    assert.equal(c.renderingDelayMs, 500);
    assert.equal(c.ignoreNoFollow, true);
    assert.equal(read({ url: 'https://example.com/', include_only_paths: ['/blog/*'] }).options.scope.includePaths?.[0], '/blog/*');
  });

  it('a named webhook without events gets the four lifecycle events; no webhook, none', () => {
    assert.deepEqual(read({ url: 'https://example.com/', webhook_name: 'hook' }).options.crawler!.events, [
      'crawler_started',
      'crawler_stopped',
      'crawler_cancelled',
      'crawler_finished',
    ]);
    assert.deepEqual(read({ url: 'https://example.com/', webhook_name: 'hook', webhook_events: [] }).options.crawler!.events.length, 4);
    assert.deepEqual(read({ url: 'https://example.com/', webhook_events: ['crawler_finished'] }).options.crawler!.events, []);
  });

  it('page_limit 0 is CRAWL_MAX_PAGES, a larger one is capped, and a credit cap caps pages', () => {
    assert.equal(read({ url: 'https://example.com/', page_limit: 0 }).pageLimit, 500);
    assert.equal(read({ url: 'https://example.com/', page_limit: 100_000 }).pageLimit, 500);
    assert.equal(read({ url: 'https://example.com/', page_limit: 20, max_api_credit: 7 }).pageLimit, 7);
    assert.equal(read({ url: 'https://example.com/', max_api_credit: 0 }).pageLimit, 500);
  });

  it('max_concurrency never exceeds the plan’s cap; 0 means as many as allowed', () => {
    assert.equal(read({ url: 'https://example.com/', max_concurrency: 50 }).options.maxConcurrency, 4);
    assert.equal(read({ url: 'https://example.com/', max_concurrency: 0 }).options.maxConcurrency, null);
  });

  it('delay is a number or a numeric string, 0 to 15000 ms', () => {
    assert.equal(read({ url: 'https://example.com/', delay: '1000' }).options.crawler!.delayMs, 1000);
    assert.equal(read({ url: 'https://example.com/', delay: 0 }).options.crawler!.delayMs, 0);
    assert.deepEqual(refusedAt({ url: 'https://example.com/', delay: 'soon' }), ['delay']);
    assert.deepEqual(refusedAt({ url: 'https://example.com/', delay: 15_001 }), ['delay']);
    assert.deepEqual(refusedAt({ url: 'https://example.com/', delay: -1 }), ['delay']);
    assert.deepEqual(refusedAt({ url: 'https://example.com/', delay: 1.5 }), ['delay']);
  });

  it('a url_list crawls its URLs only (no discovery, no sitemap), deduplicated, the first the seed', () => {
    const r = read({ url_list: ['https://example.com/a', ' https://example.com/b ', 'https://EXAMPLE.com/a#x'], use_sitemaps: true });
    assert.deepEqual(
      r.seeds.map((s) => s.url),
      ['https://example.com/a', 'https://example.com/b'],
    );
    assert.equal(r.url, 'https://example.com/a');
    assert.equal(r.options.crawler!.discover, false);
    assert.equal(r.options.crawler!.seedUrl, 'https://example.com/a');
    assert.equal(r.options.sitemap, 'skip');
  });

  it('accepts the options that have no effect here', () => {
    const r = read({
      url: 'https://example.com/',
      asp: true,
      proxy_pool: 'public_residential_pool',
      country: 'us,ca',
      cache: true,
      cache_ttl: 3600,
      cache_clear: false,
    });
    assert.equal(r.kind, 'crawler');
    assert.equal(read({ url: 'https://example.com/', key: 'stray' }).kind, 'crawler', 'a key in the body is dropped');
    assert.equal(read({ url: 'https://example.com/', page_limit: null, webhook_name: null }).pageLimit, 500, 'null is absent');
  });

  it('refuses, naming the field: unknown keys, out-of-range values, what is not supported', () => {
    const base = { url: 'https://example.com/' };
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ ...base, pages: 3 }, ['unknown:pages']],
      [{ ...base, page_limit: -1 }, ['page_limit']],
      [{ ...base, page_limit: 2.5 }, ['page_limit']],
      [{ ...base, page_limit: '5' }, ['page_limit']],
      [{ ...base, max_depth: -1 }, ['max_depth']],
      [{ ...base, max_duration: 14 }, ['max_duration']],
      [{ ...base, max_duration: 10_801 }, ['max_duration']],
      [{ ...base, rendering_delay: 25_001 }, ['rendering_delay']],
      [{ ...base, cache_ttl: 604_801 }, ['cache_ttl']],
      [{ ...base, max_concurrency: -1 }, ['max_concurrency']],
      [{ ...base, exclude_paths: new Array(101).fill('/x') }, ['exclude_paths']],
      [{ ...base, allowed_external_domains: ['a b'] }, ['allowed_external_domains[0]']],
      [{ ...base, headers: { 'bad header': 'x' } }, ['headers.bad header']],
      [{ ...base, headers: { 'X-A': 'a\r\nX-B: b' } }, ['headers.X-A']],
      [{ ...base, respect_robots_txt: 'yes' }, ['respect_robots_txt']],
      [{ ...base, webhook_events: ['crawler_updated'] }, ['webhook_events[0]']],
      [{ ...base, content_formats: ['markdown', 'extracted_data'] }, ['content_formats[1]']],
      [{ ...base, content_formats: ['pdf'] }, ['content_formats[0]']],
      [{ ...base, extraction_rules: { '*': { type: 'prompt', value: 'x' } } }, ['extraction_rules']],
      [{ ...base, exclude_paths: ['/a'], include_only_paths: ['/b'] }, ['include_only_paths']],
      [{ ...base, webhook_name: 'no spaces' }, ['webhook_name']],
      [{ url: 'ftp://example.com/' }, ['url']],
      [{ url: 'not a url' }, ['url']],
      [{}, ['url']],
      [{ ...base, url_list: ['https://example.com/x'] }, ['url_list']],
      [{ url_list: ['https://example.com/x', 'nope'] }, ['url_list[1]']],
      [{ url_list: new Array(501).fill(0).map((_, i) => `https://example.com/${i}`) }, ['url_list']],
      [{ remote_url_list: 'https://example.com/list.txt' }, ['remote_url_list']],
    ];
    for (const [body, expected] of cases) assert.deepEqual(refusedAt(body), expected, JSON.stringify(body).slice(0, 120));
  });
});

describe('formats a read asks for', () => {
  it('defaults to what the crawler stores and refuses anything else', () => {
    assert.deepEqual(readFormats(undefined, ['html', 'markdown']), ['html', 'markdown']);
    assert.deepEqual(readFormats('markdown', ['html', 'markdown']), ['markdown']);
    assert.deepEqual(readFormats('markdown,html,markdown', ['html', 'markdown']), ['markdown', 'html']);
    assert.deepEqual(readFormats(['html', 'markdown'], ['html', 'markdown']), ['html', 'markdown']);
    assert.match(readFormats('undefined', ['html']) as string, /"undefined" is not a format this crawler stores; it stores html/);
    assert.match(readFormats(',', ['html']) as string, /must name a format/);
  });
});

describe('the crawl workflow input of a crawler', () => {
  it('carries max_duration and delay; a delay means one fetch at a time', () => {
    const crawler = { maxDurationMs: 60_000, delayMs: 250 };
    const a = buildCrawlWorkflowInput(config, { crawlId: 'c1', kind: 'crawler', maxConcurrency: 4, crawler });
    assert.equal(a.maxDurationMs, 60_000);
    assert.equal(a.delayMs, 250);
    assert.equal(a.pageConcurrency, 1);
    const b = buildCrawlWorkflowInput(config, {
      crawlId: 'c2',
      kind: 'crawler',
      maxConcurrency: null,
      crawler: { maxDurationMs: 900_000, delayMs: 0 },
    });
    assert.equal(b.pageConcurrency, 8);
    assert.ok(!('delayMs' in b), 'no delay: no field, so no timer command');
    // A Firecrawl crawl's input is as before: neither field.
    const f = buildCrawlWorkflowInput(config, { crawlId: 'c3', kind: 'crawl', maxConcurrency: 2 });
    assert.equal(f.pageConcurrency, 2);
    assert.ok(!('maxDurationMs' in f) && !('delayMs' in f));
  });
});
