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
// rel=alternate> points at translations and feeds, not pages of the site.
//
// rel=nofollow: Firecrawl follows such links (nofollow is about ranking, not
// access; robots.txt is the access control and is applied separately), so
// extractLinks returns them all. Scrapfly's crawler does not follow them
// unless asked (ignore_no_follow), so extractPageLinks also says, in the same
// pass, which links are nofollow: a link whose rel has the `nofollow` token
// (`ugc` and `sponsored` alone are hints, not nofollow), or every link of a
// page whose <meta name="robots"> says `nofollow` or `none`. A URL linked
// both ways is followable: one ordinary link to it is enough.
const LINK_ELEMENTS = new Set(['a', 'area']);

const hasToken = (list: string | undefined, tokens: readonly string[]) =>
  list !== undefined && list.split(/[\s,]+/).some((t) => tokens.includes(t.toLowerCase()));

/** A page's links, and which of them only rel=nofollow links lead to. */
export interface PageLinks {
  /** Every link, as extractLinks returns them. */
  links: string[];
  /** The subset of `links` reached only through nofollow links (all of them under a robots meta nofollow). */
  nofollow: string[];
}

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
  return extractPageLinks(html, pageUrl, opts).links;
}

/** extractLinks, also telling the nofollow links apart (see the top of this file). One parse. */
export function extractPageLinks(html: string, pageUrl: string, opts: ExtractLinksOptions = {}): PageLinks {
  const maxLinks = opts.maxLinks ?? MAX_LINKS_PER_PAGE;
  const hrefs: string[] = [];
  const nofollowAt = new Set<number>();
  let pageNofollow = false;
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
        if (name === 'meta' && (attribs.name ?? '').trim().toLowerCase() === 'robots' && hasToken(attribs.content, ['nofollow', 'none'])) {
          pageNofollow = true;
          return;
        }
        const href = attribs.href;
        if (href === undefined) return;
        if (name === 'base') {
          if (baseHref === null) baseHref = href;
        } else if (LINK_ELEMENTS.has(name) && hrefs.length < rawCap) {
          if (hasToken(attribs.rel, ['nofollow'])) nofollowAt.add(hrefs.length);
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

  // URL → whether some link to it may be followed.
  const seen = new Map<string, boolean>();
  const out: string[] = [];
  for (let i = 0; i < hrefs.length; i++) {
    const r = normalizeUrl(hrefs[i], base, opts);
    if (!r.ok) continue;
    const followable = !pageNofollow && !nofollowAt.has(i);
    const known = seen.get(r.url);
    if (known !== undefined) {
      if (followable && !known) seen.set(r.url, true);
      continue;
    }
    seen.set(r.url, followable);
    out.push(r.url);
    if (out.length >= maxLinks) break;
  }
  return { links: out, nofollow: out.filter((u) => seen.get(u) === false) };
}
