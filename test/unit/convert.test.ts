import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { convertContent, decodeBody, htmlToMarkdown, htmlToText, parseJsonContent } from '../../src/content/convert';

const ascii = (s: string) => Buffer.from(s, 'latin1');
const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? ascii(p) : Buffer.from(p))));

// "café" + " €" + " “ok”" in windows-1252 / ISO-8859-1 bytes.
const CAFE = [0x63, 0x61, 0x66, 0xe9];
const EURO_QUOTES = [0x20, 0x80, 0x20, 0x93, 0x6f, 0x6b, 0x94];
// "日本語こんにちは" in Shift_JIS.
const SJIS = [0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea, 0x82, 0xb1, 0x82, 0xf1, 0x82, 0xc9, 0x82, 0xbf, 0x82, 0xcd];

describe('decodeBody', () => {
  it('uses the Content-Type charset (latin1 label → windows-1252, incl. 0x80–0x9F)', () => {
    const body = bytes('<p>', CAFE, EURO_QUOTES, '</p>');
    const r = decodeBody(body, 'text/html; charset=ISO-8859-1');
    assert.equal(r.charset, 'windows-1252');
    assert.equal(r.text, '<p>café € “ok”</p>');
  });

  it('finds <meta charset> when the header has none', () => {
    const body = bytes('<!doctype html><html><head><meta charset="iso-8859-1"><title>t</title></head><body>', CAFE, '</body></html>');
    const r = decodeBody(body, 'text/html');
    assert.equal(r.charset, 'windows-1252');
    assert.match(r.text, /<body>café<\/body>/);
  });

  it('finds <meta http-equiv="Content-Type" content="...; charset=..."> ', () => {
    const body = bytes(
      '<html><head><!-- <meta charset="utf-8"> --><META HTTP-EQUIV="content-type" CONTENT="text/html; charset=windows-1251"></head><body>',
      [0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2],
      '</body></html>',
    );
    const r = decodeBody(body, 'text/html;');
    assert.equal(r.charset, 'windows-1251');
    assert.match(r.text, /Привет/);
  });

  it('ignores a <meta> past the first 2048 bytes', () => {
    const body = bytes('<html><head>', '<!-- pad -->'.repeat(200), '<meta charset="shift_jis"></head><body>', CAFE, '</body></html>');
    assert.ok(body.indexOf('<meta') > 2048);
    assert.equal(decodeBody(body, 'text/html').charset, 'windows-1252'); // not UTF-8, no usable declaration
  });

  it('no declaration at all: valid UTF-8 → utf-8, invalid UTF-8 → windows-1252', () => {
    assert.deepEqual(decodeBody(Buffer.from('<p>naïve ✓</p>', 'utf8'), 'text/html'), { text: '<p>naïve ✓</p>', charset: 'utf-8' });
    const r = decodeBody(bytes('<html><body><p>', CAFE, EURO_QUOTES, '</p></body></html>'), null);
    assert.equal(r.charset, 'windows-1252');
    assert.equal(r.text, '<html><body><p>café € “ok”</p></body></html>');
  });

  it('decodes Shift_JIS from the header and from <meta>', () => {
    assert.deepEqual(decodeBody(Buffer.from(SJIS), 'text/plain; charset="Shift_JIS"'), { text: '日本語こんにちは', charset: 'shift_jis' });
    const page = bytes('<html><head><meta charset=sjis></head><body>', SJIS, '</body></html>');
    const r = decodeBody(page, 'text/html');
    assert.equal(r.charset, 'shift_jis');
    assert.equal(r.text, '<html><head><meta charset=sjis></head><body>日本語こんにちは</body></html>');
  });

  it('a BOM wins over every declaration and is stripped (UTF-16LE, UTF-16BE, UTF-8)', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<p>héllo 日本</p>', 'utf16le')]);
    assert.deepEqual(decodeBody(le, 'text/html; charset=iso-8859-1'), { text: '<p>héllo 日本</p>', charset: 'utf-16le' });
    const be = Buffer.from(Buffer.from('\ufeffhi é', 'utf16le')).swap16();
    assert.deepEqual(decodeBody(be, null), { text: 'hi é', charset: 'utf-16be' });
    const u8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name":"Zoë"}', 'utf8')]);
    assert.deepEqual(decodeBody(u8, 'application/json; charset=windows-1252'), { text: '{"name":"Zoë"}', charset: 'utf-8' });
  });

  it('an unknown header label falls through to <meta>; the header beats <meta>', () => {
    const page = bytes('<meta charset="iso-8859-1"><p>', CAFE, '</p>');
    assert.equal(decodeBody(page, 'text/html; charset=no-such-charset').charset, 'windows-1252');
    const sjisPage = bytes('<meta charset="iso-8859-1"><p>', SJIS, '</p>');
    const r = decodeBody(sjisPage, 'text/html; charset=shift_jis');
    assert.equal(r.charset, 'shift_jis');
    assert.match(r.text, /日本語/);
  });

  it('windows-1252 0x80–0x9F: the assigned bytes as the WHATWG index has them, the five unassigned ones as U+FFFD', () => {
    const high = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x80 + i));
    const r = decodeBody(high, 'text/plain; charset=windows-1252');
    assert.equal(r.charset, 'windows-1252');
    assert.equal(r.text, '€\ufffd‚ƒ„…†‡ˆ‰Š‹Œ\ufffdŽ\ufffd\ufffd‘’“”•–—˜™š›œ\ufffdžŸ');
  });

  it('a <meta> after the first 1024 bytes is not read (the HTML prescan window)', () => {
    const pad = `<html><head>${'<!-- pad -->'.repeat(90)}`;
    assert.ok(pad.length > 1024 && pad.length < 2048);
    assert.equal(decodeBody(bytes(pad, '<meta charset="shift_jis"></head><body>', CAFE, '</body></html>'), 'text/html').charset, 'windows-1252');
    assert.equal(decodeBody(bytes('<html><head><meta charset="shift_jis"></head><body>', SJIS), 'text/html').charset, 'shift_jis');
  });

  it('<meta> UTF-16 means UTF-8, <meta> x-user-defined means windows-1252, an unknown <meta> label is skipped', () => {
    assert.deepEqual(decodeBody(Buffer.from('<meta charset="utf-16"><p>naïve</p>', 'utf8'), 'text/html'), {
      text: '<meta charset="utf-16"><p>naïve</p>',
      charset: 'utf-8',
    });
    assert.deepEqual(decodeBody(bytes('<meta charset="x-user-defined"><p>', CAFE, '</p>'), 'text/html'), {
      text: '<meta charset="x-user-defined"><p>café</p>',
      charset: 'windows-1252',
    });
    assert.equal(decodeBody(bytes('<meta charset="bogus"><meta charset="shift_jis"><p>', SJIS, '</p>'), 'text/html').charset, 'shift_jis');
  });

  it('uses the XML declaration for XML', () => {
    const xml = bytes('<?xml version="1.0" encoding="ISO-8859-15"?><price>', [0xa4], '5</price>');
    assert.deepEqual(decodeBody(xml, 'application/rss+xml'), {
      text: '<?xml version="1.0" encoding="ISO-8859-15"?><price>€5</price>',
      charset: 'iso-8859-15',
    });
  });
});

const PAGE = `<!doctype html>
<html>
<head>
  <title>Head title</title>
  <style>body { color: red; } .secret { display: none }</style>
  <script>document.write("WRITTEN BY SCRIPT");</script>
</head>
<body>
  <h1>Title</h1>
  <p>Read the <a href="/about">link</a> or <a href="https://other.example.org/page?q=1">elsewhere</a>.</p>
  <h2>Sub</h2>
  <ul>
    <li>item</li>
    <li>parent
      <ul><li>child</li></ul>
    </li>
  </ul>
  <ol><li>first</li><li>second</li></ol>
  <table>
    <thead><tr><th>Name</th><th>Qty</th></tr></thead>
    <tbody><tr><td>Apple</td><td>3</td></tr><tr><td>Pear</td><td>5</td></tr></tbody>
  </table>
  <pre><code class="language-js">const x = 1;
console.log(x);</code></pre>
  <noscript>Please enable JavaScript</noscript>
  <script>var hidden = "INLINE SCRIPT TEXT";</script>
  <p>The end.</p>
</body>
</html>`;

describe('htmlToMarkdown', () => {
  const md = htmlToMarkdown(PAGE, 'https://example.com/docs/index.html');
  const lines = md.split('\n');

  it('ATX headings and absolute links', () => {
    assert.equal(lines[0], '# Title');
    assert.ok(lines.includes('## Sub'));
    assert.ok(md.includes('[link](https://example.com/about)'));
    assert.ok(md.includes('[elsewhere](https://other.example.org/page?q=1)'));
  });

  it('dash bullets, nested lists, ordered lists', () => {
    assert.ok(lines.includes('- item'));
    assert.ok(lines.includes('- parent'));
    assert.ok(lines.includes('  - child'));
    assert.ok(lines.includes('1. first'));
    assert.ok(lines.includes('2. second'));
  });

  it('GFM table rows and a fenced code block', () => {
    const t = lines.indexOf('| Name | Qty |');
    assert.ok(t >= 0, md);
    assert.deepEqual(lines.slice(t, t + 4), ['| Name | Qty |', '| --- | --- |', '| Apple | 3 |', '| Pear | 5 |']);
    const f = lines.indexOf('```js');
    assert.deepEqual(lines.slice(f, f + 4), ['```js', 'const x = 1;', 'console.log(x);', '```']);
  });

  it('drops script, style, noscript and head contents', () => {
    for (const gone of ['WRITTEN BY SCRIPT', 'INLINE SCRIPT TEXT', 'color: red', 'Please enable JavaScript', 'Head title']) {
      assert.ok(!md.includes(gone), `markdown still has ${gone}`);
    }
    assert.equal(lines[lines.length - 1], 'The end.');
  });

  it('leaves hrefs alone without a base URL; header-less tables still become tables', () => {
    assert.equal(htmlToMarkdown('<a href="/about">About</a>'), '[About](/about)');
    assert.equal(
      htmlToMarkdown('<table><tr><td>a</td><td>b|c</td></tr><tr><td>1</td><td>2</td></tr></table>'),
      '| a | b\\|c |\n| --- | --- |\n| 1 | 2 |',
    );
  });
});

describe('htmlToText', () => {
  const text = htmlToText(PAGE);
  const lines = text.split('\n');

  it('no tags, no script/style/noscript contents, no URLs', () => {
    assert.ok(!text.includes('<'));
    assert.ok(!text.includes('WRITTEN BY SCRIPT'));
    assert.ok(!text.includes('INLINE SCRIPT TEXT'));
    assert.ok(!text.includes('color: red'));
    assert.ok(!text.includes('display'));
    assert.ok(!text.includes('Please enable JavaScript'));
    assert.ok(!text.includes('http'));
    assert.ok(!text.includes('/about'));
  });

  it('blocks on their own lines, headings not uppercased, links as text, tidy whitespace', () => {
    assert.equal(lines[0], 'Title');
    assert.ok(lines.includes('Sub'));
    assert.ok(lines.includes('Read the link or elsewhere.'));
    assert.ok(lines.includes('- item'));
    assert.ok(lines.some((l) => /^Apple\s+3$/.test(l)));
    assert.ok(!/\n\n\n/.test(text));
    assert.equal(text, text.trim());
    assert.equal(lines[lines.length - 1], 'The end.');
  });
});

describe('parseJsonContent', () => {
  it('parses JSON and reports errors', () => {
    assert.deepEqual(parseJsonContent('{"a":[1,2,{"b":null}]}'), { ok: true, value: { a: [1, 2, { b: null }] } });
    assert.deepEqual(parseJsonContent(' 42 '), { ok: true, value: 42 });
    const bad = parseJsonContent('<html>');
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok && bad.error.length > 0);
  });
});

describe('convertContent', () => {
  const URL_ = 'https://example.com/shop/list.html';

  it('raw: the decoded text of a Latin-1 page', () => {
    const body = bytes('<html><body><p>', CAFE, '</p></body></html>');
    assert.deepEqual(convertContent('raw', body, 'text/html; charset=latin1', URL_), {
      content: '<html><body><p>café</p></body></html>',
      charset: 'windows-1252',
    });
  });

  it('markdown and text from a meta-declared Latin-1 page, links resolved against the URL', () => {
    const body = bytes(
      '<html><head><meta charset="iso-8859-1"></head><body><h1>Caf',
      [0xe9],
      '</h1><p><a href="item?id=1">Cr',
      [0xea],
      'pe</a></p></body></html>',
    );
    const md = convertContent('markdown', body, 'text/html', URL_);
    assert.equal(md.charset, 'windows-1252');
    assert.equal(md.content, '# Café\n\n[Crêpe](https://example.com/shop/item?id=1)');
    const tx = convertContent('text', body, 'text/html', URL_);
    assert.equal(tx.content, 'Café\n\nCrêpe');
  });

  it('text/markdown of a non-HTML body: the decoded text unchanged', () => {
    const body = Buffer.from('line <b>1</b>\nline 2\n', 'utf8');
    assert.equal(convertContent('text', body, 'text/plain', URL_).content, 'line <b>1</b>\nline 2\n');
    assert.equal(convertContent('markdown', body, 'text/plain; charset=utf-8', URL_).content, 'line <b>1</b>\nline 2\n');
  });

  it('json: parsed value plus the text; not JSON → ERR::SCRAPE::NOT_JSON', () => {
    const ok = convertContent('json', Buffer.from('{"items":[{"id":1,"name":"Zoë"}]}', 'utf8'), 'application/json', URL_);
    assert.deepEqual(ok.json, { items: [{ id: 1, name: 'Zoë' }] });
    assert.equal(ok.content, '{"items":[{"id":1,"name":"Zoë"}]}');
    assert.equal(ok.error, undefined);
    const notJson = convertContent('json', Buffer.from('<html><body>Oops</body></html>'), 'text/html', URL_);
    assert.equal(notJson.error?.code, 'ERR::SCRAPE::NOT_JSON');
    assert.ok(notJson.error!.message.length > 0);
    assert.equal(notJson.json, undefined);
  });

  it('binary bodies → base64 with charset binary; as JSON → NOT_JSON', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
    assert.deepEqual(convertContent('raw', png, 'image/png', URL_), { content: png.toString('base64'), charset: 'binary' });
    assert.deepEqual(convertContent('raw', png, 'application/octet-stream', URL_), { content: 'iVBORw0KGgoA/w==', charset: 'binary' });
    assert.equal(convertContent('markdown', png, 'application/pdf', URL_).charset, 'binary');
    assert.equal(convertContent('raw', png, null, URL_).charset, 'binary'); // sniffed: NUL byte, no content type
    const j = convertContent('json', png, 'image/png', URL_);
    assert.equal(j.content, null);
    assert.equal(j.error?.code, 'ERR::SCRAPE::NOT_JSON');
  });
});
