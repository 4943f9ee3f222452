// Sitemap parsing: XML (urlset, sitemapindex) and plain text, with the
// limits that keep hostile documents harmless.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSitemap, SITEMAP_MAX_BYTES, SITEMAP_MAX_URLS } from '../../../src/crawl/sitemap';

const NS = 'http://www.sitemaps.org/schemas/sitemap/0.9';

describe('sitemap: urlset', () => {
  it('reads <loc> of every <url>, trimmed, normalized, deduped, in order', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="${NS}">
  <url><loc>https://example.com/b</loc><lastmod>2024-01-01</lastmod><priority>0.5</priority></url>
  <url>
    <loc>
      https://Example.com:443/a#frag
    </loc>
  </url>
  <url><loc>https://example.com/b</loc></url>
</urlset>`;
    const r = parseSitemap(xml);
    assert.deepEqual(r, {
      kind: 'urlset',
      urls: ['https://example.com/b', 'https://example.com/a'],
      sitemaps: [],
      truncated: false,
      invalid: 0,
    });
  });

  it('reads a single <url> (no array in the parse) and an empty urlset', () => {
    assert.deepEqual(parseSitemap('<urlset><url><loc>https://a.com/1</loc></url></urlset>').urls, ['https://a.com/1']);
    assert.deepEqual(parseSitemap(`<urlset xmlns="${NS}"></urlset>`).urls, []);
    assert.equal(parseSitemap('<urlset/>').kind, 'urlset');
  });

  it('decodes the predefined entities and character references', () => {
    const xml = `<urlset><url><loc>https://a.com/p?x=1&amp;y=2&amp;z=&lt;&#62;&#x41;</loc></url></urlset>`;
    assert.deepEqual(parseSitemap(xml).urls, ['https://a.com/p?x=1&y=2&z=%3C%3EA']);
    // One pass only: &amp;lt; is the text "&lt;", not "<".
    assert.deepEqual(parseSitemap('<urlset><url><loc>https://a.com/x&amp;lt;y</loc></url></urlset>').urls, ['https://a.com/x&lt;y']);
  });

  it('reads CDATA locs', () => {
    const xml = '<urlset><url><loc><![CDATA[https://a.com/c?d=1]]></loc></url></urlset>';
    assert.deepEqual(parseSitemap(xml).urls, ['https://a.com/c?d=1']);
  });

  it('matches namespaced and prefixed elements by local name, and ignores extension locs', () => {
    const xml = `<sm:urlset xmlns:sm="${NS}" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"
        xmlns:xhtml="http://www.w3.org/1999/xhtml">
      <sm:url>
        <sm:loc>https://a.com/page</sm:loc>
        <image:image><image:loc>https://a.com/photo.jpg</image:loc></image:image>
        <xhtml:link rel="alternate" hreflang="fr" href="https://a.com/fr/page"/>
      </sm:url>
    </sm:urlset>`;
    assert.deepEqual(parseSitemap(xml).urls, ['https://a.com/page']);
  });

  it('counts entries without a usable absolute http(s) loc as invalid', () => {
    const xml = `<urlset>
      <url><loc>/relative</loc></url>
      <url><loc>ftp://a.com/x</loc></url>
      <url><lastmod>2024</lastmod></url>
      <url><loc>javascript:alert(1)</loc></url>
      <url><loc>https://a.com/ok</loc></url>
    </urlset>`;
    const r = parseSitemap(xml);
    assert.deepEqual([r.urls, r.invalid], [['https://a.com/ok'], 4]);
  });

  it('reads a byte order mark, a leading comment and blank space before the root', () => {
    const r = parseSitemap('\ufeff\n  <!-- generated --><urlset><url><loc>https://a.com/</loc></url></urlset>');
    assert.deepEqual([r.kind, r.urls], ['urlset', ['https://a.com/']]);
  });
});

describe('sitemap: sitemapindex', () => {
  it('returns child sitemaps, not pages', () => {
    const xml = `<?xml version="1.0"?>
<sitemapindex xmlns="${NS}">
  <sitemap><loc>https://a.com/s1.xml</loc><lastmod>2024-05-01</lastmod></sitemap>
  <sitemap><loc> https://a.com/s2.xml.gz </loc></sitemap>
</sitemapindex>`;
    assert.deepEqual(parseSitemap(xml), {
      kind: 'sitemapindex',
      urls: [],
      sitemaps: ['https://a.com/s1.xml', 'https://a.com/s2.xml.gz'],
      truncated: false,
      invalid: 0,
    });
  });
});

describe('sitemap: plain text', () => {
  it('reads one URL per line, skipping blanks, counting junk as invalid', () => {
    const txt = '\ufeffhttps://a.com/1\r\n\r\n  https://a.com/2  \nnot a url\nhttps://a.com/1\rmailto:x@a.com\n';
    assert.deepEqual(parseSitemap(txt), {
      kind: 'text',
      urls: ['https://a.com/1', 'https://a.com/2'],
      sitemaps: [],
      truncated: false,
      invalid: 2,
    });
  });

  it('caps plain-text sitemaps at the URL limit too', () => {
    const txt = Array.from({ length: 12 }, (_, i) => `https://a.com/${i}`).join('\n');
    const r = parseSitemap(txt, { maxUrls: 10 });
    assert.deepEqual([r.urls.length, r.truncated], [10, true]);
  });
});

describe('sitemap: hostile and oversized documents', () => {
  it('does not expand a billion-laughs DOCTYPE', () => {
    const xml = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<urlset>
  <url><loc>https://a.com/&lol9;</loc></url>
  <url><loc>https://a.com/fine</loc></url>
  <url><loc>&lol1;</loc></url>
</urlset>`;
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = Date.now();
    const r = parseSitemap(xml);
    assert.ok(Date.now() - t0 < 1000);
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 50 * 1024 * 1024);
    // The locs that lean on declared entities are invalid, not expanded.
    assert.deepEqual([r.kind, r.urls, r.invalid], ['urlset', ['https://a.com/fine'], 2]);
    assert.ok(!JSON.stringify(r).includes('lollol'));
  });

  it('refuses external entities (XXE)', () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<urlset><url><loc>&xxe;</loc></url></urlset>`;
    const r = parseSitemap(xml);
    assert.deepEqual([r.kind, r.error, r.urls], ['unknown', 'malformed', []]);
  });

  it('caps a 60,000-URL sitemap at 50,000 URLs', () => {
    const parts = [`<urlset xmlns="${NS}">`];
    for (let i = 0; i < 60_000; i++) parts.push(`<url><loc>https://a.com/p/${i}</loc></url>`);
    parts.push('</urlset>');
    const r = parseSitemap(parts.join('\n'));
    assert.equal(SITEMAP_MAX_URLS, 50_000);
    assert.equal(r.urls.length, 50_000);
    assert.equal(r.truncated, true);
    assert.equal(r.urls[0], 'https://a.com/p/0');
    assert.equal(r.urls[49_999], 'https://a.com/p/49999');
  });

  it('applies the same cap to a sitemap index', () => {
    const parts = ['<sitemapindex>'];
    for (let i = 0; i < 12; i++) parts.push(`<sitemap><loc>https://a.com/s${i}.xml</loc></sitemap>`);
    parts.push('</sitemapindex>');
    const r = parseSitemap(parts.join(''), { maxUrls: 5 });
    assert.deepEqual([r.sitemaps.length, r.truncated], [5, true]);
  });

  it('refuses a document over the byte limit, counted in UTF-8', () => {
    assert.equal(SITEMAP_MAX_BYTES, 50 * 1024 * 1024);
    const doc = `<urlset><url><loc>https://a.com/é</loc></url></urlset>`;
    assert.equal(parseSitemap(doc, { maxBytes: doc.length }).error, 'too_large'); // é is 2 bytes
    assert.equal(parseSitemap(doc, { maxBytes: doc.length + 1 }).error, undefined);
    assert.equal(parseSitemap('https://a.com/1', { truncated: true }).error, 'too_large');
  });

  it('refuses a document with too much markup before parsing it', () => {
    const junk = `<urlset>${'<a/>'.repeat(2000)}</urlset>`;
    const r = parseSitemap(junk, { maxTags: 1000 });
    assert.deepEqual([r.kind, r.error, r.urls], ['unknown', 'too_complex', []]);
  });

  it('refuses deep nesting', () => {
    const deep = `<urlset>${'<a>'.repeat(200)}${'</a>'.repeat(200)}</urlset>`;
    assert.equal(parseSitemap(deep).error, 'malformed');
  });

  it('does not let element names pollute prototypes', () => {
    const r = parseSitemap('<urlset><__proto__><polluted>1</polluted></__proto__><url><loc>https://a.com/</loc></url></urlset>');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(r.urls.length <= 1, true);
  });

  it('says unknown, without throwing, for HTML, feeds and garbage', () => {
    for (const doc of ['<!DOCTYPE html><html><body><a href="/x">x</a></body></html>', '<rss><channel></channel></rss>', '<<<>>>']) {
      const r = parseSitemap(doc);
      assert.equal(r.kind, 'unknown', doc);
      assert.deepEqual([r.urls, r.sitemaps], [[], []]);
    }
    // A document cut short yields what it holds, and no half-read loc.
    assert.deepEqual(parseSitemap('<urlset><url><loc>https://a.com/1</loc></url><url><loc>https://a.c').urls, ['https://a.com/1']);
  });
});
