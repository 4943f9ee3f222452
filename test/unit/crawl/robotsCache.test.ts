// robots.txt fetched through the guarded client from loopback servers, and
// the per-origin cache in front of it.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRobotsCache, crawlDelayMs, fetchRobots, MAX_CRAWL_DELAY_MS } from '../../../src/crawl/robotsCache';
import { ROBOTS_MAX_BYTES } from '../../../src/crawl/robots';
import { freePort } from '../../helpers/net';
import { Loopback, routes, send } from '../../helpers/loopback';

const lb = new Loopback();
after(() => lb.close());
const http = lb.agent();

const ROBOTS = `User-agent: *
Disallow: /private/
Crawl-delay: 2

User-agent: OtherBot
Disallow: /

Sitemap: /sitemap-a.xml
`;
const text = (body: string, status = 200) => send(status, body, { 'content-type': 'text/plain' });

describe('robots cache: what the fetch gave', () => {
  it('200: the rules decide, crawl-delay and sitemaps come through', async () => {
    const srv = await lb.server(routes({ '/robots.txt': text(ROBOTS) }));
    const cache = createRobotsCache({ http, timeoutMs: 2000 });
    const p = await cache.policyFor(`${srv.origin}/some/page`);
    assert.equal(p.mode, 'rules');
    assert.equal(p.status, 200);
    assert.equal(p.isAllowed(`${srv.origin}/private/x`), false);
    assert.equal(p.isAllowed(`${srv.origin}/public`), true);
    assert.equal(p.crawlDelaySeconds, 2);
    assert.equal(crawlDelayMs(p), 2000);
    assert.deepEqual(p.sitemaps, [`${srv.origin}/sitemap-a.xml`]);
    assert.match(String(srv.requests[0]!.headers['user-agent']), /^HookshotBot\//);
  });

  it('the robots user agent picks the group', async () => {
    const srv = await lb.server(routes({ '/robots.txt': text(ROBOTS) }));
    const cache = createRobotsCache({ http, timeoutMs: 2000 });
    const other = await cache.policyFor(`${srv.origin}/`, 'OtherBot');
    assert.equal(other.isAllowed(`${srv.origin}/public`), false);
    const ours = await cache.policyFor(`${srv.origin}/`);
    assert.equal(ours.isAllowed(`${srv.origin}/public`), true);
    assert.equal(srv.hits('/robots.txt'), 1, 'one fetch serves every user agent');
  });

  it('404 allows everything; 500 and 429 disallow everything', async () => {
    for (const [status, mode] of [
      [404, 'allow_all'],
      [500, 'disallow_all'],
      [429, 'disallow_all'],
    ] as const) {
      const srv = await lb.server(routes({ '/robots.txt': text('User-agent: *\nDisallow: /', status) }));
      const p = await createRobotsCache({ http, timeoutMs: 2000 }).policyFor(`${srv.origin}/x`);
      assert.equal(p.mode, mode, `HTTP ${status}`);
      assert.equal(p.status, status);
      assert.equal(p.isAllowed(`${srv.origin}/x`), mode === 'allow_all');
    }
  });

  it('unreachable (closed port, refused address, timeout) disallows everything', async () => {
    const port = await freePort();
    const closed = await createRobotsCache({ http, timeoutMs: 2000 }).policyFor(`http://127.0.0.1:${port}/x`);
    assert.equal(closed.mode, 'disallow_all');
    assert.equal(closed.status, null);

    const srv = await lb.server(routes({ '/robots.txt': text('') }));
    const refused = await createRobotsCache({ http: lb.agent(false), timeoutMs: 2000 }).policyFor(`${srv.origin}/x`);
    assert.equal(refused.mode, 'disallow_all');
    assert.equal(srv.connections, 0);

    const silent = await lb.server(() => undefined);
    const outcome = await fetchRobots(http, `${silent.origin}/robots.txt`, { timeoutMs: 200 });
    assert.deepEqual(outcome, { kind: 'unreachable', error: 'timed out after 200 ms' });
  });

  it('redirects are followed; a redirect loop counts as no file (allow all)', async () => {
    const srv = await lb.server(
      routes({
        '/robots.txt': send(301, '', { location: '/real-robots.txt' }),
        '/real-robots.txt': text('User-agent: *\nDisallow: /no'),
      }),
    );
    const p = await createRobotsCache({ http, timeoutMs: 2000 }).policyFor(`${srv.origin}/`);
    assert.equal(p.isAllowed(`${srv.origin}/no`), false);

    const loop = await lb.server((_req, res) => {
      res.writeHead(302, { location: '/robots.txt' });
      res.end();
    });
    const outcome = await fetchRobots(http, `${loop.origin}/robots.txt`, { timeoutMs: 2000 });
    assert.equal(outcome.kind, 'redirect_failed');
    const q = await createRobotsCache({ http, timeoutMs: 2000 }).policyFor(`${loop.origin}/`);
    assert.equal(q.mode, 'allow_all');
  });

  it('reads at most ROBOTS_MAX_BYTES and says the file was truncated', async () => {
    const big = 'User-agent: *\nDisallow: /early\n' + '# filler\n'.repeat(ROBOTS_MAX_BYTES / 9 + 10) + 'Disallow: /late\n';
    const srv = await lb.server(routes({ '/robots.txt': text(big) }));
    const p = await createRobotsCache({ http, timeoutMs: 5000 }).policyFor(`${srv.origin}/`);
    assert.equal(p.truncated, true);
    assert.equal(p.isAllowed(`${srv.origin}/early`), false);
    assert.equal(p.isAllowed(`${srv.origin}/late`), true);
  });

  it('rejects a URL that is not http(s)', async () => {
    await assert.rejects(createRobotsCache({ http, timeoutMs: 100 }).policyFor('ftp://example.com/x'), RangeError);
    await assert.rejects(createRobotsCache({ http, timeoutMs: 100 }).policyFor('not a url'), RangeError);
  });
});

describe('robots cache: caching', () => {
  it('one fetch per origin, shared by concurrent askers', async () => {
    const srv = await lb.server(
      routes({
        '/robots.txt': (_req, res) => {
          setTimeout(() => {
            res.writeHead(200, { 'content-type': 'text/plain' });
            res.end('User-agent: *\nDisallow: /p');
          }, 150);
        },
      }),
    );
    const cache = createRobotsCache({ http, timeoutMs: 2000 });
    const policies = await Promise.all(Array.from({ length: 8 }, (_, i) => cache.policyFor(`${srv.origin}/page${i}`)));
    assert.equal(srv.hits('/robots.txt'), 1);
    assert.ok(policies.every((p) => p === policies[0]));
    await cache.policyFor(`${srv.origin}/later`);
    assert.equal(srv.hits('/robots.txt'), 1);
    assert.equal(cache.size, 1);
  });

  it('expires after ttlMs; failures after failureTtlMs', async () => {
    let clock = 1_000;
    let status = 200;
    const srv = await lb.server(routes({ '/robots.txt': (_req, res) => text('User-agent: *\nDisallow: /p', status)(_req, res) }));
    const cache = createRobotsCache({ http, timeoutMs: 2000, ttlMs: 10_000, failureTtlMs: 1_000, now: () => clock });
    await cache.policyFor(`${srv.origin}/`);
    clock += 9_999;
    await cache.policyFor(`${srv.origin}/`);
    assert.equal(srv.hits('/robots.txt'), 1);
    clock += 1;
    status = 503;
    const failed = await cache.policyFor(`${srv.origin}/`);
    assert.equal(srv.hits('/robots.txt'), 2);
    assert.equal(failed.mode, 'disallow_all');
    clock += 999;
    await cache.policyFor(`${srv.origin}/`);
    assert.equal(srv.hits('/robots.txt'), 2);
    clock += 1;
    status = 200;
    const back = await cache.policyFor(`${srv.origin}/`);
    assert.equal(srv.hits('/robots.txt'), 3);
    assert.equal(back.mode, 'rules');
  });

  it('keeps at most maxEntries origins, dropping the least recently used', async () => {
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => lb.server(routes({ '/robots.txt': text('') }))));
    const cache = createRobotsCache({ http, timeoutMs: 2000, maxEntries: 2 });
    await cache.policyFor(`${a!.origin}/`);
    await cache.policyFor(`${b!.origin}/`);
    await cache.policyFor(`${a!.origin}/`); // a is now the most recent
    await cache.policyFor(`${c!.origin}/`); // evicts b
    assert.equal(cache.size, 2);
    await cache.policyFor(`${a!.origin}/`);
    assert.equal(a!.hits('/robots.txt'), 1);
    await cache.policyFor(`${b!.origin}/`);
    assert.equal(b!.hits('/robots.txt'), 2);
  });
});

describe('crawlDelayMs', () => {
  it('is the Crawl-delay in ms, clamped to 0..MAX_CRAWL_DELAY_MS', () => {
    assert.equal(MAX_CRAWL_DELAY_MS, 10_000);
    assert.equal(crawlDelayMs({ crawlDelaySeconds: null }), 0);
    assert.equal(crawlDelayMs({ crawlDelaySeconds: 0 }), 0);
    assert.equal(crawlDelayMs({ crawlDelaySeconds: 0.5 }), 500);
    assert.equal(crawlDelayMs({ crawlDelaySeconds: 3600 }), 10_000);
    assert.equal(crawlDelayMs({ crawlDelaySeconds: 3600 }, 2000), 2000);
    assert.equal(crawlDelayMs({ crawlDelaySeconds: -1 }), 0);
    assert.equal(crawlDelayMs({ crawlDelaySeconds: Number.POSITIVE_INFINITY }), 0);
  });
});
