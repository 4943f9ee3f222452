// Crawl scope (both Firecrawl API versions' options) and the safe compilation
// of user path patterns.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkScope,
  compileScope,
  crawlerSkipReason,
  pathDepth,
  type CrawlScope,
  type CrawlScopeOptions,
  type ScopeCandidate,
} from '../../../src/crawl/scope';
import {
  compilePattern,
  compileWildcard,
  COST_BUDGET,
  MAX_PATTERN_CHARS,
  MAX_PATTERNS_PER_FIELD,
  MAX_SUBJECT_CHARS,
  testPattern,
} from '../../../src/crawl/pattern';

function scope(start: string, options: CrawlScopeOptions = {}): CrawlScope {
  const r = compileScope(start, options);
  if (!r.ok) throw new Error(`compileScope failed: ${r.error.message}`);
  return r.scope;
}

/** The exclusion reason, or 'ok'. */
function verdict(s: CrawlScope, url: string, depth = 1, foundOn?: string): string {
  const c: ScopeCandidate = { url, depth };
  if (foundOn !== undefined) c.foundOn = foundOn;
  const d = checkScope(s, c);
  return d.inScope ? 'ok' : d.reason;
}

function compileError(start: string, options: CrawlScopeOptions) {
  const r = compileScope(start, options);
  assert.equal(r.ok, false, 'expected a validation error');
  return (r as { ok: false; error: { field: string; code: string; message: string } }).error;
}

describe('crawl scope: hosts', () => {
  const s = scope('https://example.com/');

  it('keeps the start host, with or without www., over either scheme and any port', () => {
    assert.equal(verdict(s, 'https://example.com/a'), 'ok');
    assert.equal(verdict(s, 'http://www.example.com/a'), 'ok');
    assert.equal(verdict(s, 'https://EXAMPLE.com.:8443/a'), 'ok');
    assert.equal(verdict(scope('https://www.example.com/'), 'https://example.com/x'), 'ok');
  });

  it('excludes other hosts as external and hosts below the start host as subdomain', () => {
    assert.equal(verdict(s, 'https://other.com/'), 'external');
    assert.equal(verdict(s, 'https://example.com.evil.net/'), 'external');
    assert.equal(verdict(s, 'https://notexample.com/'), 'external');
    assert.equal(verdict(s, 'https://blog.example.com/'), 'subdomain');
    assert.equal(verdict(s, 'https://a.b.example.com/'), 'subdomain');
  });

  it('treats only hosts below the start host as subdomains, not siblings or parents', () => {
    const d = scope('https://docs.example.com/', { allowSubdomains: true });
    assert.equal(verdict(d, 'https://api.docs.example.com/x'), 'ok');
    assert.equal(verdict(d, 'https://blog.example.com/'), 'external');
    assert.equal(verdict(d, 'https://example.com/'), 'external');
    // Not a registrable-domain guess: one .co.uk site does not admit the others.
    const uk = scope('https://shop.co.uk/', { allowSubdomains: true });
    assert.equal(verdict(uk, 'https://other.co.uk/'), 'external');
  });

  it('does not treat www.com as the www of com', () => {
    const w = scope('https://www.com/', { allowSubdomains: true });
    assert.equal(verdict(w, 'https://example.com/'), 'external');
  });

  it('admits subdomains with allowSubdomains', () => {
    const sub = scope('https://example.com/', { allowSubdomains: true });
    assert.equal(verdict(sub, 'https://blog.example.com/post'), 'ok');
    assert.equal(verdict(sub, 'https://other.com/'), 'external');
  });

  it('admits external hosts (and subdomains) with allowExternalLinks, one hop from the site only', () => {
    const ext = scope('https://example.com/', { allowExternalLinks: true });
    assert.equal(verdict(ext, 'https://other.com/page', 1, 'https://example.com/'), 'ok');
    assert.equal(verdict(ext, 'https://blog.example.com/p', 1, 'https://www.example.com/x'), 'ok');
    // Links on an external page lead no further out...
    assert.equal(verdict(ext, 'https://third.com/', 2, 'https://other.com/page'), 'external');
    assert.equal(verdict(ext, 'https://other.com/more', 2, 'https://other.com/page'), 'external');
    // ...but back into the site is fine.
    assert.equal(verdict(ext, 'https://example.com/back', 2, 'https://other.com/page'), 'ok');
    // Sitemap entries and other sourceless candidates.
    assert.equal(verdict(ext, 'https://other.com/from-sitemap', 0), 'ok');
  });

  it('counts a subdomain page as the site for the one-hop rule when subdomains are allowed', () => {
    const both = scope('https://example.com/', { allowExternalLinks: true, allowSubdomains: true });
    assert.equal(verdict(both, 'https://other.com/', 2, 'https://blog.example.com/'), 'ok');
    const extOnly = scope('https://example.com/', { allowExternalLinks: true });
    assert.equal(verdict(extOnly, 'https://other.com/', 2, 'https://blog.example.com/'), 'external');
  });

  it('compares IP-literal hosts exactly, IPv6 included', () => {
    const v6 = scope('http://[2001:db8::1]:8080/app/');
    assert.equal(verdict(v6, 'http://[2001:DB8:0::1]/app/x'), 'ok');
    assert.equal(verdict(v6, 'http://[2001:db8::2]/app/x'), 'external');
    const v4 = scope('http://10.0.0.1/', { allowSubdomains: true });
    assert.equal(verdict(v4, 'http://10.0.0.1/x'), 'ok');
    assert.equal(verdict(v4, 'http://10.0.0.2/'), 'external');
    // A host whose last label is numeric must be an IPv4 address (WHATWG): no subdomains of IPs.
    assert.equal(verdict(v4, 'http://x.10.0.0.1/'), 'invalid_url');
  });

  it('compares IDN hosts in either spelling', () => {
    const idn = scope('https://bücher.example/');
    assert.equal(verdict(idn, 'https://xn--bcher-kva.example/a'), 'ok');
    assert.equal(verdict(idn, 'https://www.BÜCHER.example/a'), 'ok');
  });

  it('rejects non-http(s) and unparsable candidates', () => {
    assert.equal(verdict(s, 'mailto:a@example.com'), 'not_http');
    assert.equal(verdict(s, 'javascript:void(0)'), 'not_http');
    assert.equal(verdict(s, 'ftp://example.com/'), 'not_http');
    assert.equal(verdict(s, 'not a url'), 'invalid_url');
  });

  it('returns the normalized URL with the decision', () => {
    assert.deepEqual(checkScope(s, { url: 'HTTPS://Example.com:443/a?b=1&a=2#f', depth: 1 }), {
      inScope: true,
      url: 'https://example.com/a?a=2&b=1',
    });
    assert.deepEqual(checkScope(s, { url: 'https://other.com/x#y', depth: 1 }), {
      inScope: false,
      reason: 'external',
      url: 'https://other.com/x',
    });
  });
});

describe('crawl scope: backward links', () => {
  const s = scope('https://example.com/docs/guide');

  it('keeps paths under the start path, by whole segments', () => {
    assert.equal(verdict(s, 'https://example.com/docs/guide'), 'ok');
    assert.equal(verdict(s, 'https://example.com/docs/guide/intro'), 'ok');
    assert.equal(verdict(s, 'https://example.com/docs/guide/'), 'ok');
    assert.equal(verdict(s, 'https://example.com/docs/guidebook'), 'backward');
    assert.equal(verdict(s, 'https://example.com/docs/other'), 'backward');
    assert.equal(verdict(s, 'https://example.com/docs/'), 'backward');
    assert.equal(verdict(s, 'https://example.com/'), 'backward');
  });

  it('resolves .. before deciding, so it cannot be used to climb out', () => {
    assert.equal(verdict(s, 'https://example.com/docs/guide/../../admin'), 'backward');
    assert.equal(verdict(s, 'https://example.com/docs/guide/x/../y'), 'ok');
  });

  it('with a trailing slash on the start path, the bare directory is its parent', () => {
    const t = scope('https://example.com/docs/');
    assert.equal(verdict(t, 'https://example.com/docs/a'), 'ok');
    assert.equal(verdict(t, 'https://example.com/docs'), 'backward');
  });

  it('crawlEntireDomain (v2) and allowBackwardLinks (v1) lift it; the v2 name wins', () => {
    assert.equal(verdict(scope('https://example.com/docs/guide', { crawlEntireDomain: true }), 'https://example.com/'), 'ok');
    assert.equal(verdict(scope('https://example.com/docs/guide', { allowBackwardLinks: true }), 'https://example.com/'), 'ok');
    const both = scope('https://example.com/docs/guide', { allowBackwardLinks: true, crawlEntireDomain: false });
    assert.equal(verdict(both, 'https://example.com/'), 'backward');
  });

  it('applies to the site host only, not to admitted subdomains or external hosts', () => {
    const sub = scope('https://example.com/docs', { allowSubdomains: true, allowExternalLinks: true });
    assert.equal(verdict(sub, 'https://blog.example.com/2024/post'), 'ok');
    assert.equal(verdict(sub, 'https://other.com/x', 1, 'https://example.com/docs'), 'ok');
    assert.equal(verdict(sub, 'https://www.example.com/pricing'), 'backward');
  });
});

describe('crawl scope: depth', () => {
  it('counts path depth in non-empty segments, index pages not counted', () => {
    assert.equal(pathDepth('/'), 0);
    assert.equal(pathDepth('/a'), 1);
    assert.equal(pathDepth('/a/'), 1);
    assert.equal(pathDepth('/a//b/'), 2);
    assert.equal(pathDepth('/a/index.html'), 1);
    assert.equal(pathDepth('/a/b/index.php'), 2);
  });

  it('v1 maxDepth limits path depth relative to the start URL, whatever the link chain', () => {
    const s = scope('https://example.com/docs/', { maxDepth: 2 });
    assert.equal(verdict(s, 'https://example.com/docs/a/b', 9), 'ok');
    assert.equal(verdict(s, 'https://example.com/docs/a/b/', 9), 'ok');
    assert.equal(verdict(s, 'https://example.com/docs/a/b/c', 1), 'too_deep');
    assert.equal(verdict(s, 'https://example.com/docs/a/b/index.html', 1), 'ok');
  });

  it('maxDepth 0 keeps the start page only', () => {
    const s = scope('https://example.com/docs', { maxDepth: 0 });
    assert.equal(verdict(s, 'https://example.com/docs', 0), 'ok');
    assert.equal(verdict(s, 'https://example.com/docs/index.html', 1), 'ok');
    assert.equal(verdict(s, 'https://example.com/docs/a', 1), 'too_deep');
  });

  it('v2 maxDiscoveryDepth limits link hops: the start URL and sitemap entries are 0', () => {
    const s = scope('https://example.com/', { maxDiscoveryDepth: 1 });
    assert.equal(verdict(s, 'https://example.com/deep/deep/deep/page', 0), 'ok');
    assert.equal(verdict(s, 'https://example.com/a', 1), 'ok');
    assert.equal(verdict(s, 'https://example.com/a', 2), 'too_deep');
    assert.equal(verdict(scope('https://example.com/', { maxDiscoveryDepth: 0 }), 'https://example.com/a', 1), 'too_deep');
  });

  it('applies both limits when a v1 client sends both', () => {
    const s = scope('https://example.com/', { maxDepth: 1, maxDiscoveryDepth: 5 });
    assert.equal(verdict(s, 'https://example.com/a/b', 1), 'too_deep');
    assert.equal(verdict(s, 'https://example.com/a', 6), 'too_deep');
    assert.equal(verdict(s, 'https://example.com/a', 5), 'ok');
  });
});

describe('crawl scope: includePaths and excludePaths', () => {
  it('searches the path (not anchored, no query), as Firecrawl does', () => {
    const s = scope('https://example.com/', { includePaths: ['blog/.*'] });
    assert.equal(verdict(s, 'https://example.com/blog/post'), 'ok');
    assert.equal(verdict(s, 'https://example.com/en/blog/post'), 'ok');
    assert.equal(verdict(s, 'https://example.com/about'), 'not_included');
    assert.equal(verdict(s, 'https://example.com/about?next=blog/x'), 'not_included');
  });

  it('with anchors, matches the whole path', () => {
    const s = scope('https://example.com/', { includePaths: ['^/docs/[^/]+$'] });
    assert.equal(verdict(s, 'https://example.com/docs/a'), 'ok');
    assert.equal(verdict(s, 'https://example.com/docs/a/b'), 'not_included');
    assert.equal(verdict(s, 'https://example.com/x/docs/a'), 'not_included');
  });

  it('lets exclusion win over inclusion', () => {
    const s = scope('https://example.com/', { includePaths: ['^/blog'], excludePaths: ['/drafts/'] });
    assert.equal(verdict(s, 'https://example.com/blog/drafts/x'), 'excluded_path');
    assert.equal(verdict(s, 'https://example.com/blog/x'), 'ok');
  });

  it('matches the normalized path (dot segments resolved, percent-encoding upper-case)', () => {
    const s = scope('https://example.com/', { excludePaths: ['^/private', '%C3%A9'] });
    assert.equal(verdict(s, 'https://example.com/public/../private/x'), 'excluded_path');
    assert.equal(verdict(s, 'https://example.com/caf%c3%a9'), 'excluded_path');
    assert.equal(verdict(s, 'https://example.com/café'), 'excluded_path');
  });

  it('with regexOnFullURL, matches the normalized URL, query included', () => {
    const s = scope('https://example.com/', { excludePaths: ['[?&]page=\\d+', '^https://example\\.com/x$'], regexOnFullURL: true });
    assert.equal(verdict(s, 'https://example.com/list?page=2'), 'excluded_path');
    assert.equal(verdict(s, 'HTTPS://EXAMPLE.COM/x#frag'), 'excluded_path');
    assert.equal(verdict(s, 'https://example.com/list'), 'ok');
  });

  it('ignores empty patterns (an empty entry means no filter)', () => {
    const s = scope('https://example.com/', { includePaths: [''], excludePaths: [''] });
    assert.equal(verdict(s, 'https://example.com/anything'), 'ok');
  });

  it('accepts Rust-style leading inline flags', () => {
    const s = scope('https://example.com/', { includePaths: ['(?i)^/DOCS/'] });
    assert.equal(verdict(s, 'https://example.com/docs/a'), 'ok');
  });

  it('decides on the first reason that applies: host, position, depth, exclude, include', () => {
    const s = scope('https://example.com/docs', { maxDepth: 1, excludePaths: ['x'], includePaths: ['^/docs/y'] });
    assert.equal(verdict(s, 'https://other.com/docs/x'), 'external');
    assert.equal(verdict(s, 'https://example.com/x'), 'backward');
    assert.equal(verdict(s, 'https://example.com/docs/x/x'), 'too_deep');
    assert.equal(verdict(s, 'https://example.com/docs/x'), 'excluded_path');
    assert.equal(verdict(s, 'https://example.com/docs/z'), 'not_included');
    assert.equal(verdict(s, 'https://example.com/docs/y'), 'ok');
  });
});

describe('crawl scope: validation', () => {
  it('names the invalid pattern and its index', () => {
    const e = compileError('https://example.com/', { includePaths: ['^/ok', '(unclosed'] });
    assert.equal(e.field, 'includePaths[1]');
    assert.equal(e.code, 'invalid_regex');
    assert.match(e.message, /^includePaths\[1\] is not a valid regular expression/);
    const x = compileError('https://example.com/', { excludePaths: ['[z-a]'] });
    assert.equal(x.field, 'excludePaths[0]');
    assert.equal(x.code, 'invalid_regex');
  });

  it('rejects patterns that could backtrack catastrophically, naming them', () => {
    for (const p of ['(a+)+$', '(a|aa)*b', '(?:/[a-z]+)*$', '(a?){25}a{25}', '(\\w+\\s?)+$']) {
      const e = compileError('https://example.com/', { excludePaths: ['^/fine', p] });
      assert.equal(e.field, 'excludePaths[1]', p);
      assert.equal(e.code, 'unsafe_regex', p);
    }
  });

  it('rejects backreferences and look-around, which Firecrawl’s RE2-style engine rejects too', () => {
    for (const p of ['(a)\\1', '(?<n>x)\\k<n>', 'a(?=b)', 'a(?!b)', '(?<=a)b', '(?<!a)b']) {
      assert.equal(compileError('https://example.com/', { includePaths: [p] }).code, 'unsafe_regex', p);
    }
  });

  it('rejects unsupported inline flags and over-long patterns', () => {
    assert.equal(compileError('https://example.com/', { includePaths: ['(?x)a b'] }).code, 'invalid_regex');
    const long = compileError('https://example.com/', { includePaths: ['a'.repeat(MAX_PATTERN_CHARS + 1)] });
    assert.deepEqual([long.field, long.code], ['includePaths[0]', 'pattern_too_long']);
  });

  it('limits the number of patterns per field and their total cost', () => {
    const many = Array.from({ length: MAX_PATTERNS_PER_FIELD + 1 }, (_, i) => `^/p${i}`);
    assert.deepEqual(
      [compileError('https://example.com/', { excludePaths: many }).field, compileError('https://example.com/', { excludePaths: many }).code],
      ['excludePaths', 'too_many_patterns'],
    );
    const wordy = Array.from({ length: 60 }, (_, i) => `^/${String(i).padStart(1999, 'x')}`.slice(0, MAX_PATTERN_CHARS));
    const w = compileError('https://example.com/', { includePaths: wordy.slice(0, 30), excludePaths: wordy.slice(30) });
    assert.deepEqual([w.field, w.code], ['excludePaths[20]', 'too_many_patterns']);
    // Each pattern passes alone, but not 20 of them together.
    const costly = Array.from({ length: 20 }, (_, i) => `x${i}.*foo.*bar`);
    const e = compileError('https://example.com/', { includePaths: costly });
    assert.equal(e.code, 'unsafe_regex');
    assert.match(e.field, /^includePaths\[\d+\]$/);
  });

  it('checks option types and values, naming the field', () => {
    const cases: Array<[CrawlScopeOptions, string, string]> = [
      [{ includePaths: 'blog' as unknown as string[] }, 'includePaths', 'invalid_type'],
      [{ excludePaths: [1 as unknown as string] }, 'excludePaths[0]', 'invalid_type'],
      [{ maxDepth: -1 }, 'maxDepth', 'invalid_value'],
      [{ maxDiscoveryDepth: 1.5 }, 'maxDiscoveryDepth', 'invalid_value'],
      [{ maxDepth: '3' as unknown as number }, 'maxDepth', 'invalid_value'],
      [{ allowSubdomains: 'yes' as unknown as boolean }, 'allowSubdomains', 'invalid_type'],
      [{ crawlEntireDomain: 1 as unknown as boolean }, 'crawlEntireDomain', 'invalid_type'],
    ];
    for (const [opts, field, code] of cases) {
      const e = compileError('https://example.com/', opts);
      assert.deepEqual([e.field, e.code], [field, code], JSON.stringify(opts));
    }
  });

  it('accepts null for every option (an SDK may send explicit nulls)', () => {
    const r = compileScope('https://example.com/', {
      includePaths: null,
      excludePaths: null,
      maxDepth: null,
      maxDiscoveryDepth: null,
      allowBackwardLinks: null,
      crawlEntireDomain: null,
      allowSubdomains: null,
      allowExternalLinks: null,
      regexOnFullURL: null,
    });
    assert.equal(r.ok, true);
  });

  it('rejects a start URL that is not http(s), naming url', () => {
    assert.deepEqual([compileError('ftp://example.com/', {}).field, compileError('ftp://example.com/', {}).code], ['url', 'invalid_url']);
    assert.equal(compileError('example.com', {}).field, 'url');
  });

  it('compiles deterministically (workflow code may compile scopes)', () => {
    const opts: CrawlScopeOptions = { includePaths: ['.*blog.*', '^/a'], excludePaths: ['x$'], maxDepth: 3 };
    const a = scope('https://www.example.com/docs', opts);
    const b = scope('https://www.example.com/docs', opts);
    assert.deepEqual(
      { ...a, include: a.include.map((p) => String(p.regex)), exclude: a.exclude.map((p) => String(p.regex)) },
      { ...b, include: b.include.map((p) => String(p.regex)), exclude: b.exclude.map((p) => String(p.regex)) },
    );
    assert.equal(a.siteHost, 'example.com');
    assert.equal(a.maxPathDepth, 4);
  });
});

describe('path patterns: bounded matching cost', () => {
  const worstSubjects = (p: string): string[] => {
    const lits = p.match(/[A-Za-z0-9/]+/g) ?? ['a'];
    const out = ['a', '/', '1', 'ab', 'a/'].map((c) => c.repeat(MAX_SUBJECT_CHARS));
    for (const l of lits) out.push(l.repeat(Math.ceil(MAX_SUBJECT_CHARS / l.length)).slice(0, MAX_SUBJECT_CHARS));
    return out;
  };

  it('accepts the patterns people write', () => {
    for (const p of [
      'blog/.*',
      '^/docs/.*$',
      '.*blog.*',
      '.*foo.*bar',
      '^/(en|fr)/docs/',
      '^/[^/]+/[^/]+/[^/]+$',
      '\\.pdf$',
      '^/(?:blog|news)/\\d{4}/\\d{2}/[^/]+/?$',
      'products?/',
      '^/a{2,5}b',
    ]) {
      const r = compilePattern(p);
      assert.ok(r.ok, `${p}: ${r.ok ? '' : r.message}`);
    }
  });

  it('rejects polynomial blow-ups over the budget', () => {
    for (const p of ['.*a.*b.*c', 'foo.*bar.*baz', '\\d+\\d+x', '\\w+\\w+$']) {
      const r = compilePattern(p);
      assert.equal(r.ok, false, p);
      assert.equal(!r.ok && r.code, 'unsafe_regex', p);
    }
  });

  it('keeps every accepted pattern fast on adversarial subjects longer than the cap', () => {
    for (const p of ['.*foo.*bar', 'a.*b', '[a-z]+[0-9]+', '(ab)+c', '^.*a.*b', '/a/.*/b/']) {
      const r = compilePattern(p);
      assert.ok(r.ok, p);
      if (!r.ok) continue;
      assert.ok(r.pattern.cost <= COST_BUDGET);
      for (const subject of worstSubjects(p)) {
        const long = subject + subject; // twice the cap: only the cap is read
        const t0 = process.hrtime.bigint();
        testPattern(r.pattern, long);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        assert.ok(ms < 250, `${p} took ${ms.toFixed(1)} ms`);
      }
    }
  });

  it('anchoring a leading .* changes no answer', () => {
    const r = compilePattern('.*blog.*');
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.equal(r.pattern.regex.source, '^.*blog.*');
    for (const s of ['/blog', '/x/blog/y', '/x', '/BLOG']) assert.equal(testPattern(r.pattern, s), /.*blog.*/.test(s), s);
    const alt = compilePattern('.+x|^/y');
    assert.ok(alt.ok && alt.pattern.regex.source === '^.+x|^\\/y');
  });

  it('reads only the first MAX_SUBJECT_CHARS characters', () => {
    const r = compilePattern('z$');
    assert.ok(r.ok);
    if (!r.ok) return;
    assert.equal(testPattern(r.pattern, 'a'.repeat(MAX_SUBJECT_CHARS - 1) + 'z'), true);
    assert.equal(testPattern(r.pattern, 'a'.repeat(MAX_SUBJECT_CHARS) + 'z'), false);
  });
});

describe('crawl scope: Scrapfly wildcards (pathSyntax wildcard)', () => {
  const w = (includePaths: string[] | null, excludePaths: string[] | null = null) =>
    scope('https://example.com/', { pathSyntax: 'wildcard', includePaths, excludePaths, crawlEntireDomain: true });

  it('matches the whole path, `*` spanning any characters including /', () => {
    const s = w(['/blog/*']);
    assert.equal(verdict(s, 'https://example.com/blog/a'), 'ok');
    assert.equal(verdict(s, 'https://example.com/blog/2024/01/post'), 'ok');
    assert.equal(verdict(s, 'https://example.com/blog/'), 'ok');
    assert.equal(verdict(s, 'https://example.com/blog'), 'not_included', 'no slash after blog: `/blog/*` does not match');
    assert.equal(verdict(s, 'https://example.com/en/blog/a'), 'not_included', 'anchored at the start of the path');
    assert.equal(verdict(w(['/blog']), 'https://example.com/blog/a'), 'not_included', 'no star: the exact path only');
    assert.equal(verdict(w(['/blog']), 'https://example.com/blog'), 'ok');
  });

  it('reads stars anywhere, and runs of them as one', () => {
    const s = w(['*.html', '/a/*/c', '/x**y']);
    assert.equal(verdict(s, 'https://example.com/deep/down/page.html'), 'ok');
    assert.equal(verdict(s, 'https://example.com/page.htm'), 'not_included');
    assert.equal(verdict(s, 'https://example.com/a/b/c'), 'ok');
    assert.equal(verdict(s, 'https://example.com/a/b/b2/c'), 'ok');
    assert.equal(verdict(s, 'https://example.com/a/c'), 'not_included', 'the slashes around the star are literal');
    assert.equal(verdict(s, 'https://example.com/xy'), 'ok');
    assert.equal(verdict(s, 'https://example.com/x/long/way/y'), 'ok');
  });

  it('ignores the query, is case-sensitive, and treats regex characters literally', () => {
    const s = w(['/p/*', '/v1.0/*', '/(a)+/*']);
    assert.equal(verdict(s, 'https://example.com/p/1?sort=asc'), 'ok');
    assert.equal(verdict(s, 'https://example.com/P/1'), 'not_included');
    assert.equal(verdict(s, 'https://example.com/v1.0/x'), 'ok');
    assert.equal(verdict(s, 'https://example.com/v1x0/x'), 'not_included', 'a dot is a dot');
    assert.equal(verdict(s, 'https://example.com/(a)+/x'), 'ok');
    assert.equal(verdict(s, 'https://example.com/aa/x'), 'not_included');
  });

  it('reads a pattern without a leading slash as starting at the root, and encodes it as a path', () => {
    assert.equal(verdict(w(['docs/*']), 'https://example.com/docs/x'), 'ok');
    assert.equal(verdict(w(['/café/*']), 'https://example.com/caf%C3%A9/menu'), 'ok');
    assert.equal(verdict(w(['/café/*']), 'https://example.com/café/menu'), 'ok');
    assert.equal(verdict(w(['/a b/*']), 'https://example.com/a%20b/c'), 'ok');
    assert.equal(verdict(w(['/%7euser/*']), 'https://example.com/~user/x'), 'ok', 'escapes normalized like the URL');
  });

  it('lets exclusion win over inclusion', () => {
    const s = w(['/docs/*'], ['/docs/private/*', '*.pdf']);
    assert.equal(verdict(s, 'https://example.com/docs/a'), 'ok');
    assert.equal(verdict(s, 'https://example.com/docs/private/a'), 'excluded_path');
    assert.equal(verdict(s, 'https://example.com/docs/a.pdf'), 'excluded_path');
    assert.equal(verdict(s, 'https://example.com/blog/a'), 'not_included');
  });

  it('never reads a wildcard as a regular expression, nor the full URL', () => {
    // `.*` would be unsafe-free as a regex too, but here it is a literal dot then a star.
    const s = scope('https://example.com/', { pathSyntax: 'wildcard', excludePaths: ['.*'], regexOnFullURL: true, crawlEntireDomain: true });
    assert.equal(verdict(s, 'https://example.com/a'), 'ok');
    assert.equal(verdict(s, 'https://example.com/.hidden'), 'excluded_path');
  });

  it('agrees with a reference matcher on random patterns and paths', () => {
    // Reference: dynamic programming over the pattern (fnmatch with `*` only).
    const reference = (pattern: string, subject: string) => {
      let row = new Array<boolean>(subject.length + 1).fill(false);
      row[0] = true;
      for (const c of pattern) {
        const next = new Array<boolean>(subject.length + 1).fill(false);
        for (let j = 0; j <= subject.length; j++) {
          if (c === '*') next[j] = row[j] || (j > 0 && next[j - 1]);
          else next[j] = j > 0 && row[j - 1] && subject[j - 1] === c;
        }
        row = next;
      }
      return row[subject.length];
    };
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const pick = (alphabet: string, len: number) => Array.from({ length: len }, () => alphabet[rnd(alphabet.length)]).join('');
    for (let i = 0; i < 3000; i++) {
      const pattern = `/${pick('ab/*', rnd(7))}`;
      const path = `/${pick('ab/', rnd(10))}`;
      const s = scope('https://example.com/', { pathSyntax: 'wildcard', includePaths: [pattern], crawlEntireDomain: true });
      assert.equal(verdict(s, `https://example.com${path}`) === 'ok', reference(pattern.replace(/\*+/g, '*'), path), `${pattern} vs ${path}`);
    }
  });

  it('matches in linear time: no backtracking on adversarial input', () => {
    // A backtracking matcher (or a regex .*a.*a…) takes exponential time on these; this one scans each subject once.
    const many = compileWildcard(`/${'*a'.repeat(40)}*b*`, 'path');
    const long = compileWildcard(`/*${'a'.repeat(500)}b*`, 'path');
    assert.ok(many.ok && long.ok);
    if (!many.ok || !long.ok) return;
    const as = `/${'a'.repeat(200_000)}`;
    assert.equal(testPattern(many.pattern, as), false);
    assert.equal(testPattern(many.pattern, `${as}b`), true);
    assert.equal(testPattern(long.pattern, as), false);
    assert.equal(testPattern(long.pattern, `${as}b/x`), true);
  });

  it('checks wildcard lists like regex lists, naming the field', () => {
    assert.equal(
      compileError('https://example.com/', { pathSyntax: 'wildcard', includePaths: ['/a', 3 as unknown as string] }).field,
      'includePaths[1]',
    );
    const long = compileError('https://example.com/', { pathSyntax: 'wildcard', excludePaths: ['/' + 'a'.repeat(MAX_PATTERN_CHARS)] });
    assert.deepEqual([long.field, long.code], ['excludePaths[0]', 'pattern_too_long']);
    // A regex that would be refused is an ordinary wildcard.
    assert.ok(compileScope('https://example.com/', { pathSyntax: 'wildcard', includePaths: ['(a+)+$'] }).ok);
    assert.equal(compileError('https://example.com/', { pathSyntax: 'glob' as 'wildcard' }).field, 'pathSyntax');
  });
});

describe('crawl scope: subdomain and external domain lists', () => {
  it('admits only listed subdomains, by whole host name or by the part before the site', () => {
    const s = scope('https://example.com/', { allowSubdomains: true, allowedSubdomains: ['blog', '*.docs', 'shop.example.com'] });
    assert.equal(verdict(s, 'https://blog.example.com/x'), 'ok');
    assert.equal(verdict(s, 'https://api.docs.example.com/x'), 'ok');
    assert.equal(verdict(s, 'https://shop.example.com/x'), 'ok');
    assert.equal(verdict(s, 'https://SHOP.example.com/x'), 'ok', 'host names compare lower-case');
    assert.equal(verdict(s, 'https://docs.example.com/x'), 'subdomain', '`*.docs` needs a label before docs');
    assert.equal(verdict(s, 'https://cdn.example.com/x'), 'subdomain');
    assert.equal(verdict(s, 'https://example.com/x'), 'ok', 'the site itself is not a subdomain');
    assert.equal(verdict(s, 'https://www.example.com/x'), 'ok');
  });

  it('admits every subdomain with an empty list, and none when subdomains are not followed', () => {
    assert.equal(verdict(scope('https://example.com/', { allowSubdomains: true, allowedSubdomains: [] }), 'https://x.example.com/'), 'ok');
    assert.equal(verdict(scope('https://example.com/', { allowSubdomains: true, allowedSubdomains: [''] }), 'https://x.example.com/'), 'ok');
    assert.equal(verdict(scope('https://example.com/', { allowSubdomains: false, allowedSubdomains: ['x'] }), 'https://x.example.com/'), 'subdomain');
  });

  it('keeps an explicit subdomain list even when external links are followed', () => {
    const s = scope('https://example.com/', { allowSubdomains: true, allowedSubdomains: ['blog'], allowExternalLinks: true });
    assert.equal(verdict(s, 'https://cdn.example.com/x', 1, 'https://example.com/'), 'subdomain');
    assert.equal(verdict(s, 'https://other.org/x', 1, 'https://example.com/'), 'ok');
  });

  it('admits only listed external hosts, with or without www.', () => {
    const s = scope('https://example.com/', { allowExternalLinks: true, allowedExternalDomains: ['partner.org', '*.cdn.net'] });
    const from = 'https://example.com/';
    assert.equal(verdict(s, 'https://partner.org/a', 1, from), 'ok');
    assert.equal(verdict(s, 'https://www.partner.org/a', 1, from), 'ok');
    assert.equal(verdict(s, 'https://img.cdn.net/a', 1, from), 'ok');
    assert.equal(verdict(s, 'https://cdn.net/a', 1, from), 'external', '`*.` needs a label');
    assert.equal(verdict(s, 'https://other.org/a', 1, from), 'external');
    assert.equal(verdict(s, 'https://partner.org.evil.com/a', 1, from), 'external', 'the whole host name must match');
    // Still one hop: a listed host's page leads back to the site only.
    assert.equal(verdict(s, 'https://img.cdn.net/b', 2, 'https://partner.org/a'), 'external');
  });

  it('checks the lists, naming the field', () => {
    assert.equal(compileError('https://example.com/', { allowedSubdomains: 'blog' as unknown as string[] }).field, 'allowedSubdomains');
    assert.equal(
      compileError('https://example.com/', { allowedExternalDomains: ['a.org', null as unknown as string] }).field,
      'allowedExternalDomains[1]',
    );
  });
});

describe('crawl scope: Scrapfly skip reasons', () => {
  it('names every exclusion as Scrapfly does, and none for what is not an http(s) link', () => {
    assert.deepEqual(
      (['external', 'subdomain', 'backward', 'too_deep', 'excluded_path', 'not_included', 'invalid_url', 'not_http'] as const).map(crawlerSkipReason),
      ['external_domain', 'subdomain_not_allowed', 'base_path_restriction', 'max_depth', 'excluded_path', 'not_included_path', null, null],
    );
  });

  it('counts max_depth in link hops from the seed (depth 0)', () => {
    const s = scope('https://example.com/', { maxDiscoveryDepth: 2 });
    const reason = (depth: number) => {
      const d = checkScope(s, { url: 'https://example.com/a/b/c/d', depth });
      return d.inScope ? 'ok' : crawlerSkipReason(d.reason);
    };
    assert.deepEqual([0, 1, 2, 3].map(reason), ['ok', 'ok', 'ok', 'max_depth']);
  });
});
