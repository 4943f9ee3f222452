// collectSitemapUrls against loopback servers: indexes, gzip, cycles, caps
// and broken sitemaps, through the guarded client.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { collectSitemapUrls, MAX_SITEMAPS_READ } from '../../../src/crawl/sitemapFetch';
import { Loopback, routes, send, type Handler } from '../../helpers/loopback';

const lb = new Loopback();
after(() => lb.close());
const http = lb.agent();

const NS = 'http://www.sitemaps.org/schemas/sitemap/0.9';
const urlset = (urls: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="${NS}">${urls.map((u) => `<url><loc>${u}</loc></url>`).join('')}</urlset>`;
const index = (maps: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="${NS}">${maps.map((u) => `<sitemap><loc>${u}</loc></sitemap>`).join('')}</sitemapindex>`;
const xml = (body: string): Handler => send(200, body, { 'content-type': 'application/xml' });
const opts = { timeoutMs: 2000, maxUrls: 1000 };

describe('collectSitemapUrls', () => {
  it('reads /sitemap.xml, follows its index, gunzips .gz, adds the robots sitemaps', async () => {
    let o = '';
    const srv = await lb.server((req, res) =>
      routes({
        '/sitemap.xml': xml(index([`${o}/a.xml`, `${o}/b.xml.gz`])),
        '/a.xml': xml(urlset([`${o}/p1`, `${o}/p2?x=1&amp;a=2`])),
        '/b.xml.gz': send(200, gzipSync(urlset([`${o}/p3`, `${o}/p1`])), { 'content-type': 'application/x-gzip' }),
        '/from-robots.xml': send(200, gzipSync(`${o}/p4\n${o}/p5\n`), { 'content-type': 'text/plain', 'content-encoding': 'gzip' }),
      })(req, res),
    );
    o = srv.origin;
    const r = await collectSitemapUrls(`${o}/start/here`, [`${o}/from-robots.xml`, `${o}/sitemap.xml`], { http }, opts);
    assert.deepEqual(r.urls, [`${o}/p4`, `${o}/p5`, `${o}/p1`, `${o}/p2?a=2&x=1`, `${o}/p3`]);
    assert.deepEqual(r.read, [`${o}/sitemap.xml`, `${o}/from-robots.xml`, `${o}/a.xml`, `${o}/b.xml.gz`]);
    assert.deepEqual(r.problems, []);
    assert.equal(r.truncated, false);
    assert.equal(srv.hits('/sitemap.xml'), 1);
  });

  it('reads each sitemap once, whatever the indexes say (cycles)', async () => {
    let o = '';
    const srv = await lb.server((req, res) =>
      routes({
        '/sitemap.xml': xml(index([`${o}/sitemap.xml`, `${o}/other-index.xml`])),
        '/other-index.xml': xml(index([`${o}/sitemap.xml`, `${o}/other-index.xml`, `${o}/pages.xml`])),
        '/pages.xml': xml(urlset([`${o}/p`])),
      })(req, res),
    );
    o = srv.origin;
    const r = await collectSitemapUrls(`${o}/`, [], { http }, opts);
    assert.deepEqual(r.urls, [`${o}/p`]);
    assert.equal(r.read.length, 3);
    assert.equal(srv.requests.length, 3);
  });

  it(`reads at most ${MAX_SITEMAPS_READ} sitemaps`, async () => {
    let o = '';
    // Every index lists two more: an endless tree.
    const srv = await lb.server((req, res) => {
      const n = Number(/\/s(\d+)\.xml/.exec(req.url ?? '')?.[1] ?? 0);
      xml(index([`${o}/s${2 * n + 1}.xml`, `${o}/s${2 * n + 2}.xml`]))(req, res);
    });
    o = srv.origin;
    const r = await collectSitemapUrls(`${o}/`, [], { http }, opts);
    assert.equal(r.read.length, MAX_SITEMAPS_READ);
    assert.equal(srv.requests.length, MAX_SITEMAPS_READ);
    assert.equal(r.truncated, true);
    assert.match(r.problems.at(-1)!.problem, /more than 25 sitemaps/);
    const small = await collectSitemapUrls(`${o}/`, [], { http }, { ...opts, maxSitemaps: 3 });
    assert.equal(small.read.length, 3);
  });

  it('keeps at most maxUrls URLs, deduped, and stops reading', async () => {
    let o = '';
    const srv = await lb.server((req, res) =>
      routes({
        '/sitemap.xml': xml(index([`${o}/a.xml`, `${o}/b.xml`])),
        '/a.xml': xml(urlset([`${o}/1`, `${o}/1#frag`, `${o}/2`])),
        '/b.xml': xml(urlset([`${o}/3`, `${o}/4`])),
      })(req, res),
    );
    o = srv.origin;
    const r = await collectSitemapUrls(`${o}/`, [], { http }, { ...opts, maxUrls: 3 });
    assert.deepEqual(r.urls, [`${o}/1`, `${o}/2`, `${o}/3`]);
    assert.equal(r.truncated, true);
    const two = await collectSitemapUrls(`${o}/`, [], { http }, { ...opts, maxUrls: 2 });
    assert.deepEqual(two.urls, [`${o}/1`, `${o}/2`]);
    assert.equal(two.truncated, true);
    assert.equal(srv.hits('/b.xml'), 1, 'the second walk stopped before b.xml');
  });

  it('ignoreQuery drops queries of page URLs (not of sitemap URLs)', async () => {
    let o = '';
    const srv = await lb.server((req, res) =>
      routes({
        '/sitemap.xml': xml(index([`${o}/map?page=1`, `${o}/map?page=2`])),
        '/map': (rq, rs) => xml(urlset([`${o}/item?id=${(rq.url ?? '').slice(-1)}`, `${o}/same?utm=x`]))(rq, rs),
      })(req, res),
    );
    o = srv.origin;
    const r = await collectSitemapUrls(`${o}/`, [], { http }, { ...opts, ignoreQuery: true });
    assert.deepEqual(r.urls, [`${o}/item`, `${o}/same`]);
    assert.equal(srv.hits('/map?page=1') + srv.hits('/map?page=2'), 2);
  });

  it('never throws for broken sitemaps: each is a problem and the walk goes on', async () => {
    let o = '';
    const srv = await lb.server((req, res) =>
      routes({
        // /sitemap.xml: 404
        // fast-xml-parser forgives unclosed tags; it refuses external entities.
        '/broken.xml': xml('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><urlset><url><loc>&x;</loc></url></urlset>'),
        '/feed.xml': xml('<rss><channel></channel></rss>'),
        '/bad.gz': send(200, Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3]), { 'content-type': 'application/gzip' }),
        '/bomb.xml.gz': send(200, gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20)), { 'content-type': 'application/gzip' }),
        '/mixed.xml': xml(urlset([`${o}/good`, 'relative/path', 'mailto:x@y'])),
        '/slow.xml': () => undefined,
      })(req, res),
    );
    o = srv.origin;
    const robots = ['/broken.xml', '/feed.xml', '/bad.gz', '/bomb.xml.gz', '/slow.xml', '/mixed.xml'].map((p) => `${o}${p}`);
    const r = await collectSitemapUrls(`${o}/`, [...robots, 'not a url'], { http }, { ...opts, timeoutMs: 300, maxBytes: 1024 * 1024 });
    assert.deepEqual(r.urls, [`${o}/good`]);
    const byUrl = Object.fromEntries(r.problems.map((p) => [p.url.replace(o, ''), p.problem]));
    assert.deepEqual(byUrl, {
      'not a url': 'not an http(s) URL',
      '/sitemap.xml': 'HTTP 404',
      '/broken.xml': 'not well-formed XML',
      '/feed.xml': 'not a sitemap (no <urlset> or <sitemapindex>)',
      '/bad.gz': byUrl['/bad.gz'],
      '/bomb.xml.gz': 'response is larger than the 1048576 byte cap once decompressed',
      '/slow.xml': 'timed out after 300 ms',
      '/mixed.xml': '2 entries without a usable absolute http(s) URL',
    });
    assert.match(byUrl['/bad.gz']!, /^the gzip body does not decompress/);
  });

  it('a sitemap over maxBytes on the wire is a problem', async () => {
    const srv = await lb.server(routes({ '/sitemap.xml': xml(urlset(Array.from({ length: 200 }, (_, i) => `http://x.test/${i}`))) }));
    const r = await collectSitemapUrls(`${srv.origin}/`, [], { http }, { ...opts, maxBytes: 1000 });
    assert.deepEqual(r.problems, [{ url: `${srv.origin}/sitemap.xml`, problem: 'larger than the 1000 byte cap' }]);
  });

  it('goes through the address guard like every fetch', async () => {
    const srv = await lb.server(routes({ '/sitemap.xml': xml(urlset(['http://x.test/a'])) }));
    const r = await collectSitemapUrls(`${srv.origin}/`, [], { http: lb.agent(false) }, opts);
    assert.deepEqual(r.urls, []);
    assert.match(r.problems[0]!.problem, /^refused by the address guard/);
    assert.equal(srv.connections, 0);
  });
});
