// The test infrastructure's own promises: the crawl site serves what its
// graph says (checked by an independent little crawler over real HTTP), the
// HTTPS receiver is trusted through NODE_EXTRA_CA_CERTS alone, and the Python
// Firecrawl signature verifier tells a good body from a tampered one.
// Sockets go to loopback only.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AddressGuard, parseCidrList } from '../../../src/net/addressGuard';
import { createGuardedAgent, request } from '../../../src/net/httpClient';
import { canonicalTarget, startCrawlSite, type CrawlSite } from '../../helpers/crawlSite';
import { startHttpsReceiver } from '../../helpers/httpsReceiver';
import { testTls, TLS_DIR_ENV } from '../../helpers/tls';
import { verifyFirecrawlWithPython } from '../../helpers/verify';

const execFileP = promisify(execFile);

/** hrefs as an HTML parser would give them (the site writes only double-quoted attributes). */
function hrefs(html: string): { base: string | null; links: string[] } {
  const unescape = (s: string) =>
    s
      .replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<')
      .replace(/&amp;/g, '&');
  const base = /<base href="([^"]*)"/.exec(html)?.[1];
  return { base: base === undefined ? null : unescape(base), links: [...html.matchAll(/<a href="([^"]*)"/g)].map((m) => unescape(m[1]!)) };
}

/**
 * A crawler written for this test alone: breadth first from `/` plus the
 * same-host sitemap URLs, robots' one rule, no redirect following but the
 * Location taken as a link. Returns what it fetched and what it saw.
 */
async function miniCrawl(site: CrawlSite) {
  const origin = new URL(site.url).origin;
  const robots = await (await fetch(`${origin}/robots.txt`)).text();
  const disallow = /^Disallow: (.+)$/m.exec(robots)![1]!;
  const sitemap = await (await fetch(`${origin}/sitemap.xml`)).text();
  const locs = [...sitemap.matchAll(/<loc>([^<]*)<\/loc>/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
  const seen = new Set<string>();
  const statuses = new Map<string, number>();
  const titles = new Map<string, string>();
  const outOfScope = new Set<string>();
  const queue = ['/'];
  const consider = (abs: URL) => {
    if (abs.origin !== origin) return outOfScope.add(abs.href);
    const t = canonicalTarget(abs.pathname + abs.search);
    if (t.startsWith(disallow)) return outOfScope.add(t);
    queue.push(t);
  };
  for (const u of locs) consider(new URL(u));
  while (queue.length) {
    const batch = [...new Set(queue.splice(0).map(canonicalTarget))].filter((t) => !seen.has(t) && !t.startsWith(disallow));
    batch.forEach((t) => seen.add(t));
    await Promise.all(
      batch.map(async (t) => {
        const res = await fetch(origin + t, { redirect: 'manual' });
        statuses.set(t, res.status);
        const body = await res.text();
        if (res.status >= 300 && res.status < 400) return consider(new URL(res.headers.get('location')!, origin + t));
        if (res.status !== 200 || !res.headers.get('content-type')!.startsWith('text/html')) return;
        titles.set(t, /<title>([^<]*)<\/title>/.exec(body)![1]!);
        assert.match(body, /<h1[^>]*>[^<]+<\/h1>/, `${t} has an h1`);
        const { base, links } = hrefs(body);
        const baseUrl = base === null ? new URL(origin + t) : new URL(base, origin + t);
        for (const l of links) consider(new URL(l, baseUrl));
      }),
    );
  }
  return { seen, statuses, titles, outOfScope, robots, locs };
}

describe('crawl site', () => {
  it('serves exactly the graph it promises: an independent crawl finds the expected set', async () => {
    const site = await startCrawlSite({ slowMs: 20 });
    try {
      const crawl = await miniCrawl(site);
      assert.deepEqual([...crawl.seen].sort(), [...site.expected.pages].sort());
      // Closed under in-scope links, and no link of an expected page leads to a 404.
      for (const [t, status] of crawl.statuses) assert.notEqual(status, 404, `${t} is linked but missing`);
      assert.ok(site.expected.pages.size >= 230 && site.expected.pages.size <= 260, `about 240 pages, got ${site.expected.pages.size}`);
      assert.equal(crawl.statuses.get(site.paths.error), 500);
      assert.equal(crawl.statuses.get(site.paths.redirect), 302);
      assert.equal(new Set(crawl.titles.values()).size, crawl.titles.size, 'titles are unique');
      assert.equal(crawl.titles.get('/p/5'), 'Page /p/5');

      // The traps are in place, and the expected set avoids them.
      const e = site.expected.pages;
      assert.ok(e.has(site.paths.queryVariant) && e.has('/p/4') && !e.has('/p/4?b=2&a=1'));
      assert.ok(e.has(site.paths.baseTarget) && !e.has(site.paths.baseTrap), '<base href> decides where from-base goes');
      assert.ok(e.has(site.paths.pdf) && e.has(site.paths.redirectTarget) && e.has(site.paths.slow));
      for (const p of [...site.paths.private, site.paths.behindPrivate]) assert.ok(!e.has(p), `${p} is not expected`);
      assert.ok(crawl.outOfScope.has('/private/1') && crawl.outOfScope.has('/private/sitemap-listed'));
      assert.ok(site.externalUrls.length >= 3 && site.externalUrls.every((u) => crawl.outOfScope.has(u)));
      for (const p of site.paths.sitemapOnly) assert.ok(e.has(p), `${p} is expected through the sitemap`);
      for (const p of [...site.paths.blog, ...site.paths.docs, ...site.paths.deep]) assert.ok(e.has(p), p);

      // What the server logged agrees with what was fetched.
      assert.deepEqual([...site.fetchedPages()].sort(), [...e].sort());
      assert.ok(site.log.every((l) => l.host === site.host && !l.path.startsWith('/private/')));
      assert.equal(site.hits.get('/robots.txt'), 1);
      assert.equal(site.log[0]!.path, '/robots.txt');
      assert.match(site.log[0]!.userAgent ?? '', /node/i);
      // Either spelling of the query variant is the one page; other queries are not pages.
      const spelled = await (await fetch(new URL('/p/4?b=2&a=1#top', site.url))).text();
      assert.match(spelled, /<title>Page \/p\/4\?a=1&amp;b=2<\/title>/);
      assert.equal((await fetch(new URL('/p/4?c=3', site.url))).status, 404);
      const pdf = await fetch(new URL(site.paths.pdf, site.url));
      assert.equal(pdf.headers.get('content-type'), 'application/pdf');
      assert.equal(
        Buffer.from(await pdf.arrayBuffer())
          .subarray(0, 5)
          .toString(),
        '%PDF-',
      );
    } finally {
      await site.close();
    }
  });

  it('robots.txt disallows /private/ for * and names the sitemap; the sitemap alone reaches /only-in-sitemap/', async () => {
    const site = await startCrawlSite({ pages: 60 });
    try {
      const robots = await (await fetch(new URL('/robots.txt', site.url))).text();
      assert.match(robots, /^User-agent: \*\nDisallow: \/private\/\n/);
      assert.ok(robots.includes(`\nSitemap: ${site.url}sitemap.xml\n`));
      const res = await fetch(new URL('/sitemap.xml', site.url));
      assert.equal(res.headers.get('content-type'), 'application/xml');
      const locs = [...(await res.text()).matchAll(/<loc>([^<]*)<\/loc>/g)].map((m) => m[1]!);
      assert.deepEqual(locs, site.sitemapUrls);
      assert.ok(locs.includes(`${site.externalOrigin}/external/sitemap`) && locs.includes(`${site.url}private/sitemap-listed`));

      const linksOnly = site.expectedPaths({ sitemap: false }).pages;
      for (const p of site.paths.sitemapOnly) assert.ok(!linksOnly.has(p) && site.expected.pages.has(p), p);
      const ignoring = site.expectedPaths({ robots: false }).pages;
      for (const p of [...site.paths.private, site.paths.behindPrivate]) assert.ok(ignoring.has(p), p);
      assert.ok(![...ignoring].some((p) => p.startsWith('/external/')), 'other host stays out even without robots');
    } finally {
      await site.close();
    }
  });

  it('robots.txt can fail: 404 allows everything, 500 disallows everything (RFC 9309)', async () => {
    for (const robots of [404, 500] as const) {
      const site = await startCrawlSite({ pages: 20, robots });
      try {
        assert.equal((await fetch(new URL('/robots.txt', site.url))).status, robots);
        if (robots === 404) assert.ok(site.expected.pages.has('/private/1') && site.expected.pages.has('/behind-private'));
        else assert.equal(site.expected.pages.size, 0);
      } finally {
        await site.close();
      }
    }
  });

  it('depth counts link hops from /: the deep chain, and maxDepth and follow filters', async () => {
    const site = await startCrawlSite({ pages: 30 });
    try {
      site.paths.deep.forEach((p, i) => assert.equal(site.expected.depth.get(p), i + 1, p));
      const shallow = site.expectedPaths({ maxDepth: 3, sitemap: false }).pages;
      assert.ok(shallow.has('/deep/3') && !shallow.has('/deep/4'));
      assert.ok([...shallow].every((p) => site.expected.depth.get(p)! <= 3));
      const blogOnly = site.expectedPaths({ follow: (p) => p.startsWith('/blog/'), sitemap: false }).pages;
      assert.deepEqual([...blogOnly].sort(), ['/', ...site.paths.blog].sort());
    } finally {
      await site.close();
    }
  });

  it('holds page requests at the gate and counts the peak in flight', async () => {
    const site = await startCrawlSite({ pages: 20, hold: true });
    try {
      const robots = await fetch(new URL('/robots.txt', site.url)); // never held
      assert.equal(robots.status, 200);
      const pending = [1, 2, 3, 4, 5].map((n) => fetch(new URL(`/p/${n}`, site.url)));
      await site.waitForInFlight(5, 10_000);
      assert.equal(site.inFlight, 5);
      assert.equal(site.peakInFlight, 5);
      site.release();
      const done = await Promise.all(pending);
      assert.deepEqual(
        done.map((r) => r.status),
        [200, 200, 200, 200, 200],
      );
      await Promise.all(done.map((r) => r.text()));
      for (let i = 0; i < 50 && site.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(site.inFlight, 0);

      // One at a time never overlaps, and holdMs-free answers do not wait.
      site.resetPeak();
      for (const n of [6, 7, 8]) await (await fetch(new URL(`/p/${n}`, site.url))).text();
      assert.equal(site.peakInFlight, 1);
    } finally {
      await site.close();
    }
  });

  it('holdMs delays every page request, and parallel ones overlap', async () => {
    const site = await startCrawlSite({ pages: 20, holdMs: 150 });
    try {
      const started = Date.now();
      await Promise.all([1, 2, 3].map(async (n) => (await fetch(new URL(`/p/${n}`, site.url))).text()));
      assert.ok(Date.now() - started >= 140);
      assert.equal(site.peakInFlight, 3);
    } finally {
      await site.close();
    }
  });
});

describe('HTTPS receiver and the run CA', () => {
  it('has a certificate for 127.0.0.1, ::1 and localhost, issued by the run CA', () => {
    const { cert, ca, key } = testTls();
    assert.match(key, /BEGIN PRIVATE KEY/);
    const x = new X509Certificate(cert);
    assert.ok(x.checkIssued(new X509Certificate(ca)));
    assert.ok(x.checkHost('localhost') && x.checkIP('127.0.0.1') && x.checkIP('::1'));
  });

  it('is trusted by fetch and by the guarded client with no TLS options, and only through NODE_EXTRA_CA_CERTS', async () => {
    const receiver = await startHttpsReceiver((r) => ({ status: r.url === '/teapot' ? 418 : 200, body: 'ok' }));
    try {
      assert.match(receiver.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const viaFetch = await fetch(`${receiver.url}/hook`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
      assert.equal(viaFetch.status, 200);

      const agent = createGuardedAgent({ guard: new AddressGuard(parseCidrList('127.0.0.1/32')) });
      try {
        const res = await request(agent, { url: `${receiver.url}/teapot`, method: 'POST', body: 'guarded' });
        assert.equal(res.status, 418);
      } finally {
        await agent.close();
      }
      await receiver.waitFor(2, 5_000);
      assert.deepEqual(
        receiver.received.map((r) => [r.method, r.url, r.body.toString()]),
        [
          ['POST', '/hook', '{"a":1}'],
          ['POST', '/teapot', 'guarded'],
        ],
      );

      // A process started without the variable does not trust the receiver.
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS;
      const script = `fetch(${JSON.stringify(receiver.url)}).then(() => process.exit(0), (e) => { console.log(e.cause && e.cause.code); process.exit(3); })`;
      const child = await execFileP(process.execPath, ['-e', script], { env }).then(
        () => ({ code: 0, out: '' }),
        (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
      );
      assert.equal(child.code, 3);
      assert.match(child.out, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/);
    } finally {
      await receiver.close();
    }
  });

  it('testTls() says how to run the tests when the run did not set it up', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env[TLS_DIR_ENV];
    const script = `try { require(${JSON.stringify(require.resolve('../../helpers/tls'))}).testTls(); } catch (e) { console.log(e.message); process.exit(3); }`;
    const out = await execFileP(process.execPath, ['-e', script], { env }).then(
      () => '',
      (err: { stdout: string }) => err.stdout,
    );
    assert.match(out, /npm test/);
  });
});

describe('Python Firecrawl signature verifier', () => {
  const secret = 'fc-sëcret-42';
  const body = Buffer.from('{"success":true,"type":"crawl.page","data":[{"markdown":"caf\u00e9"}]}');
  const sign = (b: Buffer) => `sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(b).digest('hex')}`;

  it('accepts the exact body and rejects a tampered one or a wrong shape', async () => {
    const good = await verifyFirecrawlWithPython(secret, body, sign(body));
    assert.deepEqual(good, { ok: true, output: 'VALID' });
    const tampered = Buffer.from(body);
    tampered[tampered.length - 3] ^= 1;
    const bad = await verifyFirecrawlWithPython(secret, tampered, sign(body));
    assert.equal(bad.ok, false);
    assert.match(bad.output, /^INVALID/);
    assert.equal((await verifyFirecrawlWithPython(secret, body, sign(body).toUpperCase().replace('SHA256', 'sha256'))).ok, false);
    assert.equal((await verifyFirecrawlWithPython('other', body, sign(body))).ok, false);
    assert.equal((await verifyFirecrawlWithPython(secret, body, sign(body).slice('sha256='.length))).ok, false);
  });

  it('reads the body from a file too', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hookshot-fc-'));
    try {
      const file = path.join(dir, 'body');
      writeFileSync(file, body);
      const script = path.join(__dirname, '..', '..', '..', '..', 'test', 'helpers', 'verify_firecrawl.py');
      const { stdout } = await execFileP('python3', [script, secret, sign(body), file]);
      assert.equal(stdout.trim(), 'VALID');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
