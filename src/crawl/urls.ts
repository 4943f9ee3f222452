// URL normalization for crawl dedupe. Two spellings of one resource must map
// to one string, and two resources must never map to one string, so every
// rewrite below is one that servers cannot tell apart (RFC 3986 section 6.2.2
// plus the WHATWG parser's own canonicalization).
//
// Workflow code imports this module: it uses only the global URL (which the
// Temporal workflow sandbox provides) and string operations, no Node import
// and no package, so it is deterministic and bundle-safe.

export type UrlRejectReason = 'invalid_url' | 'not_http';

export type NormalizeResult = { ok: true; url: string } | { ok: false; reason: UrlRejectReason };

export interface NormalizeOptions {
  /**
   * Drop the whole query (Firecrawl's `ignoreQueryParameters`): pages that
   * differ only in tracking or session parameters then dedupe to one.
   */
  ignoreQuery?: boolean;
}

// RFC 3986 unreserved characters: percent-encoding them never changes meaning,
// so decoding them is safe in the path and in the query alike.
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** Percent-escapes with upper-case hex, unreserved characters decoded (the path and query spelling normalizeUrl gives). */
export function normalizePercentEncoding(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
}

// Sorting by name alone (a stable sort) keeps the relative order of repeated
// names: `a=1&a=2` and `a=2&a=1` can be different requests to a server that
// reads the list. Empty pieces (`&&`) carry nothing and are dropped. The raw
// spelling of each piece is kept: re-serialising through URLSearchParams
// would rewrite `%20` as `+` and change what some servers see.
function normalizeQuery(search: string): string {
  if (search === '' || search === '?') return '';
  const pieces = search
    .slice(1)
    .split('&')
    .filter((p) => p !== '')
    .map(normalizePercentEncoding);
  if (pieces.length === 0) return '';
  const keyed = pieces.map((p) => {
    const eq = p.indexOf('=');
    return { key: eq === -1 ? p : p.slice(0, eq), piece: p };
  });
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return `?${keyed.map((k) => k.piece).join('&')}`;
}

/**
 * The dedupe form of an http(s) URL, resolved against `base` when given.
 *
 * Scheme and host lower-case (IDN hosts in punycode, IP literals in their
 * canonical form), default port dropped, fragment dropped, dot segments
 * resolved (also the `%2e` spellings), credentials dropped, percent-encoding
 * hex upper-case with unreserved characters decoded, query parameters sorted
 * by name (stable), a host's trailing dot dropped. The path is otherwise kept
 * as written: `/a/` and `/a` stay distinct because many servers answer them
 * differently; only the empty path becomes `/`.
 */
export function normalizeUrl(input: string, base?: string, opts: NormalizeOptions = {}): NormalizeResult {
  let url: URL;
  try {
    url = base === undefined ? new URL(input) : new URL(input, base);
  } catch {
    return { ok: false, reason: 'invalid_url' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: 'not_http' };

  let hostname = url.hostname;
  // `example.com.` is the same DNS name as `example.com`; keeping both would
  // crawl the site twice.
  if (hostname.endsWith('.') && !hostname.startsWith('[')) hostname = hostname.slice(0, -1);
  if (hostname === '') return { ok: false, reason: 'invalid_url' };

  const host = url.port === '' ? hostname : `${hostname}:${url.port}`;
  // Special schemes always have a path of at least `/` after parsing.
  const path = normalizePercentEncoding(url.pathname);
  const query = opts.ignoreQuery ? '' : normalizeQuery(url.search);
  return { ok: true, url: `${url.protocol}//${host}${path}${query}` };
}

/** normalizeUrl's URL, or null when the input is not a usable http(s) URL. */
export function canonicalUrl(input: string, base?: string, opts?: NormalizeOptions): string | null {
  const r = normalizeUrl(input, base, opts);
  return r.ok ? r.url : null;
}
