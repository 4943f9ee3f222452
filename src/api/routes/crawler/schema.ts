import { z } from 'zod';
import { byRules, refuse } from '../../rules';
import type { CrawlRequest } from '../../../commands/crawlSubmitter';
import type { Config } from '../../../config';
import type { PageSeed } from '../../../db/repositories/crawls';
import { canonicalUrl, normalizeUrl } from '../../../crawl/urls';
import { CRAWLER_FORMATS, type CrawlerFormat, type CrawlerOptions, type CrawlScopeOptions } from '../../../shared/contracts/crawl';
import { CRAWLER_DEFAULT_EVENTS, CRAWLER_EVENTS, type CrawlerEvent } from '../../../shared/names';
import { WEBHOOK_NAME } from '../webhooks/schema';

// Scrapfly's Crawler API requests (SPEC section 13; the fields are those
// scrapfly-sdk 0.11.1's CrawlerConfig can send, docs/scrapfly-crawler-contract.md
// section 5). The config is a strict object: an unknown key is refused,
// naming it, as the SDK itself does before sending. null counts as absent.
// Every refusal here leaves as 400 ERR::CRAWLER::CONFIG_ERROR (the error
// middleware's crawler rule), its message naming the field.
//
// As the Firecrawl bodies, a config is checked in two stages: its shape
// (types and bounds, every broken one reported), then on a well-formed body
// the rules that need the body as a whole or the server's limits, the first
// broken one answering.

const bool = z.boolean().nullish();
const count = (max: number) => z.number().int().min(0).max(max).nullish();
/** A C0 control character or DEL: never in a URL, a header or a path pattern. */
const hasControl = (s: string) => [...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
const noControl = (what: string) => z.string().refine((s) => !hasControl(s), `must not contain control characters (${what})`);
const paths = z
  .array(noControl('a path pattern').min(1, 'must not be empty').max(2000))
  .max(100, 'must list at most 100 patterns')
  .nullish()
  .describe('Path patterns, `*` matching any characters (`/` included), matched against the whole URL path');
const domains = z
  .array(
    z
      .string()
      .min(1, 'must not be empty')
      .max(253)
      .regex(/^[A-Za-z0-9*._-]+$/, 'must be a host name, `*` wildcards allowed'),
  )
  .max(250, 'must list at most 250 domains')
  .nullish();

/** delay: the SDK sends a number, Scrapfly's docs a string ("1000"): both, in ms. */
const delay = z
  .union([
    z.number(),
    z
      .string()
      .regex(/^\s*\d{1,9}\s*$/, 'must be a number of milliseconds')
      .transform(Number),
  ])
  .pipe(z.number().int('must be a whole number of milliseconds').min(0).max(15_000, 'must be at most 15000 ms'))
  .nullish()
  .describe('Milliseconds between this crawl’s requests, 0 to 15000 (a number, or a numeric string); > 0 fetches one page at a time');

const CrawlerShape = z.strictObject({
  url: z.string().max(8192).nullish().describe('The seed URL (http or https): the crawl starts there and follows links'),
  url_list: z
    .array(z.string().max(8192))
    .nullish()
    .describe('Crawl these URLs only, no link followed; in the multipart form (SDK) it is the urls part, one URL a line'),
  remote_url_list: z.string().nullish().describe('Not supported: refused (send the list as url_list)'),
  page_limit: z.number().int().min(0).nullish().describe('Pages to fetch at most; 0 (default) and the ceiling are CRAWL_MAX_PAGES'),
  max_depth: count(10_000).describe('Link hops from the seed (the seed is 0); 0 (default) is unlimited'),
  max_duration: z.number().int().min(15).max(10_800).nullish().describe('Seconds, 15 to 10800 (default 900)'),
  max_api_credit: z
    .number()
    .int()
    .min(0)
    .nullish()
    .describe('A fetched page costs one credit here, so > 0 caps the pages fetched as page_limit does; 0 (default) no cap'),
  exclude_paths: paths,
  include_only_paths: paths,
  ignore_base_path_restriction: bool.describe('Default false: only URLs under the seed’s path are crawled'),
  follow_external_links: bool.describe('Default false; true fetches external pages one hop deep (their links are not followed)'),
  allowed_external_domains: domains.describe('With follow_external_links: only these hosts (`*` wildcards); empty: any'),
  follow_internal_subdomains: bool.describe('Default true'),
  allowed_internal_subdomains: domains.describe('Subdomains followed (`*` wildcards); empty: all'),
  headers: z
    .record(
      z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid header name'),
      noControl('a header value').max(8192, 'must be at most 8192 characters'),
    )
    .nullish()
    .describe('Request headers for every page fetch'),
  delay,
  user_agent: noControl('a User-Agent').min(1).max(1000).nullish().describe('User-Agent of every page fetch'),
  max_concurrency: z
    .number()
    .int()
    .min(0)
    .max(1000)
    .nullish()
    .describe('Pages fetched at once; 0 (default) is the most allowed, never above the plan or CRAWL_PAGE_CONCURRENCY'),
  rendering_delay: count(25_000).describe('0 (default) fetches over HTTP; > 0 renders in Chromium and waits this many ms'),
  use_sitemaps: bool.describe('Default false: also crawl the site’s sitemap URLs'),
  respect_robots_txt: bool.describe('Default true'),
  ignore_no_follow: bool.describe('Default false: rel=nofollow links are not followed'),
  cache: bool.describe('Accepted, no effect'),
  cache_ttl: count(604_800).describe('Accepted, no effect'),
  cache_clear: bool.describe('Accepted, no effect'),
  content_formats: z
    .array(z.string())
    .max(20)
    .nullish()
    .describe(`What each page's content holds: ${CRAWLER_FORMATS.join(', ')} (default html); extracted_data is refused`),
  extraction_rules: z.unknown().optional().describe('Not supported: refused'),
  asp: bool.describe('Accepted, no effect'),
  proxy_pool: z.string().max(200).nullish().describe('Accepted, no effect'),
  country: z.string().max(200).nullish().describe('Accepted, no effect'),
  webhook_name: z.string().max(64).nullish().describe('A webhook of the key’s project and environment (lower-cased) that receives the events'),
  webhook_events: z
    .array(z.enum(CRAWLER_EVENTS))
    .max(50)
    .nullish()
    .describe(`Events sent to webhook_name; default ${CRAWLER_DEFAULT_EVENTS.join(', ')}`),
  // The key travels in the query; a copy in the body is dropped, not refused.
  key: z.unknown().optional().describe('Ignored: the API key goes in the query (?key=)'),
});
type CrawlerShape = z.output<typeof CrawlerShape>;

/** The server's limits the rules read: the page ceiling. */
export type CrawlerRequestLimits = Pick<Config, 'crawl'>;

/**
 * A crawler request with everything the body decides; the caller adds what
 * the request's context decides (crawlerRequest below).
 */
export interface CrawlerSpec {
  url: string;
  seeds: PageSeed[];
  pageLimit: number;
  scope: CrawlScopeOptions;
  sitemap: 'skip' | 'include';
  ignoreRobotsTxt: boolean;
  headers: Record<string, string>;
  userAgent: string | null;
  /** max_concurrency, before the plan's cap (null: as many as allowed). */
  maxConcurrency: number | null;
  webhookName: string | null;
  crawler: Omit<CrawlerOptions, 'projectName' | 'apiBase'>;
}

/** POST /crawl: the config (JSON, or the multipart form read into one), read into the crawler to store. */
export const CrawlerBody = (limits: CrawlerRequestLimits) => CrawlerShape.transform(byRules((body) => readCrawler(limits, body)));

/**
 * The stored request: the spec plus the project's name (in every event),
 * where the API is reached (events link to it) and the plan's concurrency.
 */
export function crawlerRequest(spec: CrawlerSpec, ctx: { projectName: string; apiBase: string; concurrencyCap: number }): CrawlRequest {
  return {
    kind: 'crawler',
    apiVersion: 0,
    url: spec.url,
    options: {
      scope: spec.scope,
      // Firecrawl's document formats: a crawler's page content is options.crawler.formats.
      formats: [],
      onlyMainContent: false,
      ignoreRobotsTxt: spec.ignoreRobotsTxt,
      sitemap: spec.sitemap,
      ignoreQueryParameters: false,
      maxConcurrency: spec.maxConcurrency === null ? null : Math.max(1, Math.min(spec.maxConcurrency, ctx.concurrencyCap)),
      robotsUserAgent: null,
      headers: spec.headers,
      timeoutMs: null,
      userAgent: spec.userAgent,
      crawler: { ...spec.crawler, projectName: ctx.projectName, apiBase: ctx.apiBase },
    },
    webhook: null,
    webhookName: spec.webhookName,
    pageLimit: spec.pageLimit,
    seeds: spec.seeds,
  };
}

// ---------------------------------------------------------------------------
// Reads of a crawler's results.

const UUID_PARAM = { uuid: z.string().describe('The crawler_uuid') };
const boolish = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);
/** A format list as the SDK sends it (`formats=markdown,text`), or repeated, or `format` (Scrapfly's docs). */
const formatList = z.union([z.string(), z.array(z.string())]).optional();

export const CrawlerByUuid = z.looseObject(UUID_PARAM);

export const URL_STATUSES = ['visited', 'pending', 'failed', 'skipped'] as const;
export type UrlStatus = (typeof URL_STATUSES)[number];

export const CrawlerUrlsQuery = z.looseObject({
  ...UUID_PARAM,
  status: z.enum(URL_STATUSES).default('visited').describe('visited (default), pending, failed or skipped'),
  page: z.coerce.number().int().min(1).max(1_000_000).default(1).describe('1-based; past the last page the answer is empty'),
  per_page: z.coerce.number().int().min(1).max(1000).default(100).describe('1 to 1000 (default 100)'),
});

export const CrawlerContentsQuery = z.looseObject({
  ...UUID_PARAM,
  formats: formatList.describe('One format (the SDK) or several, comma-separated; default: every format the crawler stores'),
  format: formatList.describe('Same as formats'),
  url: z.string().max(8192).optional().describe('Only this URL (required with plain=true)'),
  plain: boolish.optional().describe('true: the one URL’s content as is, with the format’s content type'),
  limit: z.coerce.number().int().min(1).max(50).default(10).describe('Pages per answer, 1 to 50 (default 10)'),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});

export const CrawlerArtifactQuery = z.looseObject({
  ...UUID_PARAM,
  // Any string here: the crawler is looked up first, so a foreign uuid is NOT_FOUND whatever the type.
  type: z.string().max(100).optional().describe('warc (default: gzip-compressed WARC) or har (streaming HAR)'),
});

export const MAX_BATCH_URLS = 100;

export const CrawlerBatchInput = z
  .looseObject({
    ...UUID_PARAM,
    formats: formatList.describe('Formats, comma-separated; default: every format the crawler stores'),
    format: formatList.describe('Same as formats'),
    urls: z.union([z.string(), z.array(z.string())]).describe('The body: text/plain, one URL a line (1 to 100); as JSON, an array or that text'),
  })
  .transform(
    byRules((b) => {
      // URLs cannot hold whitespace, so any of it separates them; each is echoed back exactly as written.
      const urls = (Array.isArray(b.urls) ? b.urls : [b.urls]).flatMap((u) => u.split(/\s+/)).filter((u) => u !== '');
      if (urls.length === 0) refuse(['urls'], 'must list at least one URL (the body: one URL a line)');
      if (urls.length > MAX_BATCH_URLS) refuse(['urls'], `must list at most ${MAX_BATCH_URLS} URLs, got ${urls.length}`);
      urls.forEach((u, i) => {
        if (u.length > 8192 || hasControl(u)) refuse(['urls', i], 'must be a URL of at most 8192 characters, without control characters');
      });
      return { uuid: b.uuid, formats: b.formats ?? b.format, urls: [...new Set(urls)] };
    }),
  );

/**
 * The formats a read asks for, checked against those the crawler stores
 * (a format it did not store would only ever be missing). Absent: all of
 * them. Returns the list, or the refusal's message.
 */
export function readFormats(asked: string | string[] | undefined, stored: readonly CrawlerFormat[]): CrawlerFormat[] | string {
  if (asked === undefined) return [...stored];
  const names = (Array.isArray(asked) ? asked : [asked])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length === 0) return 'must name a format';
  const out: CrawlerFormat[] = [];
  for (const n of names) {
    if (!(stored as readonly string[]).includes(n)) {
      return `"${n.slice(0, 64)}" is not a format this crawler stores; it stores ${stored.join(', ')}`;
    }
    if (!out.includes(n as CrawlerFormat)) out.push(n as CrawlerFormat);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The rules (refuse / byRules: src/api/rules.ts).

const given = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

/** A URL the crawl may fetch, normalized, with its dedupe key; or a refusal naming `path`. */
function seedOf(raw: string, path: PropertyKey[]): PageSeed {
  const n = normalizeUrl(raw.trim());
  if (!n.ok) refuse(path, n.reason === 'not_http' ? 'must be an http or https URL' : 'must be an absolute http(s) URL');
  const canonical = canonicalUrl(n.url);
  if (canonical === null) throw new Error(`${n.url} was accepted as a URL once but does not normalize again`);
  return { url: n.url, canonical, depth: 0 };
}

function readFormatsOption(raw: string[] | null | undefined): CrawlerFormat[] {
  if (!given(raw) || raw.length === 0) return ['html'];
  const out: CrawlerFormat[] = [];
  raw.forEach((f, i) => {
    if (f === 'extracted_data') refuse(['content_formats', i], 'extracted_data is not supported: Hookshot does no extraction');
    if (!(CRAWLER_FORMATS as readonly string[]).includes(f)) refuse(['content_formats', i], `must be one of ${CRAWLER_FORMATS.join(', ')}`);
    if (!out.includes(f as CrawlerFormat)) out.push(f as CrawlerFormat);
  });
  return out;
}

function readCrawler(limits: CrawlerRequestLimits, c: CrawlerShape): CrawlerSpec {
  const list = c.url_list ?? [];
  const url = given(c.url) && c.url.trim() !== '' ? c.url : null;
  const hasUrl = url !== null;
  if (given(c.remote_url_list)) refuse(['remote_url_list'], 'is not supported: send the URLs as url_list');
  if (hasUrl && list.length > 0) refuse(['url_list'], 'give either url or url_list, not both');
  if (!hasUrl && list.length === 0) refuse(['url'], 'is required (or url_list)');
  if (given(c.exclude_paths) && given(c.include_only_paths)) refuse(['include_only_paths'], 'cannot be combined with exclude_paths');
  if (c.extraction_rules !== undefined && c.extraction_rules !== null) {
    refuse(['extraction_rules'], 'is not supported: Hookshot does no extraction');
  }
  const formats = readFormatsOption(c.content_formats);

  let seeds: PageSeed[];
  if (url !== null) {
    seeds = [seedOf(url, ['url'])];
  } else {
    if (list.length > limits.crawl.maxPages) refuse(['url_list'], `must list at most ${limits.crawl.maxPages} URLs (CRAWL_MAX_PAGES)`);
    const seen = new Set<string>();
    seeds = [];
    list.forEach((u, i) => {
      const s = seedOf(u, ['url_list', i]);
      if (seen.has(s.canonical)) return;
      seen.add(s.canonical);
      seeds.push(s);
    });
  }
  const [first] = seeds;
  if (!first) refuse(['url_list'], 'must list at least one URL');

  let webhookName: string | null = null;
  if (given(c.webhook_name) && c.webhook_name !== '') {
    // Scrapfly lower-cases the name; Hookshot's names are otherwise case-sensitive.
    webhookName = c.webhook_name.toLowerCase();
    if (!WEBHOOK_NAME.test(webhookName)) refuse(['webhook_name'], 'must be 1-64 letters, digits, _ or -');
  }
  const asked = c.webhook_events ?? [];
  const events: CrawlerEvent[] =
    webhookName === null ? [] : asked.length > 0 ? CRAWLER_EVENTS.filter((e) => asked.includes(e)) : [...CRAWLER_DEFAULT_EVENTS];

  const maxPages = limits.crawl.maxPages;
  // 0 is "as many as allowed"; more than allowed is capped, as Scrapfly caps by the plan.
  let pageLimit = c.page_limit ? Math.min(c.page_limit, maxPages) : maxPages;
  // No credits here: a fetched page costs one, so a credit cap is a page cap.
  if (c.max_api_credit) pageLimit = Math.min(pageLimit, c.max_api_credit);

  const scope: CrawlScopeOptions = {
    pathSyntax: 'wildcard',
    crawlEntireDomain: c.ignore_base_path_restriction ?? false,
    allowSubdomains: c.follow_internal_subdomains ?? true,
    allowExternalLinks: c.follow_external_links ?? false,
    ...(c.max_depth ? { maxDiscoveryDepth: c.max_depth } : {}),
    ...(given(c.include_only_paths) ? { includePaths: c.include_only_paths } : {}),
    ...(given(c.exclude_paths) ? { excludePaths: c.exclude_paths } : {}),
    ...(given(c.allowed_internal_subdomains) ? { allowedSubdomains: c.allowed_internal_subdomains.map((d) => d.toLowerCase()) } : {}),
    ...(given(c.allowed_external_domains) ? { allowedExternalDomains: c.allowed_external_domains.map((d) => d.toLowerCase()) } : {}),
  };
  return {
    url: first.url,
    seeds,
    pageLimit,
    scope,
    sitemap: hasUrl && c.use_sitemaps === true ? 'include' : 'skip',
    ignoreRobotsTxt: c.respect_robots_txt === false,
    headers: c.headers ?? {},
    userAgent: c.user_agent ?? null,
    maxConcurrency: c.max_concurrency ? c.max_concurrency : null,
    webhookName,
    crawler: {
      formats,
      events,
      discover: hasUrl,
      maxDurationMs: (c.max_duration ?? 900) * 1000,
      delayMs: c.delay ?? 0,
      renderingDelayMs: c.rendering_delay ?? 0,
      ignoreNoFollow: c.ignore_no_follow === true,
      seedUrl: first.url,
    },
  };
}
