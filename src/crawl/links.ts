// Link discovery in a fetched HTML document. Kept apart from urls.ts so that
// workflow code importing URL normalization does not bundle an HTML parser:
// links are extracted where the page is fetched (an activity), and only URLs
// travel on.
//
// htmlparser2 is used as a tokenizer (no DOM is built): it already knows that
// <script>, <style>, <title>, <textarea> and <xmp> hold text, not markup, that
// comments are not markup, and how attribute entities decode, which is where
// regex-based extractors go wrong.
import { Parser } from 'htmlparser2';
import { normalizeUrl, type NormalizeOptions } from './urls';

/** Links kept per document by default; a page listing more is cut, in document order. */
export const MAX_LINKS_PER_PAGE = 10_000;

export interface ExtractLinksOptions extends NormalizeOptions {
  maxLinks?: number;
}

// Only hyperlinks a user could follow: <a href> and <area href>. <link
// rel=alternate> points at translations and feeds, not pages of the site, and
// rel=nofollow is followed because Firecrawl follows it (nofollow is about
// ranking, not access; robots.txt is the access control and is applied
// separately).
const LINK_ELEMENTS = new Set(['a', 'area']);

/**
 * Absolute normalized http(s) URLs that `html` links to, deduped, in document
 * order.
 *
 * Relative links resolve against the first <base href> of the document (as
 * browsers do, that base applies to links before it too), itself resolved
 * against `pageUrl`; a base that is not http(s) or does not parse is ignored.
 * Links inside <template> are inert in browsers and are skipped. Links that
 * are not http(s) (mailto:, javascript:, data:, tel:…) or do not parse are
 * dropped. Fragment-only links normalize to the page itself, which the
 * crawl's visited set then drops.
 */
export function extractLinks(html: string, pageUrl: string, opts: ExtractLinksOptions = {}): string[] {
  const maxLinks = opts.maxLinks ?? MAX_LINKS_PER_PAGE;
  const hrefs: string[] = [];
  let baseHref: string | null = null;
  let templateDepth = 0;
  // Raw hrefs are capped well above maxLinks: duplicates and non-http links
  // are dropped only after resolution, but memory must stay bounded.
  const rawCap = maxLinks * 4;

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (name === 'template') {
          templateDepth++;
          return;
        }
        if (templateDepth > 0) return;
        const href = attribs.href;
        if (href === undefined) return;
        if (name === 'base') {
          if (baseHref === null) baseHref = href;
        } else if (LINK_ELEMENTS.has(name) && hrefs.length < rawCap) {
          hrefs.push(href);
        }
      },
      onclosetag(name) {
        if (name === 'template' && templateDepth > 0) templateDepth--;
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();

  let base = pageUrl;
  if (baseHref !== null) {
    try {
      const b = new URL(baseHref, pageUrl);
      if (b.protocol === 'http:' || b.protocol === 'https:') base = b.href;
    } catch {
      // An unusable <base> leaves the document URL as the base, as in browsers.
    }
  }

  const seen = new Set<string>();
  const out: string[] = [];
  for (const href of hrefs) {
    const r = normalizeUrl(href, base, opts);
    if (!r.ok || seen.has(r.url)) continue;
    seen.add(r.url);
    out.push(r.url);
    if (out.length >= maxLinks) break;
  }
  return out;
}
