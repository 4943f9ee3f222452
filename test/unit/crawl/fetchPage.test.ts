// scrapePage against real loopback servers, through the address-guarded
// client (127.0.0.1/32 allowed). Every socket here goes to 127.0.0.1.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { DEFAULT_USER_AGENT, PAGE_FIELD_MAX_BYTES, scrapePage, type ScrapePageOptions } from '../../../src/crawl/fetchPage';
import { exceedsNesting, MAX_HTML_NESTING } from '../../../src/content/htmlContent';
import { freePort } from '../../helpers/net';
import { html, Loopback, routes, send } from '../../helpers/loopback';

const lb = new Loopback();
after(() => lb.close());
const http = lb.agent();

const base = (over: Partial<ScrapePageOptions> = {}): ScrapePageOptions => ({
  formats: ['markdown'],
  headers: {},
  timeoutMs: 5000,
  maxBytes: 10 * 1024 * 1024,
  onlyMainContent: false,
  ignoreQuery: false,
  ...over,
});

const PAGE = `<!doctype html><html><head><title> The
  Page </title><style>p{color:red}</style><script>var secret = 1;</script></head>
<body><header><a href="/home">Home</a></header>
<nav><a href="/nav?b=2&a=1">Nav</a></nav>
<main><h1>Heading</h1><p>Body text with <a href="rel">a relative link</a>.</p><!-- a comment --></main>
<noscript>turn on js</noscript>
<aside>Side note</aside>
<footer><a href="https://other.example/x">Elsewhere</a></footer></body></html>`;

describe('scrapePage: formats', () => {
  it('markdown only by default, with Firecrawl metadata and the links to crawl', async () => {
    const srv = await lb.server(routes({ '/dir/page': html(PAGE) }));
    const url = `${srv.origin}/dir/page`;
    const r = await scrapePage(url, base(), { http });
    assert.equal(r.ok, true);
    assert.equal(r.statusCode, 200);
    assert.equal(r.error, null);
    assert.equal(r.finalUrl, url);
    assert.equal(r.contentType, 'text/html; charset=utf-8');
    assert.deepEqual(Object.keys(r.document).sort(), ['markdown', 'metadata']);
    assert.deepEqual(r.document.metadata, { title: 'The Page', sourceURL: url, url, statusCode: 200, contentType: 'text/html; charset=utf-8' });
    assert.match(r.document.markdown!, /^# Heading/m);
    assert.match(r.document.markdown!, /\[a relative link\]\(http:\/\/127\.0\.0\.1:\d+\/dir\/rel\)/);
    assert.doesNotMatch(r.document.markdown!, /secret|turn on js|a comment/);
    // Navigation included: the crawler needs every link, query sorted by normalization.
    assert.deepEqual(r.links, [`${srv.origin}/home`, `${srv.origin}/nav?a=1&b=2`, `${srv.origin}/dir/rel`, 'https://other.example/x']);
  });

  it('html without script/style/noscript/comments, rawHtml as served, links absolute', async () => {
    const srv = await lb.server(routes({ '/p': html(PAGE) }));
    const r = await scrapePage(`${srv.origin}/p`, base({ formats: ['html', 'rawHtml', 'links'] }), { http });
    assert.equal(r.document.markdown, undefined);
    assert.equal(r.document.rawHtml, PAGE);
    const h = r.document.html!;
    assert.doesNotMatch(h, /<script|<style|<noscript|<!--|secret|turn on js/);
    assert.match(h, /^<!doctype html>/i);
    assert.match(h, /<nav>.*Nav.*<\/nav>/s);
    assert.match(h, /<title> The\n {2}Page <\/title>/);
    assert.deepEqual(r.document.links, r.links);
  });

  it('the links format keeps queries; the crawl links drop them with ignoreQuery', async () => {
    const srv = await lb.server(routes({ '/q': html('<a href="/a?utm=1">a</a><a href="/a?utm=2">b</a><a href="/b">c</a>') }));
    const r = await scrapePage(`${srv.origin}/q`, base({ formats: ['links'], ignoreQuery: true }), { http });
    assert.deepEqual(r.document.links, [`${srv.origin}/a?utm=1`, `${srv.origin}/a?utm=2`, `${srv.origin}/b`]);
    assert.deepEqual(r.links, [`${srv.origin}/a`, `${srv.origin}/b`]);
  });

  it('sends our User-Agent and Accept; the caller headers override them', async () => {
    const srv = await lb.server(routes({ '/h': html('<p>x</p>') }));
    await scrapePage(`${srv.origin}/h`, base(), { http });
    assert.equal(srv.requests[0]!.headers['user-agent'], DEFAULT_USER_AGENT);
    assert.match(DEFAULT_USER_AGENT, /^HookshotBot\//);
    assert.match(String(srv.requests[0]!.headers.accept), /text\/html/);
    await scrapePage(`${srv.origin}/h`, base({ userAgent: 'Mine/1', headers: { 'X-Extra': 'yes' } }), { http });
    assert.equal(srv.requests[1]!.headers['user-agent'], 'Mine/1');
    assert.equal(srv.requests[1]!.headers['x-extra'], 'yes');
    await scrapePage(`${srv.origin}/h`, base({ userAgent: 'Mine/1', headers: { 'User-Agent': 'Theirs/2' } }), { http });
    assert.equal(srv.requests[2]!.headers['user-agent'], 'Theirs/2');
  });
});

describe('scrapePage: onlyMainContent', () => {
  const only = base({ formats: ['markdown', 'html'], onlyMainContent: true });

  it('takes <main> whole when there is one; the crawl links still come from the whole page', async () => {
    const srv = await lb.server(routes({ '/m': html(PAGE) }));
    const r = await scrapePage(`${srv.origin}/m`, only, { http });
    assert.match(r.document.html!, /^<main><h1>Heading<\/h1>.*<\/main>$/s);
    assert.doesNotMatch(r.document.markdown!, /Home|Nav|Side note|Elsewhere/);
    assert.match(r.document.markdown!, /Body text/);
    assert.equal(r.links.length, 4);
  });

  it('role="main" counts like <main>, whichever comes first', async () => {
    const page = '<body><nav>menu</nav><div role="Main"><p>content</p></div><main>later</main></body>';
    const srv = await lb.server(routes({ '/r': html(page) }));
    const r = await scrapePage(`${srv.origin}/r`, only, { http });
    assert.equal(r.document.html, '<div role="Main"><p>content</p></div>');
  });

  it('else every outermost <article>', async () => {
    const page =
      '<body><nav>menu</nav><article><header>By me</header><p>one</p><article>inner</article></article><div>ad</div><article>two</article></body>';
    const srv = await lb.server(routes({ '/a': html(page) }));
    const r = await scrapePage(`${srv.origin}/a`, only, { http });
    assert.equal(r.document.html, '<article><header>By me</header><p>one</p><article>inner</article></article>\n<article>two</article>');
  });

  it('else the body without header, nav, footer and aside', async () => {
    const page =
      '<html><head><title>T</title></head><body><header>top</header><div><nav>menu</nav><p>kept</p><aside>side</aside></div><footer>bottom</footer></body></html>';
    const srv = await lb.server(routes({ '/b': html(page) }));
    const r = await scrapePage(`${srv.origin}/b`, only, { http });
    assert.equal(r.document.html, '<div><p>kept</p></div>');
    assert.equal(r.document.markdown, 'kept');
    assert.equal(r.document.metadata.title, 'T');
  });

  it('a fragment without <body> loses its head too', async () => {
    const page = '<!doctype html><title>T</title><nav>menu</nav><p>kept</p>';
    const srv = await lb.server(routes({ '/f': html(page) }));
    const r = await scrapePage(`${srv.origin}/f`, only, { http });
    assert.equal(r.document.html, '<p>kept</p>');
  });
});

describe('scrapePage: redirects', () => {
  it('follows them: finalUrl and metadata.url are the last hop, links resolve against it', async () => {
    const srv = await lb.server(
      routes({
        '/old': send(301, '', { location: '/moved/here' }),
        '/moved/here': html('<a href="next">next</a><a href="../up">up</a>'),
      }),
    );
    const r = await scrapePage(`${srv.origin}/old`, base({ formats: ['markdown', 'links'] }), { http });
    assert.equal(r.ok, true);
    assert.equal(r.finalUrl, `${srv.origin}/moved/here`);
    assert.equal(r.document.metadata.url, `${srv.origin}/moved/here`);
    assert.equal(r.document.metadata.sourceURL, `${srv.origin}/old`);
    assert.deepEqual(r.links, [`${srv.origin}/moved/next`, `${srv.origin}/up`]);
    assert.match(r.document.markdown!, /\(http:\/\/127\.0\.0\.1:\d+\/moved\/next\)/);
  });

  it('more than five redirects is a failed page with no status', async () => {
    const srv = await lb.server((req, res) => {
      const n = Number((req.url ?? '/0').slice(1));
      res.writeHead(302, { location: `/${n + 1}` });
      res.end();
    });
    const r = await scrapePage(`${srv.origin}/0`, base(), { http });
    assert.equal(r.ok, false);
    assert.equal(r.statusCode, null);
    assert.match(r.error!, /more than 5 redirects/);
    assert.equal(srv.requests.length, 6);
    assert.deepEqual(Object.keys(r.document), ['metadata']);
    assert.equal(r.document.metadata.error, r.error);
  });
});

describe('scrapePage: charsets and encodings', () => {
  it('decodes the Content-Type charset', async () => {
    const body = Buffer.concat([
      Buffer.from('<title>Caf'),
      Buffer.from([0xe9]),
      Buffer.from('</title><p>cr'),
      Buffer.from([0xe8, 0x6d, 0x65, 0x20, 0x80]),
      Buffer.from('</p>'),
    ]);
    const srv = await lb.server(routes({ '/l': send(200, body, { 'content-type': 'text/html; charset=windows-1252' }) }));
    const r = await scrapePage(`${srv.origin}/l`, base({ formats: ['markdown', 'rawHtml'] }), { http });
    assert.equal(r.document.metadata.title, 'Café');
    assert.equal(r.document.markdown, 'crème €');
  });

  it('decodes a <meta charset> when the header has none', async () => {
    const body = Buffer.concat([Buffer.from('<meta charset="shift_jis"><p>'), Buffer.from([0x93, 0xfa, 0x96, 0x7b]), Buffer.from('</p>')]);
    const srv = await lb.server(routes({ '/s': send(200, body, { 'content-type': 'text/html' }) }));
    const r = await scrapePage(`${srv.origin}/s`, base(), { http });
    assert.equal(r.document.markdown, '日本');
  });

  it('inflates a gzip Content-Encoding', async () => {
    const srv = await lb.server(
      routes({ '/z': send(200, gzipSync('<h1>Zipped</h1>'), { 'content-type': 'text/html', 'content-encoding': 'gzip' }) }),
    );
    const r = await scrapePage(`${srv.origin}/z`, base(), { http });
    assert.equal(r.document.markdown, '# Zipped');
  });

  it('inflates br and deflate (zlib-wrapped or raw) too; an unknown coding is a clear failure', async () => {
    const srv = await lb.server(
      routes({
        '/br': send(200, brotliCompressSync('<h1>Br</h1>'), { 'content-type': 'text/html', 'content-encoding': 'br' }),
        '/zlib': send(200, deflateSync('<h1>Zlib</h1>'), { 'content-type': 'text/html', 'content-encoding': 'deflate' }),
        '/raw': send(200, deflateRawSync('<h1>Raw</h1>'), { 'content-type': 'text/html', 'content-encoding': 'deflate' }),
        '/zstd': send(200, 'whatever', { 'content-type': 'text/html', 'content-encoding': 'zstd' }),
      }),
    );
    assert.equal((await scrapePage(`${srv.origin}/br`, base(), { http })).document.markdown, '# Br');
    assert.equal((await scrapePage(`${srv.origin}/zlib`, base(), { http })).document.markdown, '# Zlib');
    assert.equal((await scrapePage(`${srv.origin}/raw`, base(), { http })).document.markdown, '# Raw');
    const z = await scrapePage(`${srv.origin}/zstd`, base(), { http });
    assert.equal(z.ok, false);
    assert.equal(z.error, 'unsupported Content-Encoding "zstd"');
  });

  it('a gzip body that inflates past maxBytes fails as too large', async () => {
    const bomb = gzipSync(Buffer.alloc(1024 * 1024));
    const srv = await lb.server(routes({ '/bomb': send(200, bomb, { 'content-type': 'text/html', 'content-encoding': 'gzip' }) }));
    const r = await scrapePage(`${srv.origin}/bomb`, base({ maxBytes: 64 * 1024 }), { http });
    assert.equal(r.ok, false);
    assert.equal(r.statusCode, null);
    assert.match(r.error!, /larger than the 65536 byte cap once decompressed/);
  });
});

describe('scrapePage: upstream errors', () => {
  for (const status of [404, 500]) {
    it(`HTTP ${status}: not ok, document still built, no links to crawl`, async () => {
      const srv2 = await lb.server(routes({ '/e': html('<title>Oops</title><p>Gone</p><a href="/x">x</a>', status) }));
      const r = await scrapePage(`${srv2.origin}/e`, base({ formats: ['markdown', 'links'] }), { http });
      assert.equal(r.ok, false);
      assert.equal(r.statusCode, status);
      assert.equal(r.error, `HTTP ${status}`);
      assert.equal(r.document.metadata.error, `HTTP ${status}`);
      assert.equal(r.document.metadata.statusCode, status);
      assert.equal(r.document.metadata.title, 'Oops');
      assert.match(r.document.markdown!, /Gone/);
      assert.deepEqual(r.document.links, [`${srv2.origin}/x`]);
      assert.deepEqual(r.links, []);
    });
  }

  it('a timeout is a failed page with a clear message', async () => {
    const srv = await lb.server(() => {
      /* never answers */
    });
    const t0 = performance.now();
    const r = await scrapePage(`${srv.origin}/slow`, base({ timeoutMs: 300 }), { http });
    assert.ok(performance.now() - t0 < 3000);
    assert.equal(r.ok, false);
    assert.equal(r.statusCode, null);
    assert.equal(r.error, 'timed out after 300 ms');
    assert.deepEqual(r.document, {
      metadata: { sourceURL: `${srv.origin}/slow`, url: `${srv.origin}/slow`, statusCode: null, contentType: null, error: 'timed out after 300 ms' },
    });
  });

  it('a body over maxBytes is too large', async () => {
    const srv = await lb.server(routes({ '/big': send(200, 'x'.repeat(5000), { 'content-type': 'text/html' }) }));
    const r = await scrapePage(`${srv.origin}/big`, base({ maxBytes: 1000 }), { http });
    assert.equal(r.ok, false);
    assert.equal(r.statusCode, null);
    assert.equal(r.error, 'response is larger than the 1000 byte cap');
  });

  it('a closed port is a connection error', async () => {
    const port = await freePort();
    const r = await scrapePage(`http://127.0.0.1:${port}/`, base(), { http });
    assert.equal(r.ok, false);
    assert.match(r.error!, /^connection to http:\/\/127\.0\.0\.1:\d+\/ failed: ECONNREFUSED/);
  });

  it('a loopback address the guard does not allow is refused before connecting', async () => {
    const srv = await lb.server(routes({ '/': html('<p>secret</p>') }));
    const r = await scrapePage(`${srv.origin}/`, base(), { http: lb.agent(false) });
    assert.equal(r.ok, false);
    assert.equal(r.statusCode, null);
    assert.match(r.error!, /^refused by the address guard: .*loopback/);
    assert.equal(srv.connections, 0);
    assert.equal(srv.requests.length, 0);
  });

  it("the caller's abort rejects with its reason instead of making a failed page", async () => {
    const srv = await lb.server(() => undefined);
    const ac = new AbortController();
    const reason = new Error('cancelled');
    setTimeout(() => ac.abort(reason), 50);
    await assert.rejects(scrapePage(`${srv.origin}/`, base({ signal: ac.signal }), { http }), (e) => e === reason);
  });
});

describe('scrapePage: content that is not HTML', () => {
  it('a PDF is ok with its status and empty text formats, no links', async () => {
    const srv = await lb.server(routes({ '/doc.pdf': send(200, Buffer.from('%PDF-1.7\n\0\0binary'), { 'content-type': 'application/pdf' }) }));
    const r = await scrapePage(`${srv.origin}/doc.pdf`, base({ formats: ['markdown', 'html', 'rawHtml', 'links'] }), { http });
    assert.equal(r.ok, true);
    assert.equal(r.statusCode, 200);
    assert.equal(r.contentType, 'application/pdf');
    assert.deepEqual(r.document, {
      markdown: '',
      html: '',
      rawHtml: '',
      links: [],
      metadata: { sourceURL: `${srv.origin}/doc.pdf`, url: `${srv.origin}/doc.pdf`, statusCode: 200, contentType: 'application/pdf' },
    });
    assert.deepEqual(r.links, []);
  });

  it('images and untyped bytes are binary too', async () => {
    const srv = await lb.server(
      routes({
        '/i': send(200, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]), { 'content-type': 'image/png' }),
        '/o': send(200, Buffer.from([1, 0, 2, 0])),
      }),
    );
    for (const p of ['/i', '/o']) {
      const r = await scrapePage(`${srv.origin}${p}`, base(), { http });
      assert.equal(r.ok, true);
      assert.equal(r.document.markdown, '');
    }
  });

  it('plain text and JSON are carried as served', async () => {
    const srv = await lb.server(
      routes({
        '/t': send(200, 'just <b>text</b>', { 'content-type': 'text/plain' }),
        '/j': send(200, '{"a":1}', { 'content-type': 'application/json' }),
      }),
    );
    const t = await scrapePage(`${srv.origin}/t`, base({ formats: ['markdown', 'html', 'links'] }), { http });
    assert.equal(t.document.markdown, 'just <b>text</b>');
    assert.equal(t.document.html, 'just <b>text</b>');
    assert.deepEqual(t.document.links, []);
    assert.equal(t.document.metadata.title, undefined);
    const j = await scrapePage(`${srv.origin}/j`, base(), { http });
    assert.equal(j.document.markdown, '{"a":1}');
  });

  it('HTML without a Content-Type is recognised by its start', async () => {
    const srv = await lb.server(routes({ '/n': send(200, '<!DOCTYPE html><title>N</title><a href="/x">x</a>') }));
    const r = await scrapePage(`${srv.origin}/n`, base(), { http });
    assert.equal(r.document.metadata.title, 'N');
    assert.deepEqual(r.links, [`${srv.origin}/x`]);
  });
});

describe('scrapePage: size caps', () => {
  it('each document field is cut at PAGE_FIELD_MAX_BYTES and named in metadata.truncatedFields', async () => {
    const big = 'é'.repeat(PAGE_FIELD_MAX_BYTES); // 2 bytes each: twice the cap
    const srv = await lb.server(routes({ '/t': send(200, big, { 'content-type': 'text/plain; charset=utf-8' }) }));
    const r = await scrapePage(`${srv.origin}/t`, base({ formats: ['markdown', 'rawHtml'] }), { http });
    assert.equal(r.ok, true);
    assert.equal(Buffer.byteLength(r.document.markdown!), PAGE_FIELD_MAX_BYTES);
    assert.equal(Buffer.byteLength(r.document.rawHtml!), PAGE_FIELD_MAX_BYTES);
    assert.deepEqual(r.document.metadata.truncatedFields, ['markdown', 'rawHtml']);
  });
});

describe('scrapePage: hostile markup', () => {
  it(`a page nesting more than ${MAX_HTML_NESTING} elements is refused fast, before any parser sees it`, async () => {
    const depth = 200_000;
    const srv = await lb.server(routes({ '/deep': html('<div>'.repeat(depth) + 'x' + '</div>'.repeat(depth)) }));
    const t0 = performance.now();
    const r = await scrapePage(`${srv.origin}/deep`, base({ formats: ['markdown', 'rawHtml'] }), { http });
    assert.ok(performance.now() - t0 < 5000, `${performance.now() - t0} ms`);
    assert.equal(r.ok, false);
    assert.equal(r.statusCode, 200);
    assert.equal(r.error, `the page nests elements more than ${MAX_HTML_NESTING} deep; it was not converted`);
    assert.equal(r.document.markdown, undefined);
    assert.equal(r.document.rawHtml!.length, PAGE_FIELD_MAX_BYTES);
    assert.deepEqual(r.links, []);
  });

  it('a page just under the limit converts', async () => {
    const n = MAX_HTML_NESTING - 1; // the <a> is the last level
    const srv = await lb.server(routes({ '/ok': html('<div>'.repeat(n) + '<a href="/deep">deep</a>' + '</div>'.repeat(n)) }));
    const r = await scrapePage(`${srv.origin}/ok`, base({ formats: ['markdown', 'html'], onlyMainContent: true }), { http });
    assert.equal(r.ok, true, r.error ?? '');
    assert.match(r.document.markdown!, /\[deep\]/);
    assert.deepEqual(r.links, [`${srv.origin}/deep`]);
  });
});

describe('exceedsNesting', () => {
  it('counts what parsers nest, not what they close implicitly or never open', () => {
    assert.equal(exceedsNesting('<div>'.repeat(11), 10), true);
    assert.equal(exceedsNesting('<div>'.repeat(10), 10), false);
    // Optional end tags and void elements are flat.
    assert.equal(exceedsNesting('<ul>' + '<li>item'.repeat(5000) + '</ul>' + '<p>para'.repeat(5000) + '<br><img src=x>'.repeat(5000), 10), false);
    // Self-closing inside SVG closes; a stray end tag does not undo open elements.
    assert.equal(exceedsNesting('<svg>' + '<path d="M0"/>'.repeat(5000) + '</svg>', 10), false);
    assert.equal(exceedsNesting('<div></span>'.repeat(11), 10), true);
    assert.equal(exceedsNesting('<section><div><span>x</span></div></section>'.repeat(5000), 10), false);
    // Markup inside scripts, styles and comments is text.
    assert.equal(exceedsNesting(`<script>${'<div>'.repeat(50)}</script><style>x</style><!-- ${'<div>'.repeat(50)} -->`, 10), false);
  });
});

describe("scrapePage: a Scrapfly crawler's content, capture and error codes", () => {
  const ALL = ['html', 'clean_html', 'markdown', 'text', 'json', 'page_metadata'] as const;
  const META_PAGE = `<!doctype html><html lang="en-GB"><head><title>Meta Page</title>
<meta name="description" content="  What this page is  about ">
<meta name="robots" content="index, follow">
<meta property="og:title" content="OG title"><meta property="og:image" content="/i.png">
<link rel="canonical" href="/canonical/path"><script>var hidden = 1;</script></head>
<body><nav><a href="/n">Nav</a></nav><main><h1>Heading</h1><p>Body &amp; text.</p></main>
<a href="/other?b=2&a=1">Other</a></body></html>`;

  it('builds each format as a string; the Firecrawl fields stay as asked', async () => {
    const srv = await lb.server(routes({ '/m': html(META_PAGE) }));
    const url = `${srv.origin}/m`;
    const r = await scrapePage(url, base({ formats: [], contentFormats: [...ALL] }), { http });
    assert.equal(r.ok, true);
    assert.deepEqual(Object.keys(r.document).sort(), ['content', 'metadata']);
    assert.deepEqual(r.document.metadata, { title: 'Meta Page', sourceURL: url, url, statusCode: 200, contentType: 'text/html; charset=utf-8' });
    const c = r.document.content!;
    assert.deepEqual(Object.keys(c).sort(), [...ALL].sort());
    assert.equal(c.html, META_PAGE, 'html is the body as fetched');
    assert.doesNotMatch(c.clean_html!, /<script|hidden/);
    assert.match(c.clean_html!, /<nav>.*Nav.*<\/nav>/s);
    assert.match(c.markdown!, /^# Heading/m);
    assert.match(c.text!, /Heading/);
    assert.match(c.text!, /Body & text\./);
    assert.doesNotMatch(c.text!, /<|hidden/);
    const json = JSON.parse(c.json!);
    assert.equal(json.url, url);
    assert.equal(json.requested_url, url);
    assert.equal(json.status_code, 200);
    assert.equal(json.reason, 'OK');
    assert.equal(json.content_type, 'text/html; charset=utf-8');
    assert.equal(json.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(json.title, 'Meta Page');
    assert.deepEqual(json.links, [`${srv.origin}/n`, `${srv.origin}/other?a=1&b=2`]);
    assert.equal(json.content, c.text);
    assert.deepEqual(JSON.parse(c.page_metadata!), {
      url,
      requested_url: url,
      status_code: 200,
      content_type: 'text/html; charset=utf-8',
      size_bytes: Buffer.byteLength(META_PAGE),
      title: 'Meta Page',
      description: 'What this page is about',
      canonical: `${srv.origin}/canonical/path`,
      language: 'en-GB',
      robots: 'index, follow',
      open_graph: { 'og:title': 'OG title', 'og:image': '/i.png' },
      links_count: 2,
    });
    // Only the formats asked for; none at all without contentFormats (a Firecrawl crawl).
    const some = await scrapePage(url, base({ formats: ['markdown'], contentFormats: ['text'] }), { http });
    assert.deepEqual(Object.keys(some.document.content!), ['text']);
    assert.ok(some.document.markdown);
    assert.equal((await scrapePage(url, base(), { http })).document.content, undefined);
  });

  it('non-HTML text is every text format as served; binary leaves them empty but says what it was', async () => {
    const srv = await lb.server(
      routes({
        '/t.json': send(200, '{"a":1}', { 'content-type': 'application/json' }),
        '/f.pdf': send(200, Buffer.from('%PDF-1.7\n\0\0binary'), { 'content-type': 'application/pdf' }),
      }),
    );
    const t = await scrapePage(`${srv.origin}/t.json`, base({ contentFormats: [...ALL] }), { http });
    for (const f of ['html', 'clean_html', 'markdown', 'text'] as const) assert.equal(t.document.content![f], '{"a":1}', f);
    assert.equal(JSON.parse(t.document.content!.json!).content, '{"a":1}');
    const pdf = await scrapePage(`${srv.origin}/f.pdf`, base({ contentFormats: [...ALL] }), { http });
    assert.equal(pdf.ok, true);
    for (const f of ['html', 'clean_html', 'markdown', 'text'] as const) assert.equal(pdf.document.content![f], '', f);
    const meta = JSON.parse(pdf.document.content!.page_metadata!);
    assert.deepEqual(
      [meta.content_type, meta.size_bytes, meta.title, meta.links_count],
      ['application/pdf', Buffer.byteLength('%PDF-1.7\n\0\0binary'), null, 0],
    );
  });

  it('keeps json valid when the page is over the field cap: its content goes first', async () => {
    const big = `<html><body><p>${'word '.repeat(Math.ceil(PAGE_FIELD_MAX_BYTES / 5) + 1000)}</p></body></html>`;
    const srv = await lb.server(routes({ '/big': html(big) }));
    const r = await scrapePage(`${srv.origin}/big`, base({ formats: [], contentFormats: ['html', 'json'] }), { http });
    assert.equal(Buffer.byteLength(r.document.content!.html!), PAGE_FIELD_MAX_BYTES);
    const json = JSON.parse(r.document.content!.json!);
    assert.equal(json.content, null);
    assert.deepEqual(json.truncated, ['content']);
    assert.equal(json.status_code, 200);
    assert.deepEqual(r.document.metadata.truncatedFields, ['content.html', 'content.json']);
  });

  it('captures the exchange as fetched: headers sent and received, status, the decoded body, the final URL', async () => {
    const body = '<html><body><p>compressed page</p></body></html>';
    const srv = await lb.server(
      routes({
        '/gz': send(200, gzipSync(Buffer.from(body)), { 'content-type': 'text/html', 'content-encoding': 'gzip', 'x-served-by': 'loopback' }),
        '/go': send(301, '', { location: '/gz' }),
      }),
    );
    const before = Date.now();
    const r = await scrapePage(`${srv.origin}/go`, base({ capture: true, userAgent: 'CaptureBot/1', headers: { 'X-Extra': 'yes' } }), { http });
    const c = r.capture!;
    assert.ok(c, 'captured');
    assert.equal(c.url, `${srv.origin}/go`);
    assert.equal(c.final_url, `${srv.origin}/gz`);
    assert.equal(c.status_code, 200);
    assert.equal(c.status_text, 'OK');
    assert.equal(c.body.toString(), body, 'the body after content decoding');
    assert.equal(c.response_headers['content-encoding'], 'gzip', 'the headers as received');
    assert.equal(c.response_headers['x-served-by'], 'loopback');
    assert.equal(c.request_headers.host, srv.origin.replace('http://', ''));
    assert.equal(c.request_headers['user-agent'], 'CaptureBot/1');
    assert.equal(c.request_headers['x-extra'], 'yes');
    assert.equal(c.request_headers['user-agent'], srv.requests.at(-1)!.headers['user-agent'], 'what was sent');
    assert.ok(c.fetched_at instanceof Date && c.fetched_at.getTime() >= before - 1000);
    assert.ok(Number.isInteger(c.duration_ms) && c.duration_ms >= 0);
    // Not asked: none (a Firecrawl crawl never pays for it).
    assert.equal((await scrapePage(`${srv.origin}/gz`, base(), { http })).capture, null);
    // An error answer is captured too; no answer, nothing.
    const e = await lb.server(routes({ '/e': html('<p>gone</p>', 404) }));
    const gone = await scrapePage(`${e.origin}/e`, base({ capture: true }), { http });
    assert.deepEqual([gone.capture?.status_code, gone.capture?.status_text], [404, 'Not Found']);
    const port = await freePort();
    assert.equal((await scrapePage(`http://127.0.0.1:${port}/`, base({ capture: true }), { http })).capture, null);
  });

  it('drops credentials from the captured request headers when a redirect left the origin', async () => {
    const target = await lb.server(routes({ '/t': html('<p>t</p>') }));
    const start = await lb.server(routes({ '/r': send(302, '', { location: `${target.origin}/t` }) }));
    const r = await scrapePage(`${start.origin}/r`, base({ capture: true, headers: { Authorization: 'Bearer s', 'X-Keep': '1' } }), { http });
    assert.equal(r.capture!.request_headers.authorization, undefined);
    assert.equal(r.capture!.request_headers['x-keep'], '1');
    assert.equal(target.requests[0]!.headers.authorization, undefined, 'as it was on the wire');
  });

  it('gives every failure its ERR:: code', async () => {
    const srv = await lb.server(
      routes({
        '/ok': html('<p>ok</p>'),
        '/404': html('<p>x</p>', 404),
        '/503': html('<p>x</p>', 503),
        '/big': send(200, 'x'.repeat(5000), { 'content-type': 'text/html' }),
        '/hang': () => undefined,
        '/loop': send(302, '', { location: '/loop' }),
        '/bad-gzip': send(200, 'not gzip at all', { 'content-type': 'text/html', 'content-encoding': 'gzip' }),
      }),
    );
    const code = async (path: string, over: Partial<ScrapePageOptions> = {}) =>
      (await scrapePage(`${srv.origin}${path}`, base(over), { http })).errorCode;
    assert.equal(await code('/ok'), null);
    assert.equal(await code('/404'), 'ERR::SCRAPE::BAD_UPSTREAM_RESPONSE');
    assert.equal(await code('/503'), 'ERR::SCRAPE::BAD_UPSTREAM_RESPONSE');
    assert.equal(await code('/big', { maxBytes: 1000 }), 'ERR::SCRAPE::TOO_LARGE');
    assert.equal(await code('/hang', { timeoutMs: 200 }), 'ERR::SCRAPE::TIMEOUT');
    assert.equal(await code('/loop'), 'ERR::SCRAPE::REDIRECT');
    assert.equal(await code('/bad-gzip'), 'ERR::SCRAPE::BAD_UPSTREAM_RESPONSE');
    const refused = await scrapePage(`${srv.origin}/ok`, base(), { http: lb.agent(false) });
    assert.equal(refused.errorCode, 'ERR::SCRAPE::ADDRESS_REFUSED');
    const port = await freePort();
    assert.equal((await scrapePage(`http://127.0.0.1:${port}/`, base(), { http })).errorCode, 'ERR::SCRAPE::NETWORK');
  });

  it('lists the links only rel=nofollow leads to, in the crawl links form (ignoreQuery applied)', async () => {
    const srv = await lb.server(
      routes({
        '/n': html('<a rel="nofollow" href="/a">a</a><a rel="nofollow" href="/q?x=1">q1</a><a href="/q?x=2">q2</a><a href="/b">b</a>'),
      }),
    );
    const r = await scrapePage(`${srv.origin}/n`, base(), { http });
    assert.deepEqual(r.links, [`${srv.origin}/a`, `${srv.origin}/q?x=1`, `${srv.origin}/q?x=2`, `${srv.origin}/b`]);
    assert.deepEqual(r.nofollow, [`${srv.origin}/a`, `${srv.origin}/q?x=1`]);
    const q = await scrapePage(`${srv.origin}/n`, base({ ignoreQuery: true }), { http });
    assert.deepEqual(q.links, [`${srv.origin}/a`, `${srv.origin}/q`, `${srv.origin}/b`]);
    assert.deepEqual(q.nofollow, [`${srv.origin}/a`], '/q has a followable spelling');
  });
});
