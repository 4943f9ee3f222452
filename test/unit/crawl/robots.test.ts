// robots.txt evaluation (RFC 9309) for the crawler: text and fetch outcome
// in, decisions out.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRobots, ROBOTS_MAX_BYTES, ROBOTS_USER_AGENT, robotsTxtUrl, type RobotsFetchOutcome } from '../../../src/crawl/robots';

const ROBOTS = 'https://example.com/robots.txt';
const ok = (body: string): RobotsFetchOutcome => ({ kind: 'response', status: 200, body });
const policy = (body: string, userAgent?: string) => parseRobots(ROBOTS, ok(body), userAgent === undefined ? {} : { userAgent });
const allowed = (body: string, path: string, userAgent?: string) => policy(body, userAgent).isAllowed(`https://example.com${path}`);

describe('robots.txt: groups', () => {
  const txt = `
# comment
User-agent: *
Disallow: /private/
Crawl-delay: 2

User-agent: HookshotBot
Disallow: /no-hookshot/
Allow: /private/ok
Crawl-delay: 5

User-agent: OtherBot
Disallow: /
`;

  it('uses our group and not * when the file names us', () => {
    assert.equal(allowed(txt, '/no-hookshot/x'), false);
    // Our group does not disallow /private/: the * group does not apply to us.
    assert.equal(allowed(txt, '/private/secret'), true);
    assert.equal(allowed(txt, '/anything'), true);
  });

  it('matches the user agent case-insensitively, ignoring a version', () => {
    assert.equal(allowed(txt.replace('User-agent: HookshotBot', 'user-AGENT: hookshotbot/2.1'), '/no-hookshot/x'), false);
  });

  it('falls back to * for agents without a group of their own', () => {
    assert.equal(allowed(txt, '/private/secret', 'SomeBot'), false);
    assert.equal(allowed(txt, '/no-hookshot/x', 'SomeBot'), true);
    assert.equal(allowed(txt, '/x', 'OtherBot'), false);
  });

  it('merges groups that name the same agent, and groups that list several agents', () => {
    const merged = `User-agent: HookshotBot\nDisallow: /a\n\nUser-agent: *\nDisallow: /\n\nUser-agent: hookshotbot\nDisallow: /b\n`;
    assert.equal(allowed(merged, '/a'), false);
    assert.equal(allowed(merged, '/b'), false);
    assert.equal(allowed(merged, '/c'), true);
    const multi = `User-agent: FooBot\nUser-agent: HookshotBot\nDisallow: /shared\n`;
    assert.equal(allowed(multi, '/shared/x'), false);
  });

  it('allows everything when no group applies, and with an empty Disallow', () => {
    assert.equal(allowed('User-agent: OtherBot\nDisallow: /\n', '/x'), true);
    assert.equal(allowed('User-agent: *\nDisallow:\n', '/x'), true);
    assert.equal(allowed('', '/x'), true);
  });

  it('ignores rules before any User-agent line', () => {
    assert.equal(allowed('Disallow: /\nUser-agent: *\nDisallow: /only\n', '/x'), true);
  });

  it('takes a user agent of the caller’s choice (Firecrawl v2 robotsUserAgent)', () => {
    assert.equal(allowed(txt, '/x', 'OtherBot'), false);
    assert.equal(ROBOTS_USER_AGENT, 'HookshotBot');
  });
});

describe('robots.txt: rule matching', () => {
  it('applies the longest matching rule, Allow winning ties', () => {
    const txt = 'User-agent: *\nDisallow: /shop\nAllow: /shop/public\nDisallow: /shop/public/secret\nAllow: /tie\nDisallow: /tie\n';
    assert.equal(allowed(txt, '/shop/cart'), false);
    assert.equal(allowed(txt, '/shop/public/page'), true);
    assert.equal(allowed(txt, '/shop/public/secret/x'), false);
    assert.equal(allowed(txt, '/tie'), true);
  });

  it('handles * wildcards and the $ end anchor', () => {
    const txt = 'User-agent: *\nDisallow: /*.pdf$\nDisallow: /*/print\nDisallow: /search*q=\n';
    assert.equal(allowed(txt, '/docs/a.pdf'), false);
    assert.equal(allowed(txt, '/docs/a.pdf?download=1'), true);
    assert.equal(allowed(txt, '/docs/a.pdfx'), true);
    assert.equal(allowed(txt, '/article/9/print'), false);
    assert.equal(allowed(txt, '/search?q=x'), false);
    assert.equal(allowed(txt, '/search?page=2'), true);
  });

  it('matches the query as part of the path, and percent-encoding in either case', () => {
    const txt = 'User-agent: *\nDisallow: /a?b=1\nDisallow: /caf%C3%A9\nDisallow: /ü\n';
    assert.equal(allowed(txt, '/a?b=1&c=2'), false);
    assert.equal(allowed(txt, '/a?c=2'), true);
    assert.equal(allowed(txt, '/caf%c3%a9'), false);
    assert.equal(allowed(txt, '/café'), false);
    assert.equal(allowed(txt, '/%C3%BC'), false);
  });

  it('always allows /robots.txt itself', () => {
    assert.equal(allowed('User-agent: *\nDisallow: /\n', '/robots.txt'), true);
    assert.equal(allowed('User-agent: *\nDisallow: /\n', '/x'), false);
  });

  it('reads CRLF and CR line ends, a byte order mark, and comments', () => {
    assert.equal(allowed('\ufeffUser-agent: *\r\nDisallow: /x # no\r\n', '/x'), false);
    assert.equal(allowed('User-agent: *\rDisallow: /y\r', '/y'), false);
    assert.equal(allowed('User-agent: *\nDisallow: /z#comment\n', '/z'), false);
  });
});

describe('robots.txt: origins', () => {
  it('governs exactly one origin, and says so', () => {
    const p = policy('User-agent: *\nDisallow: /x\n');
    assert.equal(p.origin, 'https://example.com');
    assert.equal(p.appliesTo('https://example.com:443/x'), true);
    assert.equal(p.appliesTo('http://example.com/x'), false);
    assert.equal(p.appliesTo('https://www.example.com/x'), false);
    assert.equal(p.appliesTo('https://example.com:8443/x'), false);
    assert.throws(() => p.isAllowed('https://other.com/x'), RangeError);
  });

  it('finds the robots.txt URL of a page, IDN and IPv6 hosts and ports included', () => {
    assert.equal(robotsTxtUrl('https://Example.com:8443/a/b?c#d'), 'https://example.com:8443/robots.txt');
    assert.equal(robotsTxtUrl('http://bücher.example/x'), 'http://xn--bcher-kva.example/robots.txt');
    assert.equal(robotsTxtUrl('http://[2001:db8::1]:80/x'), 'http://[2001:db8::1]/robots.txt');
  });

  it('evaluates IDN and IPv6 origins', () => {
    const idn = parseRobots('https://bücher.example/robots.txt', ok('User-agent: *\nDisallow: /x\n'));
    assert.equal(idn.isAllowed('https://xn--bcher-kva.example/x'), false);
    const v6 = parseRobots('http://[2001:db8::1]/robots.txt', ok('User-agent: *\nDisallow: /x\n'));
    assert.equal(v6.isAllowed('http://[2001:DB8::1]:80/x/y'), false);
  });
});

describe('robots.txt: fetch outcomes (RFC 9309 2.3.1)', () => {
  const disallowAll = 'User-agent: *\nDisallow: /\n';
  const modeOf = (o: RobotsFetchOutcome) => parseRobots(ROBOTS, o);

  it('4xx (404, 401, 403, 410): unavailable, so everything is allowed', () => {
    for (const status of [400, 401, 403, 404, 410]) {
      const p = modeOf({ kind: 'response', status, body: disallowAll });
      assert.equal(p.mode, 'allow_all', String(status));
      assert.equal(p.isAllowed('https://example.com/anything'), true);
    }
  });

  it('5xx, 429 and unreachable: everything is disallowed', () => {
    for (const o of [
      { kind: 'response', status: 500, body: '' },
      { kind: 'response', status: 503, body: '' },
      { kind: 'response', status: 429, body: '' },
      { kind: 'unreachable', error: 'ETIMEDOUT' },
    ] as RobotsFetchOutcome[]) {
      const p = modeOf(o);
      assert.equal(p.mode, 'disallow_all', JSON.stringify(o));
      assert.equal(p.isAllowed('https://example.com/'), false);
      assert.equal(p.isAllowed('https://example.com/robots.txt'), true);
    }
    assert.equal(modeOf({ kind: 'unreachable' }).status, null);
  });

  it('redirects not followed to the end: unavailable, allowed', () => {
    assert.equal(modeOf({ kind: 'response', status: 301, body: '' }).mode, 'allow_all');
    const p = modeOf({ kind: 'redirect_failed', error: 'too_many_redirects' });
    assert.deepEqual([p.mode, p.status, p.isAllowed('https://example.com/x')], ['allow_all', null, true]);
  });

  it('2xx: the rules decide', () => {
    const p = modeOf({ kind: 'response', status: 200, body: disallowAll });
    assert.equal(p.mode, 'rules');
    assert.equal(p.status, 200);
    assert.equal(p.isAllowed('https://example.com/x'), false);
  });

  it('reads only the first 500 KiB, dropping a line cut in two', () => {
    const filler = `# ${'x'.repeat(1000)}\n`.repeat(Math.ceil(ROBOTS_MAX_BYTES / 1003));
    const before = 'User-agent: *\nDisallow: /early\n';
    const p = policy(`${before}${filler}Disallow: /late\n`);
    assert.equal(p.truncated, true);
    assert.equal(p.isAllowed('https://example.com/early'), false);
    assert.equal(p.isAllowed('https://example.com/late'), true);
    // A rule straddling the limit is dropped, not read shortened (Disallow: /p would block /public).
    const pad = ROBOTS_MAX_BYTES - before.length - 'Disallow: /p'.length;
    const cut = policy(`${before}${'#'.repeat(pad - 1)}\nDisallow: /private-area\n`);
    assert.equal(cut.truncated, true);
    assert.equal(cut.isAllowed('https://example.com/public'), true);
  });

  it('counts the limit in UTF-8 bytes', () => {
    const p = policy(`User-agent: *\n# ${'é'.repeat(ROBOTS_MAX_BYTES / 2)}\nDisallow: /x\n`);
    assert.equal(p.truncated, true);
    assert.equal(p.isAllowed('https://example.com/x'), true);
  });

  it('trusts the fetcher when it already cut the body', () => {
    const p = parseRobots(ROBOTS, { kind: 'response', status: 200, body: 'User-agent: *\nDisallow: /a\nDisallow: /b', truncated: true });
    assert.equal(p.truncated, true);
    assert.equal(p.isAllowed('https://example.com/a'), false);
    assert.equal(p.isAllowed('https://example.com/b'), true);
  });
});

describe('robots.txt: Crawl-delay and Sitemap', () => {
  it('reports the Crawl-delay of our group, else of *', () => {
    assert.equal(policy('User-agent: *\nCrawl-delay: 2\n\nUser-agent: HookshotBot\nCrawl-delay: 0.5\n').crawlDelaySeconds, 0.5);
    assert.equal(policy('User-agent: *\nCrawl-delay: 3\n').crawlDelaySeconds, 3);
    assert.equal(policy('User-agent: *\nCrawl-delay: soon\n').crawlDelaySeconds, null);
    assert.equal(policy('User-agent: *\nCrawl-delay: -4\n').crawlDelaySeconds, null);
    assert.equal(policy('User-agent: *\nDisallow: /x\n').crawlDelaySeconds, null);
  });

  it('lists Sitemap lines, absolute, http(s) only, deduped, wherever they appear', () => {
    const p = policy(`Sitemap: https://example.com/sitemap.xml
User-agent: *
Disallow: /x
sitemap: /relative-map.xml
Sitemap: https://cdn.example.net/maps/index.xml
Sitemap: ftp://example.com/nope.xml
Sitemap: https://example.com/sitemap.xml
`);
    assert.deepEqual(p.sitemaps, [
      'https://example.com/sitemap.xml',
      'https://example.com/relative-map.xml',
      'https://cdn.example.net/maps/index.xml',
    ]);
  });

  it('reports no sitemaps or delay when the file could not be read', () => {
    const p = parseRobots(ROBOTS, { kind: 'response', status: 503, body: 'Sitemap: https://example.com/s.xml\nCrawl-delay: 9' });
    assert.deepEqual([p.sitemaps, p.crawlDelaySeconds], [[], null]);
  });

  it('refuses a robots URL that is not http(s)', () => {
    assert.throws(() => parseRobots('ftp://example.com/robots.txt', ok('')), RangeError);
  });
});
