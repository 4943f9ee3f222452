import { z } from 'zod';
import { byRules, refuse } from '../../rules';
import type { ApiVersion, CrawlRequest } from '../../../commands/crawlSubmitter';
import type { Config } from '../../../config';
import { compileScope } from '../../../crawl/scope';
import { canonicalUrl, normalizeUrl } from '../../../crawl/urls';
import { DOCUMENT_FORMATS, type CrawlScopeOptions, type CrawlWebhook, type DocumentFormat } from '../../../shared/contracts/crawl';
import { CRAWL_EVENT_TYPES, type CrawlEventType } from '../../../shared/names';

// Firecrawl's request bodies. Loose objects: both official clients add keys
// of their own (`origin` on every POST, `integration`, and the v1 client
// forwards whatever the caller passed), so an unknown key is ignored rather
// than refused. Both versions' names are accepted on both versions. null
// counts as absent, as in the clients.
//
// Each body is checked in two stages. First its shape (types and bounds,
// every broken one reported). Then, on a well-formed body only, the rules
// that need the body as a whole or the server's limits (webhook, formats,
// scope, URLs), read in a fixed order into the request the submitter
// stores; the first broken rule is the answer, naming its element
// (`urls[3]`, `webhook.url`, `includePaths[2]`).

const bool = z.boolean().nullish();
const depth = z.number().int().min(0).max(10_000).nullish();
const paths = z.array(z.string().max(2000)).max(1000).nullish().describe('Regular expressions searched in the URL path');

const webhook = z
  .unknown()
  .optional()
  .describe('An https:// URL, or {url, headers, metadata, events}; events ⊆ started, page, completed, failed (default all)');
const formats = z.array(z.unknown()).max(20).nullish().describe('markdown (default), html, rawHtml, links; strings or {type} objects');

/** Scrape options: under scrapeOptions (crawl) or at the top level (batch, and accepted on crawl too). */
const scrapeFields = {
  formats,
  onlyMainContent: bool.describe('Default true'),
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid header name'), z.string().max(8192))
    .nullish()
    .describe('Request headers for every page fetch'),
  timeout: z.number().int().min(1).nullish().describe('One page fetch, in milliseconds (at most SCRAPE_TIMEOUT_MS)'),
};

const common = {
  ...scrapeFields,
  scrapeOptions: z.looseObject(scrapeFields).nullish(),
  webhook,
  maxConcurrency: z.number().int().min(1).max(1000).nullish(),
  ignoreRobotsTxt: bool,
  robotsUserAgent: z.string().max(500).nullish(),
};

const CrawlShape = z.looseObject({
  url: z.string().min(1).max(8192).describe('The start URL (http or https)'),
  limit: z.number().int().min(1).nullish().describe('Pages to scrape at most; default and ceiling CRAWL_MAX_PAGES'),
  maxDepth: depth.describe('v1: path depth below the start URL'),
  maxDiscoveryDepth: depth.describe('v2: link hops from the start URL'),
  includePaths: paths,
  excludePaths: paths,
  regexOnFullURL: bool,
  allowBackwardLinks: bool.describe('v1 name of crawlEntireDomain'),
  crawlEntireDomain: bool,
  allowSubdomains: bool,
  allowExternalLinks: bool,
  ignoreSitemap: bool.describe('v1: true is sitemap "skip"'),
  sitemap: z.enum(['skip', 'include', 'only']).nullish().describe('v2; default include'),
  ignoreQueryParameters: bool,
  ...common,
});
type CrawlShape = z.output<typeof CrawlShape>;

const BatchShape = z.looseObject({
  urls: z.array(z.unknown()).min(1, 'must list at least one URL').describe('URLs to scrape (http or https)'),
  ignoreInvalidURLs: bool.describe('Skip invalid URLs and list them in invalidURLs; default false on v1, true on v2'),
  appendToId: z.string().nullish().describe('Not supported: refused'),
  ignoreQueryParameters: bool,
  ...common,
});
type BatchShape = z.output<typeof BatchShape>;

/** The server's limits the rules read: the page ceiling and the longest page fetch. */
export type CrawlRequestLimits = Pick<Config, 'crawl' | 'scrape'>;

/** POST /v{1,2}/crawl: the body, read into the crawl to store. */
export const CrawlBody = (limits: CrawlRequestLimits, apiVersion: ApiVersion) =>
  CrawlShape.transform(byRules((body) => readCrawl(limits, apiVersion, body)));

/** POST /v{1,2}/batch/scrape: the body, read into the batch to store, with the entries skipped as invalid. */
export const BatchBody = (limits: CrawlRequestLimits, apiVersion: ApiVersion) =>
  BatchShape.transform(byRules((body) => readBatch(limits, apiVersion, body)));

export const CrawlById = z.looseObject({
  id: z.string(),
  skip: z.coerce.number().int().min(0).max(1_000_000_000).optional().describe('Documents to skip (paging)'),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('Documents per page, at most 1000 (default 100; a page also stops near 10 MB)'),
});

export const CancelById = z.looseObject({ id: z.string() });

// ---------------------------------------------------------------------------
// The rules (refuse / byRules: src/api/rules.ts).

// Headers a caller may not set on its event deliveries: the body's type and
// signature are ours to state, and connection-level headers belong to the
// sender (overriding them would corrupt the request, not customize it).
const RESERVED_WEBHOOK_HEADERS = new Set([
  'content-type',
  'x-firecrawl-signature',
  'content-length',
  'host',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const MAX_WEBHOOK_HEADERS = 50;
const MAX_METADATA_BYTES = 16 * 1024;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const given = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

function readWebhook(raw: unknown): CrawlWebhook | null {
  if (!given(raw)) return null;
  const spec = typeof raw === 'string' ? { url: raw } : raw;
  if (!isPlainObject(spec)) refuse(['webhook'], 'must be an https:// URL or an object {url, headers, metadata, events}');
  const { url, headers, metadata, events } = spec;
  if (typeof url !== 'string' || url === '') refuse(['webhook', 'url'], 'is required (an https:// URL)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    refuse(['webhook', 'url'], 'is not a valid URL');
  }
  // Inline webhooks carry page documents to a URL nobody registered: only
  // over TLS (SPEC section 7), whatever WEBHOOK_REQUIRE_HTTPS says for named ones.
  if (parsed.protocol !== 'https:') refuse(['webhook', 'url'], 'must be an https:// URL');
  if (url.length > 2048) refuse(['webhook', 'url'], 'must be at most 2048 characters');
  if (parsed.username || parsed.password) refuse(['webhook', 'url'], 'must not carry credentials; send them in webhook.headers');

  // Collected as entries: a key such as "__proto__" must stay a (refused or kept) header, not reach a prototype.
  const headerEntries: Array<[string, string]> = [];
  if (given(headers)) {
    if (!isPlainObject(headers)) refuse(['webhook', 'headers'], 'must be an object of header names to string values');
    const entries = Object.entries(headers);
    if (entries.length > MAX_WEBHOOK_HEADERS) refuse(['webhook', 'headers'], `must have at most ${MAX_WEBHOOK_HEADERS} headers`);
    for (const [name, value] of entries) {
      const at = ['webhook', 'headers', name];
      if (!HEADER_NAME.test(name)) refuse(at, 'is not a valid header name');
      if (RESERVED_WEBHOOK_HEADERS.has(name.toLowerCase())) refuse(at, 'is set by Hookshot and cannot be overridden');
      if (typeof value !== 'string') refuse(at, 'must be a string');
      if (value.length > 8192 || /[\r\n\0]/.test(value)) refuse(at, 'must be at most 8192 characters, without line breaks');
      headerEntries.push([name, value]);
    }
  }

  let outMetadata: Record<string, unknown> = {};
  if (given(metadata)) {
    if (!isPlainObject(metadata)) refuse(['webhook', 'metadata'], 'must be a JSON object');
    if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES)
      refuse(['webhook', 'metadata'], `must be at most ${MAX_METADATA_BYTES} bytes as JSON`);
    outMetadata = metadata;
  }

  let outEvents: CrawlEventType[] = [...CRAWL_EVENT_TYPES];
  if (given(events)) {
    if (!Array.isArray(events)) refuse(['webhook', 'events'], `must be an array of ${CRAWL_EVENT_TYPES.join(', ')}`);
    const picked = new Set<CrawlEventType>();
    events.forEach((e: unknown, i) => {
      // Firecrawl's docs also show the full names (crawl.page): the kind is implied by the job.
      const name = typeof e === 'string' ? e.replace(/^(crawl|batch_scrape)\./, '') : e;
      if (!(CRAWL_EVENT_TYPES as readonly unknown[]).includes(name))
        refuse(['webhook', 'events', i], `must be one of ${CRAWL_EVENT_TYPES.join(', ')}`);
      picked.add(name as CrawlEventType);
    });
    if (picked.size === 0) refuse(['webhook', 'events'], 'must name at least one event (omit it for all)');
    outEvents = CRAWL_EVENT_TYPES.filter((t) => picked.has(t));
  }
  return { url, headers: Object.fromEntries(headerEntries), metadata: outMetadata, events: outEvents };
}

/**
 * Formats other than the four Hookshot produces are refused, not dropped:
 * a caller asking for a screenshot or JSON extraction would otherwise get
 * documents silently missing what it asked for. The SDKs send formats only
 * when the caller gives them, so a default SDK call never meets this.
 */
function readFormats(raw: unknown[] | null | undefined, path: PropertyKey[]): DocumentFormat[] {
  if (!given(raw)) return ['markdown'];
  const out = new Set<DocumentFormat>();
  raw.forEach((entry, i) => {
    const name = typeof entry === 'string' ? entry : isPlainObject(entry) ? entry.type : undefined;
    if (typeof name !== 'string') refuse([...path, i], 'must be a format name or an object {type}');
    if (!(DOCUMENT_FORMATS as readonly string[]).includes(name)) {
      refuse([...path, i], `"${name.slice(0, 64)}" is not supported; supported formats are ${DOCUMENT_FORMATS.join(', ')}`);
    }
    out.add(name as DocumentFormat);
  });
  return DOCUMENT_FORMATS.filter((f) => out.has(f));
}

type ScrapeFields = Pick<CrawlShape, 'formats' | 'onlyMainContent' | 'headers' | 'timeout'>;

/** Scrape options from scrapeOptions (the crawl's place) or the top level (the batch's); both forms on both. */
function readScrapeOptions(body: ScrapeFields & { scrapeOptions?: ScrapeFields | null }, maxTimeoutMs: number) {
  const nested = body.scrapeOptions ?? {};
  const pick = <K extends keyof ScrapeFields>(k: K): { value: ScrapeFields[K]; path: PropertyKey[] } =>
    given(nested[k]) ? { value: nested[k], path: ['scrapeOptions', k] } : { value: body[k], path: [k] };
  const formats = pick('formats');
  const timeout = pick('timeout');
  if (given(timeout.value) && (timeout.value < 1000 || timeout.value > maxTimeoutMs)) {
    refuse(timeout.path, `must be between 1000 and ${maxTimeoutMs} ms`);
  }
  return {
    formats: readFormats(formats.value, formats.path),
    onlyMainContent: pick('onlyMainContent').value ?? true,
    headers: pick('headers').value ?? {},
    timeoutMs: timeout.value ?? null,
  };
}

/** What both kinds share: webhook first, then the scrape options, then the crawl-wide switches. */
function readShared(limits: CrawlRequestLimits, body: CrawlShape | BatchShape) {
  const webhook = readWebhook(body.webhook);
  const scrape = readScrapeOptions(body, limits.scrape.timeoutMs);
  return {
    webhook,
    options: {
      ...scrape,
      ignoreRobotsTxt: body.ignoreRobotsTxt === true,
      ignoreQueryParameters: body.ignoreQueryParameters === true,
      maxConcurrency: body.maxConcurrency ?? null,
      robotsUserAgent: body.robotsUserAgent ?? null,
    },
  };
}

/** The canonical form of a URL normalizeUrl has already accepted, which cannot fail to normalize again. */
function canonicalOf(url: string, ignoreQuery: boolean): string {
  const canonical = canonicalUrl(url, undefined, { ignoreQuery });
  if (canonical === null) throw new Error(`${url} was accepted as a URL once but does not normalize again`);
  return canonical;
}

const SCOPE_KEYS = [
  'includePaths',
  'excludePaths',
  'regexOnFullURL',
  'maxDepth',
  'maxDiscoveryDepth',
  'allowBackwardLinks',
  'crawlEntireDomain',
  'allowSubdomains',
  'allowExternalLinks',
] as const;

function readCrawl(limits: CrawlRequestLimits, apiVersion: ApiVersion, c: CrawlShape): CrawlRequest {
  const { webhook, options } = readShared(limits, c);
  const scope: CrawlScopeOptions = {};
  for (const k of SCOPE_KEYS) if (given(c[k])) (scope as Record<string, unknown>)[k] = c[k];
  const compiled = compileScope(c.url, scope);
  if (!compiled.ok) {
    // scope.ts names the field as text (`includePaths[2]`) and starts its message with it.
    const { field, message } = compiled.error;
    const [, name, index]: (string | undefined)[] = /^(\w+)(?:\[(\d+)\])?$/.exec(field) ?? [];
    const path = name === undefined ? [field] : index === undefined ? [name] : [name, Number(index)];
    refuse(path, message.startsWith(`${field} `) ? message.slice(field.length + 1) : message);
  }
  const startUrl = compiled.scope.startUrl;
  const canonical = canonicalOf(startUrl, options.ignoreQueryParameters);
  // v2's sitemap wins; v1's ignoreSitemap is its "skip".
  const sitemap = c.sitemap ?? (c.ignoreSitemap === true ? 'skip' : 'include');
  return {
    kind: 'crawl',
    apiVersion,
    url: startUrl,
    options: { scope, sitemap, ...options },
    webhook,
    // A larger limit is not an error: Firecrawl caps it by the account's allowance too.
    pageLimit: Math.min(c.limit ?? limits.crawl.maxPages, limits.crawl.maxPages),
    seeds: [{ url: startUrl, canonical, depth: 0 }],
  };
}

function readBatch(limits: CrawlRequestLimits, apiVersion: ApiVersion, b: BatchShape): CrawlRequest & { invalidURLs: string[] } {
  const { webhook, options } = readShared(limits, b);
  if (given(b.appendToId)) refuse(['appendToId'], 'is not supported: start a new batch scrape');
  // Firecrawl's own defaults differ by version: v1 refuses the request, v2 skips the URL.
  const ignoreInvalid = b.ignoreInvalidURLs ?? apiVersion === 2;
  const seeds: CrawlRequest['seeds'] = [];
  const seen = new Set<string>();
  const invalidURLs: string[] = [];
  b.urls.forEach((u, i) => {
    const norm = typeof u === 'string' ? normalizeUrl(u.trim()) : null;
    if (!norm?.ok || (typeof u === 'string' && u.length > 8192)) {
      if (!ignoreInvalid) refuse(['urls', i], 'must be an absolute http(s) URL (or set ignoreInvalidURLs to skip invalid ones)');
      invalidURLs.push(typeof u === 'string' ? u : (JSON.stringify(u) ?? String(u)));
      return;
    }
    const canonical = canonicalOf(norm.url, options.ignoreQueryParameters);
    if (seen.has(canonical)) return;
    seen.add(canonical);
    seeds.push({ url: norm.url, canonical, depth: 0 });
  });
  if (seeds.length === 0) refuse(['urls'], 'no valid URL to scrape');
  if (seeds.length > limits.crawl.maxPages) refuse(['urls'], `must list at most ${limits.crawl.maxPages} distinct URLs`);
  return {
    kind: 'batch_scrape',
    apiVersion,
    url: null,
    options: { scope: {}, sitemap: 'skip', ...options },
    webhook,
    pageLimit: seeds.length,
    seeds,
    invalidURLs,
  };
}
