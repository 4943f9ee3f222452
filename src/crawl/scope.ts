// Which URLs a crawl may visit, for the options of both Firecrawl API versions.
//
// Decisions the Firecrawl sources leave open, or where Hookshot differs:
//
// - Hosts compare by hostname only (not scheme, not port), and a leading
//   `www.` is ignored, as Firecrawl does: http://example.com and
//   https://www.example.com/ are the same site.
// - A subdomain is a host below the start host (its `www.` removed):
//   starting at docs.example.com, api.docs.example.com is a subdomain and
//   blog.example.com is external. Firecrawl compares the last two labels
//   instead, which would put every *.co.uk site inside a crawl of one of them.
//   IP-literal hosts have no subdomains.
// - allowExternalLinks also admits subdomains (as Firecrawl does), but an
//   external page is a leaf: links found on an external page are followed only
//   back into the site, never to further external pages (Firecrawl's "one hop").
// - "Backward" means a path not under the start URL's path, compared by whole
//   segments: from /docs, /docs and /docs/x are under it, /docs-old and / are
//   not. Firecrawl uses a plain string prefix, under which /docs covers
//   /docs-old. The rule applies to the site's own host only: another host's
//   paths have no relation to the start path.
// - maxDepth (v1) is path depth, as in Firecrawl v1: the number of non-empty
//   path segments (index.html and index.php not counted) may exceed the start
//   URL's by at most maxDepth, whatever link chain led there.
//   maxDiscoveryDepth (v2, also sent by the v1 SDK) counts link hops: the start
//   URL and sitemap entries are depth 0, a link found on a depth-d page is
//   depth d + 1. Both apply when both are given.
// - includePaths / excludePaths are regular expressions searched (not
//   anchored) in the normalized path, without the query, as Firecrawl does;
//   with regexOnFullURL, in the whole normalized URL (query included, no
//   fragment). Exclusion wins over inclusion. Empty patterns are ignored (an
//   empty list entry means "no filter" to Firecrawl). See pattern.ts for the
//   limits that keep matching cheap.
// - crawlEntireDomain (v2) and allowBackwardLinks (v1) are one option; the v2
//   name wins when a request carries both.
//
// Scrapfly's crawler (kind 'crawler') is read into the same options:
//
// - pathSyntax 'wildcard': includePaths / excludePaths are Scrapfly `*`
//   wildcards matched against the whole normalized path, without the query
//   (pattern.ts, compileWildcard: linear time, no regular expression).
//   Exclusion still wins, and the seed is never checked (the crawl inserts
//   it), so it is always fetched.
// - allowedSubdomains (allowed_internal_subdomains): when subdomains are
//   followed and the list is not empty, a subdomain is admitted only when a
//   pattern matches its whole host name (`blog.example.com`,
//   `*.docs.example.com`) or the part before the site's host (`blog`,
//   `*.docs`). Otherwise it is excluded as 'subdomain', even when external
//   links are followed: the list was explicit.
// - allowedExternalDomains (allowed_external_domains): when external links
//   are followed and the list is not empty, an external host is admitted only
//   when a pattern matches its host name, with or without a leading `www.`.
// - crawlerSkipReason gives Scrapfly's name for each exclusion reason.
//
// No Node import: workflow code may compile and evaluate scopes (a compiled
// scope holds RegExps, so pass the options, not the scope, across Temporal
// boundaries, and compile again on the other side: compiling is
// deterministic).
import {
  compilePattern,
  compileWildcard,
  MAX_PATTERNS_PER_FIELD,
  MAX_TOTAL_PATTERN_CHARS,
  testPattern,
  TOTAL_COST_BUDGET,
  type CompiledPattern,
  type PatternErrorCode,
  type WildcardPattern,
} from './pattern';
import { normalizeUrl } from './urls';
import type { CrawlScopeOptions } from '../shared/contracts/crawl';
export type { CrawlScopeOptions };

export type ScopeErrorCode = PatternErrorCode | 'invalid_url' | 'invalid_type' | 'invalid_value' | 'too_many_patterns';

/** A request error naming its field (`includePaths[2]`, `maxDepth`, `url`); the API answers 400 with it. */
export interface ScopeOptionError {
  field: string;
  code: ScopeErrorCode;
  message: string;
}

export interface CrawlScope {
  /** The start URL, normalized. */
  readonly startUrl: string;
  readonly startPath: string;
  readonly startPathDepth: number;
  /** The start hostname without a leading `www.`. */
  readonly siteHost: string;
  readonly siteIsIp: boolean;
  readonly include: readonly CompiledPattern[];
  readonly exclude: readonly CompiledPattern[];
  readonly regexOnFullURL: boolean;
  readonly maxPathDepth: number | null;
  readonly maxDiscoveryDepth: number | null;
  readonly crawlEntireDomain: boolean;
  readonly allowSubdomains: boolean;
  readonly allowExternalLinks: boolean;
  /** How include and exclude read: regular expressions searched, or wildcards over the whole path. */
  readonly pathSyntax: 'regex' | 'wildcard';
  /** Host name wildcards; empty admits every subdomain. */
  readonly allowedSubdomains: readonly WildcardPattern[];
  /** Host name wildcards; empty admits every external host. */
  readonly allowedExternalDomains: readonly WildcardPattern[];
}

export type CompileScopeResult = { ok: true; scope: CrawlScope } | { ok: false; error: ScopeOptionError };

export type ScopeExclusionReason = 'invalid_url' | 'not_http' | 'external' | 'subdomain' | 'backward' | 'too_deep' | 'excluded_path' | 'not_included';

export interface ScopeCandidate {
  url: string;
  /** Link hops from the start URL: 0 for the start URL and sitemap entries, a page's depth + 1 for its links. */
  depth: number;
  /** The page the link was found on; absent for the start URL and sitemap entries. */
  foundOn?: string;
}

export type ScopeDecision = { inScope: true; url: string } | { inScope: false; reason: ScopeExclusionReason; url: string | null };

/**
 * Why a Scrapfly crawler did not crawl a URL, in Scrapfly's words
 * (crawler_url_skipped, /urls?status=skipped). The scope gives the first six;
 * the crawl adds robots_txt, nofollow (a rel=nofollow link), not_a_page
 * (media, archives…) and page_limit, and, when it ends, its stop reason for
 * URLs it never fetched.
 */
export type CrawlerSkipReason =
  | 'external_domain'
  | 'subdomain_not_allowed'
  | 'base_path_restriction'
  | 'max_depth'
  | 'excluded_path'
  | 'not_included_path'
  | 'robots_txt'
  | 'nofollow'
  | 'not_a_page'
  | 'page_limit';

const CRAWLER_SKIP_REASONS: Record<ScopeExclusionReason, CrawlerSkipReason | null> = {
  // Not links to anything a crawler could visit: not reported.
  invalid_url: null,
  not_http: null,
  external: 'external_domain',
  subdomain: 'subdomain_not_allowed',
  backward: 'base_path_restriction',
  too_deep: 'max_depth',
  excluded_path: 'excluded_path',
  not_included: 'not_included_path',
};

/** Scrapfly's name for a scope exclusion; null for a URL that is not an http(s) URL at all. */
export function crawlerSkipReason(reason: ScopeExclusionReason): CrawlerSkipReason | null {
  return CRAWLER_SKIP_REASONS[reason];
}

// ---------------------------------------------------------------------------

const INDEX_SEGMENTS = new Set(['index.html', 'index.php']);

/** Non-empty path segments of a URL, `index.html` / `index.php` not counted (Firecrawl v1's rule). */
export function pathDepth(pathname: string): number {
  let n = 0;
  for (const seg of pathname.split('/')) if (seg !== '' && !INDEX_SEGMENTS.has(seg)) n++;
  return n;
}

function isIpHost(hostname: string): boolean {
  return hostname.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(hostname);
}

// `www.com` is a name of its own, not the www of `com`.
function withoutWww(hostname: string): string {
  return hostname.startsWith('www.') && hostname.indexOf('.', 4) !== -1 ? hostname.slice(4) : hostname;
}

type HostClass = 'site' | 'subdomain' | 'external';

function classifyHost(scope: CrawlScope, hostname: string): HostClass {
  if (scope.siteIsIp || isIpHost(hostname)) return hostname === scope.siteHost ? 'site' : 'external';
  const h = withoutWww(hostname);
  if (h === scope.siteHost) return 'site';
  if (h.endsWith(`.${scope.siteHost}`)) return 'subdomain';
  return 'external';
}

function isUnder(path: string, startPath: string): boolean {
  if (path === startPath) return true;
  return path.startsWith(startPath.endsWith('/') ? startPath : `${startPath}/`);
}

function compileList(
  field: 'includePaths' | 'excludePaths',
  value: unknown,
  out: CompiledPattern[],
  budget: { spent: number; chars: number },
  syntax: 'regex' | 'wildcard',
): ScopeOptionError | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) return { field, code: 'invalid_type', message: `${field} must be an array of strings` };
  if (value.length > MAX_PATTERNS_PER_FIELD) {
    return { field, code: 'too_many_patterns', message: `${field} has more than ${MAX_PATTERNS_PER_FIELD} patterns` };
  }
  for (let i = 0; i < value.length; i++) {
    const name = `${field}[${i}]`;
    const p: unknown = value[i];
    if (typeof p !== 'string') return { field: name, code: 'invalid_type', message: `${name} must be a string` };
    if (p === '') continue;
    budget.chars += p.length;
    if (budget.chars > MAX_TOTAL_PATTERN_CHARS) {
      return {
        field: name,
        code: 'too_many_patterns',
        message: `${name} makes includePaths and excludePaths together longer than ${MAX_TOTAL_PATTERN_CHARS} chars`,
      };
    }
    const r = syntax === 'wildcard' ? compileWildcard(p, 'path') : compilePattern(p);
    if (!r.ok) return { field: name, code: r.code, message: `${name} ${r.message}` };
    budget.spent += r.pattern.cost;
    if (budget.spent > TOTAL_COST_BUDGET) {
      return {
        field: name,
        code: 'unsafe_regex',
        message:
          `${name} makes includePaths and excludePaths together too expensive to test against every URL; ` +
          'use fewer or more specific (anchored) patterns',
      };
    }
    out.push(r.pattern);
  }
  return null;
}

/** allowedSubdomains / allowedExternalDomains: host name wildcards (empty entries ignored). */
function compileHostList(field: 'allowedSubdomains' | 'allowedExternalDomains', value: unknown, out: WildcardPattern[]): ScopeOptionError | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) return { field, code: 'invalid_type', message: `${field} must be an array of strings` };
  if (value.length > MAX_PATTERNS_PER_FIELD) {
    return { field, code: 'too_many_patterns', message: `${field} has more than ${MAX_PATTERNS_PER_FIELD} patterns` };
  }
  for (let i = 0; i < value.length; i++) {
    const name = `${field}[${i}]`;
    const p: unknown = value[i];
    if (typeof p !== 'string') return { field: name, code: 'invalid_type', message: `${name} must be a string` };
    if (p.trim() === '') continue;
    const r = compileWildcard(p, 'host');
    if (!r.ok) return { field: name, code: r.code, message: `${name} ${r.message}` };
    out.push(r.pattern);
  }
  return null;
}

function optionalBool(o: CrawlScopeOptions, key: keyof CrawlScopeOptions): boolean | null | ScopeOptionError {
  const v: unknown = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'boolean') return { field: key, code: 'invalid_type', message: `${key} must be a boolean` };
  return v;
}

function optionalDepth(o: CrawlScopeOptions, key: 'maxDepth' | 'maxDiscoveryDepth'): number | null | ScopeOptionError {
  const v: unknown = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    return { field: key, code: 'invalid_value', message: `${key} must be a non-negative integer` };
  }
  return v;
}

function isError(v: unknown): v is ScopeOptionError {
  return typeof v === 'object' && v !== null && 'code' in v;
}

/**
 * Validate the scope options of a crawl request and compile them. Every
 * problem is reported with the field it is in, so the API can answer 400.
 */
export function compileScope(startUrl: string, options: CrawlScopeOptions = {}): CompileScopeResult {
  const start = normalizeUrl(startUrl);
  if (!start.ok) {
    const why = start.reason === 'not_http' ? 'must be an http or https URL' : 'is not a valid URL';
    return { ok: false, error: { field: 'url', code: 'invalid_url', message: `url ${why}` } };
  }
  const u = new URL(start.url);

  const syntax = options.pathSyntax ?? 'regex';
  if (syntax !== 'regex' && syntax !== 'wildcard') {
    return { ok: false, error: { field: 'pathSyntax', code: 'invalid_value', message: `pathSyntax must be "regex" or "wildcard"` } };
  }
  const include: CompiledPattern[] = [];
  const exclude: CompiledPattern[] = [];
  const allowedSubdomains: WildcardPattern[] = [];
  const allowedExternalDomains: WildcardPattern[] = [];
  const budget = { spent: 0, chars: 0 };
  const listErr =
    compileList('includePaths', options.includePaths, include, budget, syntax) ??
    compileList('excludePaths', options.excludePaths, exclude, budget, syntax) ??
    compileHostList('allowedSubdomains', options.allowedSubdomains, allowedSubdomains) ??
    compileHostList('allowedExternalDomains', options.allowedExternalDomains, allowedExternalDomains);
  if (listErr) return { ok: false, error: listErr };

  const values = {
    regexOnFullURL: optionalBool(options, 'regexOnFullURL'),
    allowBackwardLinks: optionalBool(options, 'allowBackwardLinks'),
    crawlEntireDomain: optionalBool(options, 'crawlEntireDomain'),
    allowSubdomains: optionalBool(options, 'allowSubdomains'),
    allowExternalLinks: optionalBool(options, 'allowExternalLinks'),
    maxDepth: optionalDepth(options, 'maxDepth'),
    maxDiscoveryDepth: optionalDepth(options, 'maxDiscoveryDepth'),
  };
  for (const v of Object.values(values)) if (isError(v)) return { ok: false, error: v };
  const bool = (v: unknown) => v === true;
  const depth = (v: unknown) => (typeof v === 'number' ? v : null);

  const startPathDepth = pathDepth(u.pathname);
  const maxDepth = depth(values.maxDepth);
  const hostname = u.hostname;
  const siteIsIp = isIpHost(hostname);
  return {
    ok: true,
    scope: {
      startUrl: start.url,
      startPath: u.pathname,
      startPathDepth,
      siteHost: siteIsIp ? hostname : withoutWww(hostname),
      siteIsIp,
      include,
      exclude,
      regexOnFullURL: bool(values.regexOnFullURL),
      maxPathDepth: maxDepth === null ? null : startPathDepth + maxDepth,
      maxDiscoveryDepth: depth(values.maxDiscoveryDepth),
      crawlEntireDomain: values.crawlEntireDomain !== null ? bool(values.crawlEntireDomain) : bool(values.allowBackwardLinks),
      allowSubdomains: bool(values.allowSubdomains),
      allowExternalLinks: bool(values.allowExternalLinks),
      pathSyntax: syntax,
      allowedSubdomains,
      allowedExternalDomains,
    },
  };
}

/**
 * Whether the crawl may visit a URL, with the reason when it may not. The
 * URL comes back normalized (urls.ts) in both cases when it parses. Checks run
 * cheapest and most basic first, so the reason given is the first that
 * applies: scheme, host, path position, depth, exclude, include. robots.txt
 * is not part of scope (robots.ts).
 */
export function checkScope(scope: CrawlScope, candidate: ScopeCandidate): ScopeDecision {
  const n = normalizeUrl(candidate.url);
  if (!n.ok) return { inScope: false, reason: n.reason, url: null };
  const url = n.url;
  const u = new URL(url);
  const out = (reason: ScopeExclusionReason): ScopeDecision => ({ inScope: false, reason, url });

  const hostClass = classifyHost(scope, u.hostname);
  if (hostClass === 'subdomain' && scope.allowSubdomains) {
    if (!subdomainListed(scope, u.hostname)) return out('subdomain');
  } else if (hostClass !== 'site') {
    if (!scope.allowExternalLinks) return out(hostClass);
    if (!externalListed(scope, u.hostname)) return out(hostClass);
    if (candidate.foundOn !== undefined && !foundOnSite(scope, candidate.foundOn)) return out('external');
  }

  if (hostClass === 'site' && !scope.crawlEntireDomain && !isUnder(u.pathname, scope.startPath)) return out('backward');

  if (scope.maxPathDepth !== null && pathDepth(u.pathname) > scope.maxPathDepth) return out('too_deep');
  if (scope.maxDiscoveryDepth !== null && candidate.depth > scope.maxDiscoveryDepth) return out('too_deep');

  const subject = scope.regexOnFullURL && scope.pathSyntax === 'regex' ? url : u.pathname;
  if (scope.exclude.some((p) => testPattern(p, subject))) return out('excluded_path');
  if (scope.include.length > 0 && !scope.include.some((p) => testPattern(p, subject))) return out('not_included');

  return { inScope: true, url };
}

function subdomainListed(scope: CrawlScope, hostname: string): boolean {
  if (scope.allowedSubdomains.length === 0) return true;
  const h = withoutWww(hostname);
  const label = h.slice(0, h.length - scope.siteHost.length - 1);
  return scope.allowedSubdomains.some((p) => testPattern(p, hostname) || testPattern(p, h) || testPattern(p, label));
}

function externalListed(scope: CrawlScope, hostname: string): boolean {
  if (scope.allowedExternalDomains.length === 0) return true;
  const h = withoutWww(hostname);
  return scope.allowedExternalDomains.some((p) => testPattern(p, hostname) || testPattern(p, h));
}

// A page of the site or of an admitted subdomain: external links found there
// may be followed one hop.
function foundOnSite(scope: CrawlScope, foundOn: string): boolean {
  const n = normalizeUrl(foundOn);
  if (!n.ok) return false;
  const c = classifyHost(scope, new URL(n.url).hostname);
  return c === 'site' || (c === 'subdomain' && scope.allowSubdomains);
}
