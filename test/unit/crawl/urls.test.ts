// Crawl URL normalization and link extraction: pure functions, no network.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalUrl, normalizeUrl } from '../../../src/crawl/urls';
import { extractLinks, extractPageLinks, MAX_LINKS_PER_PAGE } from '../../../src/crawl/links';

const norm = (u: string, base?: string) => canonicalUrl(u, base);

describe('normalizeUrl', () => {
  it('lower-cases scheme and host and drops the default port and the fragment', () => {
    assert.equal(norm('HTTP://Example.COM:80/Path#frag'), 'http://example.com/Path');
    assert.equal(norm('https://example.com:443/a?x=1#top'), 'https://example.com/a?x=1');
  });

  it('keeps a non-default port, also the other scheme’s default', () => {
    assert.equal(norm('http://example.com:8080/'), 'http://example.com:8080/');
    assert.equal(norm('http://example.com:443/'), 'http://example.com:443/');
    assert.equal(norm('https://example.com:80/'), 'https://example.com:80/');
  });

  it('resolves dot segments, also percent-encoded ones, and never climbs above the root', () => {
    assert.equal(norm('http://a.com/b/./c/../d'), 'http://a.com/b/d');
    assert.equal(norm('http://a.com/b/%2e%2E/c'), 'http://a.com/c');
    assert.equal(norm('http://a.com/../../x'), 'http://a.com/x');
    assert.equal(norm('../up', 'http://a.com/one/two/three'), 'http://a.com/one/up');
  });

  it('upper-cases percent-encoding hex and decodes unreserved characters only', () => {
    assert.equal(norm('http://a.com/%7euser/%41b%2fc%3a'), 'http://a.com/~user/Ab%2Fc%3A');
    assert.equal(norm('http://a.com/caf%c3%a9'), 'http://a.com/caf%C3%A9');
    assert.equal(norm('http://a.com/café'), 'http://a.com/caf%C3%A9');
    // A stray % is not an escape: left as it is.
    assert.equal(norm('http://a.com/100%'), 'http://a.com/100%');
  });

  it('sorts query parameters by name, stably, and keeps their spelling', () => {
    assert.equal(norm('http://a.com/p?b=2&a=1&c=3'), 'http://a.com/p?a=1&b=2&c=3');
    // Repeated names keep their relative order.
    assert.equal(norm('http://a.com/p?t=2&a=0&t=1'), 'http://a.com/p?a=0&t=2&t=1');
    // %20 stays %20 (URLSearchParams would write +), + stays +.
    assert.equal(norm('http://a.com/p?q=a%20b&r=c+d'), 'http://a.com/p?q=a%20b&r=c+d');
    assert.equal(norm('http://a.com/p?%61=1&b=%7e'), 'http://a.com/p?a=1&b=~');
  });

  it('drops an empty query and empty parameters', () => {
    assert.equal(norm('http://a.com/p?'), 'http://a.com/p');
    assert.equal(norm('http://a.com/p?&&a=1&'), 'http://a.com/p?a=1');
  });

  it('drops the query on request (ignoreQueryParameters)', () => {
    assert.deepEqual(normalizeUrl('http://a.com/p?utm=x', undefined, { ignoreQuery: true }), {
      ok: true,
      url: 'http://a.com/p',
    });
  });

  it('keeps trailing slashes as written, except that an empty path is /', () => {
    assert.equal(norm('http://a.com'), 'http://a.com/');
    assert.equal(norm('http://a.com/a/'), 'http://a.com/a/');
    assert.equal(norm('http://a.com/a'), 'http://a.com/a');
    assert.notEqual(norm('http://a.com/a/'), norm('http://a.com/a'));
  });

  it('writes IDN hosts in punycode, so both spellings dedupe', () => {
    assert.equal(norm('http://Bücher.example/x'), 'http://xn--bcher-kva.example/x');
    assert.equal(norm('http://xn--bcher-kva.example/x'), 'http://xn--bcher-kva.example/x');
    assert.equal(norm('http://%62ücher.example/'), 'http://xn--bcher-kva.example/');
  });

  it('canonicalizes IP literal hosts', () => {
    assert.equal(norm('http://[2001:DB8:0:0::1]:8080/x'), 'http://[2001:db8::1]:8080/x');
    assert.equal(norm('http://[::1]:80/'), 'http://[::1]/');
    assert.equal(norm('http://0x7f.1/'), 'http://127.0.0.1/');
  });

  it('drops a host’s trailing dot and any credentials', () => {
    assert.equal(norm('http://example.com./a'), 'http://example.com/a');
    assert.equal(norm('https://user:secret@example.com/a'), 'https://example.com/a');
  });

  it('rejects what is not http(s), naming why', () => {
    for (const u of ['mailto:a@b.c', 'javascript:alert(1)', 'data:text/html,<a>', 'ftp://a.com/', 'file:///etc/passwd', 'tel:+1']) {
      assert.deepEqual(normalizeUrl(u), { ok: false, reason: 'not_http' }, u);
    }
    assert.deepEqual(normalizeUrl('mailto:x@y.z', 'http://a.com/'), { ok: false, reason: 'not_http' });
    for (const u of ['', 'not a url', 'http://', 'http://a b.com/', '/relative/without/base']) {
      assert.deepEqual(normalizeUrl(u), { ok: false, reason: 'invalid_url' }, u);
    }
  });

  it('resolves relative references against a base', () => {
    assert.equal(norm('x?b=1&a=2', 'https://a.com/dir/page'), 'https://a.com/dir/x?a=2&b=1');
    assert.equal(norm('//other.com/p', 'https://a.com/'), 'https://other.com/p');
    assert.equal(norm('?q=1', 'https://a.com/p?old=1#f'), 'https://a.com/p?q=1');
    assert.equal(norm('#frag', 'https://a.com/p?x=1'), 'https://a.com/p?x=1');
  });
});

describe('extractLinks', () => {
  const page = 'https://example.com/docs/guide/intro';

  it('returns absolute normalized links from <a href> and <area href>, deduped, in document order', () => {
    const html = `<html><body>
      <a href="/b">B</a><a href="a">A</a>
      <map><area href="https://example.com/map#x" alt=""></map>
      <a href="/b#again">dup</a><a href="https://EXAMPLE.com:443/b">dup</a>
      <a name="no-href">x</a>
      <A HREF="../Upper">case</A>
    </body></html>`;
    assert.deepEqual(extractLinks(html, page), [
      'https://example.com/b',
      'https://example.com/docs/guide/a',
      'https://example.com/map',
      'https://example.com/docs/Upper',
    ]);
  });

  it('respects the first <base href>, also for links before it, resolved against the page', () => {
    const html = `<a href="early">e</a><head><base href="/root/sub/"><base href="https://ignored.com/"></head><a href="late">l</a>`;
    assert.deepEqual(extractLinks(html, page), ['https://example.com/root/sub/early', 'https://example.com/root/sub/late']);
  });

  it('ignores a <base> that is not http(s) or does not parse', () => {
    assert.deepEqual(extractLinks('<base href="javascript:void(0)"><a href="x">x</a>', page), ['https://example.com/docs/guide/x']);
    assert.deepEqual(extractLinks('<base href="http://[bad"><a href="x">x</a>', page), ['https://example.com/docs/guide/x']);
  });

  it('follows rel=nofollow links, as Firecrawl does, and keeps to a and area (no <link>)', () => {
    const html = '<link rel="alternate" href="/fr/"><a rel="nofollow" href="/private">p</a><img src="/i.png">';
    assert.deepEqual(extractLinks(html, page), ['https://example.com/private']);
  });

  it('drops mailto:, javascript:, tel:, data: and unparsable links', () => {
    const html = `<a href="mailto:x@y.z">m</a><a href="javascript:alert(1)">j</a><a href="tel:+1">t</a>
      <a href="data:text/html,hi">d</a><a href="http://[::1">bad</a><a href="ok">ok</a>`;
    assert.deepEqual(extractLinks(html, page), ['https://example.com/docs/guide/ok']);
  });

  it('decodes entities in attributes and trims whitespace around hrefs', () => {
    const html = '<a href="/s?a=1&amp;b=2">s</a><a href="  /t\n">t</a><a href=/u?x=&lt;>u</a>';
    assert.deepEqual(extractLinks(html, page), ['https://example.com/s?a=1&b=2', 'https://example.com/t', 'https://example.com/u?x=%3C']);
  });

  it('does not read markup inside script, style, title, textarea, comments or template', () => {
    const html = `<title><a href="/t">t</a></title><script>document.write('<a href="/s">s</a>')</script>
      <style>a[href="/c"]{}</style><!-- <a href="/comment">x</a> --><textarea><a href="/ta"></a></textarea>
      <template><a href="/tpl">x</a><base href="/tplbase/"></template><a href="/real">r</a>`;
    assert.deepEqual(extractLinks(html, page), ['https://example.com/real']);
  });

  it('reads broken markup the way browsers tokenize it', () => {
    // Unclosed elements, unquoted values, a stray `<` inside a tag (an
    // attribute name to browsers, so the second href is a duplicate and lost).
    const html = '<div><a href=/one>one<p><a href="/two"<a href=/lost>two</div><a href=\'/three\'>three';
    assert.deepEqual(extractLinks(html, page), ['https://example.com/one', 'https://example.com/two', 'https://example.com/three']);
  });

  it('keeps a fragment-only link as the page itself (the visited set drops it)', () => {
    assert.deepEqual(extractLinks('<a href="#top">top</a><a href="">self</a>', page + '?q=1'), ['https://example.com/docs/guide/intro?q=1']);
  });

  it('caps the links kept per page', () => {
    const many = Array.from({ length: 50 }, (_, i) => `<a href="/p${i}">${i}</a>`).join('');
    assert.equal(extractLinks(many, page, { maxLinks: 10 }).length, 10);
    assert.equal(extractLinks(many, page, { maxLinks: 10 })[9], 'https://example.com/p9');
    assert.ok(MAX_LINKS_PER_PAGE >= 1000);
  });

  it('applies ignoreQuery to extracted links', () => {
    assert.deepEqual(extractLinks('<a href="/a?x=1">1</a><a href="/a?x=2">2</a>', page, { ignoreQuery: true }), ['https://example.com/a']);
  });
});

describe('extractPageLinks: rel=nofollow, for a Scrapfly crawler', () => {
  const page = 'https://example.com/';

  it('tells nofollow links apart in the same pass, every link still listed', () => {
    const html = `<a rel="nofollow" href="/a">a</a><a rel="UGC  NoFollow" href="/b">b</a><a href="/c">c</a>
      <a rel="nofollow" href="/c">c again</a><a rel="sponsored" href="/d">d</a><area rel="nofollow" href="/e">
      <a rel="nofollowing" href="/f">not the token</a>`;
    const r = extractPageLinks(html, page);
    assert.deepEqual(
      r.links,
      ['/a', '/b', '/c', '/d', '/e', '/f'].map((p) => `https://example.com${p}`),
    );
    assert.deepEqual(r.nofollow, ['https://example.com/a', 'https://example.com/b', 'https://example.com/e'], 'one ordinary link to /c is enough');
    assert.deepEqual(extractLinks(html, page), r.links, 'extractLinks (Firecrawl) follows them all');
  });

  it('a followable link after a nofollow one to the same URL makes it followable', () => {
    const r = extractPageLinks('<a rel="nofollow" href="/x#1">1</a><a href="/x#2">2</a>', page);
    assert.deepEqual(r, { links: ['https://example.com/x'], nofollow: [] });
  });

  it('a robots meta nofollow (or none) makes every link nofollow; other metas do not', () => {
    for (const content of ['nofollow', 'noindex, NOFOLLOW', 'none']) {
      const r = extractPageLinks(`<head><meta name="Robots" content="${content}"></head><a href="/a">a</a>`, page);
      assert.deepEqual(r.nofollow, ['https://example.com/a'], content);
    }
    for (const meta of [
      '<meta name="robots" content="noindex">',
      '<meta name="googlebot" content="nofollow">',
      '<template><meta name="robots" content="nofollow"></template>',
    ]) {
      assert.deepEqual(extractPageLinks(`${meta}<a href="/a">a</a>`, page).nofollow, [], meta);
    }
  });
});
