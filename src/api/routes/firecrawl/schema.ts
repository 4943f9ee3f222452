import { z } from 'zod';

// Firecrawl's request bodies. Loose objects: both official clients add keys
// of their own (`origin` on every POST, `integration`, and the v1 client
// forwards whatever the caller passed), so an unknown key is ignored rather
// than refused. Both versions' names are accepted on both versions. Fields
// whose errors must name an element (`formats[1]`, `urls[3]`,
// `webhook.url`) are checked by CrawlSubmitter, which knows what they mean;
// here they are only described. null counts as absent, as in the clients.

const bool = z.boolean().nullish();
const depth = z.number().int().min(0).max(10_000).nullish();
const paths = z.array(z.string().max(2000)).max(1000).nullish().describe('Regular expressions searched in the URL path');

const webhook = z
  .unknown()
  .optional()
  .describe('An https:// URL, or {url, headers, metadata, events}; events ⊆ started, page, completed, failed (default all)');
const formats = z
  .array(z.unknown())
  .max(20)
  .nullish()
  .describe('markdown (default), html, rawHtml, links; strings or {type} objects');

/** Scrape options: under scrapeOptions (crawl) or at the top level (batch, and accepted on crawl too). */
const scrapeFields = {
  formats,
  onlyMainContent: bool.describe('Default true'),
  headers: z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a valid header name'), z.string().max(8192)).nullish().describe('Request headers for every page fetch'),
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

export const CrawlBody = z.looseObject({
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
export type CrawlBodyInput = z.infer<typeof CrawlBody>;

export const BatchBody = z.looseObject({
  urls: z.array(z.unknown()).min(1, 'must list at least one URL').describe('URLs to scrape (http or https)'),
  ignoreInvalidURLs: bool.describe('Skip invalid URLs and list them in invalidURLs; default false on v1, true on v2'),
  appendToId: z.string().nullish().describe('Not supported: refused'),
  ignoreQueryParameters: bool,
  ...common,
});
export type BatchBodyInput = z.infer<typeof BatchBody>;

export const CrawlById = z.looseObject({
  id: z.string(),
  skip: z.coerce.number().int().min(0).max(1_000_000_000).optional().describe('Documents to skip (paging)'),
  limit: z.coerce.number().int().min(1).max(1000).optional().describe('Documents per page, at most 1000 (default 100; a page also stops near 10 MB)'),
});

export const CancelById = z.looseObject({ id: z.string() });
