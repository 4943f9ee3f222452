// Which links the crawler does not fetch, by file extension.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isLikelyNonPage, urlExtension } from '../../../src/crawl/skip';

describe('isLikelyNonPage', () => {
  it('skips images, media, fonts, assets, archives, binaries and office files', () => {
    for (const p of [
      '/a.png',
      '/b.JPG',
      '/c.svg',
      '/v.mp4',
      '/s.mp3',
      '/f.woff2',
      '/x.css',
      '/x.js',
      '/app.js.map',
      '/a.zip',
      '/a.tar.gz',
      '/setup.exe',
      '/r.docx',
      '/d.csv',
    ]) {
      assert.equal(isLikelyNonPage(`https://example.com/dir${p}`), true, p);
    }
  });

  it('keeps pages, PDFs, feeds and extensionless paths', () => {
    for (const p of [
      '/',
      '/about',
      '/a.html',
      '/a.htm',
      '/index.php',
      '/doc.pdf',
      '/DOC.PDF',
      '/feed.xml',
      '/data.json',
      '/notes.txt',
      '/v1.2/guide',
      '/.well-known/x',
      '/.htaccess',
      '/trailing.',
    ]) {
      assert.equal(isLikelyNonPage(`https://example.com${p}`), false, p);
    }
  });

  it('looks at the path only: not the query, not the fragment, not the host', () => {
    assert.equal(isLikelyNonPage('https://example.com/logo.png?v=3'), true);
    assert.equal(isLikelyNonPage('https://example.com/logo.png#top'), true);
    assert.equal(isLikelyNonPage('https://example.com/download?file=a.zip'), false);
    assert.equal(isLikelyNonPage('https://cdn.js/page'), false);
    assert.equal(isLikelyNonPage('https://example.com/img.png/'), false);
  });

  it('decodes escapes and ignores what does not parse', () => {
    assert.equal(urlExtension('https://example.com/a%2Epng'), null); // the URL parser keeps %2E in the path
    assert.equal(urlExtension('https://example.com/a.p%6Eg'), 'png');
    assert.equal(isLikelyNonPage('not a url'), false);
  });
});
