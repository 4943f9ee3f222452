// Sitemap reading (sitemaps.org protocol 0.9): <urlset> and <sitemapindex>
// XML, and plain-text sitemaps (one URL per line). Text in, URLs out; the
// fetching (and gunzipping of .xml.gz) happens in the address-guarded HTTP
// client.
//
// A sitemap is attacker-controlled input, so:
// - No entity is expanded. fast-xml-parser runs with processEntities off, so
//   DOCTYPE-declared entities (billion laughs) stay unexpanded text, and a
//   DOCTYPE declaring external entities (XXE) makes the parser refuse the
//   document. The five predefined XML entities and numeric character
//   references, which real sitemaps need (`&amp;` in query strings), are
//   decoded here; a <loc> still holding any other entity reference is invalid.
// - The document is capped in bytes (SITEMAP_MAX_BYTES, the protocol's limit)
//   and in markup (SITEMAP_MAX_TAGS): fast-xml-parser builds a tree, and it is
//   the element count, not the byte count, that costs memory and time (12
//   million empty elements take 2 GB). Nesting is capped by the parser's
//   maxNestedTags.
// - At most SITEMAP_MAX_URLS entries are kept (the protocol's per-file limit,
//   for <url> and <sitemap> alike); the rest are counted as dropped.
//
// Namespaces: element names are matched without their prefix and without
// checking the namespace URI, because sitemaps with a missing or wrong
// namespace are common and still meant as sitemaps. Only the <loc> that is a
// direct child of <url> or <sitemap> counts (image:loc and friends are
// extensions, not pages). RSS and Atom feeds, which the protocol also allows,
// are not read (kind 'unknown').
import { XMLParser } from 'fast-xml-parser';
import { utf8Prefix } from './bytes';
import { normalizeUrl } from './urls';

export const SITEMAP_MAX_BYTES = 50 * 1024 * 1024;
/** `<` characters allowed in one document: about half a million elements. */
export const SITEMAP_MAX_TAGS = 1_000_000;
export const SITEMAP_MAX_URLS = 50_000;

export type SitemapKind = 'urlset' | 'sitemapindex' | 'text' | 'unknown';

export interface SitemapParseResult {
  kind: SitemapKind;
  /** Page URLs (urlset and text sitemaps), normalized, deduped, in document order. */
  urls: string[];
  /** Child sitemap URLs (sitemapindex), normalized, deduped, in document order. */
  sitemaps: string[];
  /** Entries past the URL cap were dropped. */
  truncated: boolean;
  /** Entries with no usable absolute http(s) URL. */
  invalid: number;
  /** Why nothing could be read: too many bytes, too much markup, or not parseable. */
  error?: 'too_large' | 'too_complex' | 'malformed';
}

export interface ParseSitemapOptions {
  maxBytes?: number;
  maxUrls?: number;
  maxTags?: number;
  /** The fetch cut the body at its size limit: the document is incomplete. */
  truncated?: boolean;
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

// One pass, so `&amp;lt;` becomes `&lt;` and not `<`.
function decodeXmlText(s: string): string | null {
  let bad = false;
  const out = s.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[A-Za-z_][\w.-]*);/g, (m, ref: string) => {
    if (ref[0] === '#') {
      const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) return String.fromCodePoint(cp);
      bad = true;
      return m;
    }
    const v = PREDEFINED[ref];
    if (v === undefined) bad = true;
    return v ?? m;
  });
  return bad ? null : out;
}

function empty(kind: SitemapKind, error?: SitemapParseResult['error']): SitemapParseResult {
  const r: SitemapParseResult = { kind, urls: [], sitemaps: [], truncated: false, invalid: 0 };
  if (error) r.error = error;
  return r;
}

/** Collects up to `max` distinct normalized URLs. */
class UrlCollector {
  readonly urls: string[] = [];
  private readonly seen = new Set<string>();
  invalid = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  /** false once the cap is reached. */
  add(raw: string | null): boolean {
    if (this.urls.length >= this.max) {
      this.truncated = true;
      return false;
    }
    const r = raw === null ? null : normalizeUrl(raw.trim());
    if (r === null || !r.ok) this.invalid++;
    else if (!this.seen.has(r.url)) {
      this.seen.add(r.url);
      this.urls.push(r.url);
    }
    return true;
  }
}

function parseText(text: string, max: number): SitemapParseResult {
  const c = new UrlCollector(max);
  for (const line of text.split(/\r\n|\r|\n/)) {
    const t = line.trim();
    if (t === '') continue;
    if (!c.add(t)) break;
  }
  return { kind: 'text', urls: c.urls, sitemaps: [], truncated: c.truncated, invalid: c.invalid };
}

const parser = new XMLParser({
  processEntities: false,
  htmlEntities: false,
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
  cdataPropName: false,
  maxNestedTags: 32,
  isArray: (name) => name === 'url' || name === 'sitemap' || name === 'loc',
});

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : v === undefined ? [] : [v];
}

/** The text of an entry's first direct <loc>, or null when it has none. */
function locOf(entry: unknown): string | null {
  if (typeof entry !== 'object' || entry === null) return null;
  const loc = asArray((entry as Record<string, unknown>).loc)[0];
  if (typeof loc === 'string') return decodeXmlText(loc);
  // Mixed content (<loc> with child elements) keeps its text under #text.
  const text = typeof loc === 'object' && loc !== null ? (loc as Record<string, unknown>)['#text'] : undefined;
  return typeof text === 'string' ? decodeXmlText(text) : null;
}

function countTags(text: string, max: number): boolean {
  let n = 0;
  for (let i = text.indexOf('<'); i !== -1; i = text.indexOf('<', i + 1)) if (++n > max) return false;
  return true;
}

/**
 * The URLs a sitemap document lists. XML when its first non-blank character
 * is `<`, plain text otherwise. Only absolute http(s) URLs count (the protocol
 * requires them); the rest are counted in `invalid`. Never throws on bad
 * input: an unusable document comes back as kind 'unknown' with `error`.
 */
export function parseSitemap(text: string, opts: ParseSitemapOptions = {}): SitemapParseResult {
  const maxBytes = opts.maxBytes ?? SITEMAP_MAX_BYTES;
  const maxUrls = opts.maxUrls ?? SITEMAP_MAX_URLS;
  const maxTags = opts.maxTags ?? SITEMAP_MAX_TAGS;
  if (opts.truncated || utf8Prefix(text, maxBytes).cut) return empty('unknown', 'too_large');

  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (!body.trimStart().startsWith('<')) return parseText(body, maxUrls);
  if (!countTags(body, maxTags)) return empty('unknown', 'too_complex');

  let doc: unknown;
  try {
    doc = parser.parse(body);
  } catch {
    return empty('unknown', 'malformed');
  }
  if (typeof doc !== 'object' || doc === null) return empty('unknown');
  const root = doc as Record<string, unknown>;

  for (const kind of ['urlset', 'sitemapindex'] as const) {
    if (!(kind in root)) continue;
    const container = root[kind];
    const entries =
      typeof container === 'object' && container !== null
        ? asArray((container as Record<string, unknown>)[kind === 'urlset' ? 'url' : 'sitemap'])
        : [];
    const c = new UrlCollector(maxUrls);
    for (const entry of entries) if (!c.add(locOf(entry))) break;
    return {
      kind,
      urls: kind === 'urlset' ? c.urls : [],
      sitemaps: kind === 'sitemapindex' ? c.urls : [],
      truncated: c.truncated,
      invalid: c.invalid,
    };
  }
  return empty('unknown');
}
