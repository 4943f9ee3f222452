// Following a site's sitemaps for a crawl (v2 `sitemap: include | only`):
// fetching through the guarded client, gunzipping, walking sitemap indexes.
// sitemap.ts reads one document; this decides which documents to read.
//
// - Where to look: `<origin of the start URL>/sitemap.xml` (the conventional
//   place, which Firecrawl also tries), then the `Sitemap:` lines of that
//   origin's robots.txt, which the caller passes from its RobotsPolicy.
// - Sitemap indexes are followed breadth first. Each sitemap URL is read
//   once (normalized), which is what stops an index listing itself or two
//   indexes listing each other.
// - Budget: at most maxSitemaps documents fetched (25 by default, failures
//   included, since each costs a request) and at most maxUrls page URLs kept.
//   Hitting either ends the walk and sets `truncated`.
// - A gzipped sitemap is recognised by its bytes (the gzip magic number), not
//   its name: `.xml.gz` files come as application/gzip or application/x-gzip,
//   with or without Content-Encoding, and some `.xml` files are gzipped too.
//   It is inflated to at most maxBytes (the protocol's 50 MiB by default).
// - Nothing here throws for a sitemap: a failed fetch, an error status, a
//   document too large or unparseable is one entry in `problems`, and the
//   walk goes on with the rest. Only the caller's abort signal rejects.
// - Which of the URLs belong to the crawl is not decided here: scope does
//   (robots.txt may list sitemaps of other hosts, and those may list pages
//   anywhere).
import type { Dispatcher } from 'undici';
import { request } from '../net/httpClient';
import { decodeBody } from '../content/convert';
import { DEFAULT_USER_AGENT } from './fetchPage';
import { parseSitemap, SITEMAP_MAX_BYTES } from './sitemap';
import { decodeContentEncoding, describeFetchError, gunzipCapped, looksGzipped } from './transport';
import { canonicalUrl } from './urls';

/** Sitemap documents fetched per crawl at most (indexes included). */
export const MAX_SITEMAPS_READ = 25;

export interface CollectSitemapOptions {
  /** One sitemap fetch's whole timeout. */
  timeoutMs: number;
  /** Page URLs kept at most (the crawl's limit is a sensible value). */
  maxUrls: number;
  /** Documents fetched at most; default MAX_SITEMAPS_READ. */
  maxSitemaps?: number;
  /** Bytes of one document, on the wire and once inflated; default SITEMAP_MAX_BYTES. */
  maxBytes?: number;
  /** Drop the query of the URLs found (the crawl's ignoreQueryParameters). */
  ignoreQuery?: boolean;
  /** User-Agent header; DEFAULT_USER_AGENT when absent. */
  userAgent?: string;
  /** Extra request headers (the crawl's scrape headers). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface SitemapProblem {
  /** The sitemap URL the problem is about (or the raw entry when it is not a URL). */
  url: string;
  problem: string;
}

export interface SitemapCollection {
  /** Page URLs, normalized, deduped, in the order found. */
  urls: string[];
  /** Sitemap URLs fetched, in order (failed ones included). */
  read: string[];
  problems: SitemapProblem[];
  /** A cap (maxUrls or maxSitemaps) ended the walk before everything was read. */
  truncated: boolean;
}

export interface CollectSitemapDeps {
  /** The address-guarded dispatcher. */
  http: Dispatcher;
}

type Fetched = { ok: true; text: string } | { ok: false; problem: string };

async function fetchSitemap(url: string, deps: CollectSitemapDeps, opts: CollectSitemapOptions, maxBytes: number): Promise<Fetched> {
  try {
    const headers: Record<string, string> = {
      'user-agent': opts.userAgent ?? DEFAULT_USER_AGENT,
      accept: 'application/xml,text/xml,text/plain;q=0.9,*/*;q=0.5',
      'accept-encoding': 'gzip',
    };
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
    const res = await request(deps.http, {
      url,
      method: 'GET',
      headers,
      timeoutMs: opts.timeoutMs,
      maxRedirects: 5,
      maxBodyBytes: maxBytes,
      signal: opts.signal,
    });
    if (res.status < 200 || res.status >= 300) return { ok: false, problem: `HTTP ${res.status}` };
    if (res.truncated) return { ok: false, problem: `larger than the ${maxBytes} byte cap` };
    let body = await decodeContentEncoding(res.body, res.headers['content-encoding'], maxBytes);
    let contentType: string | null = res.headers['content-type'] ?? null;
    if (looksGzipped(body)) {
      body = await gunzipCapped(body, maxBytes);
      // The header described the archive; the XML declaration inside names the charset.
      contentType = null;
    }
    return { ok: true, text: decodeBody(body, contentType).text };
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    return { ok: false, problem: describeFetchError(err) ?? (err instanceof Error ? err.message : String(err)) };
  }
}

/**
 * The page URLs a site's sitemaps list, for a crawl starting at `startUrl`;
 * `robotsSitemaps` are the `Sitemap:` URLs of its robots.txt. See the rules
 * at the top of this file. Rejects only when `opts.signal` aborts.
 */
export async function collectSitemapUrls(
  startUrl: string,
  robotsSitemaps: readonly string[],
  deps: CollectSitemapDeps,
  opts: CollectSitemapOptions,
): Promise<SitemapCollection> {
  const maxSitemaps = opts.maxSitemaps ?? MAX_SITEMAPS_READ;
  const maxBytes = opts.maxBytes ?? SITEMAP_MAX_BYTES;
  const maxUrls = Math.max(0, opts.maxUrls);
  const out: SitemapCollection = { urls: [], read: [], problems: [], truncated: false };
  const seenUrls = new Set<string>();
  const queued = new Set<string>();
  const queue: string[] = [];

  const enqueue = (raw: string): void => {
    // Sitemap URLs keep their query: it often selects the page of a sitemap.
    const u = canonicalUrl(raw);
    if (u === null) {
      out.problems.push({ url: raw, problem: 'not an http(s) URL' });
      return;
    }
    if (queued.has(u)) return;
    queued.add(u);
    queue.push(u);
  };

  let origin: string | null = null;
  try {
    const s = new URL(startUrl);
    if (s.protocol === 'http:' || s.protocol === 'https:') origin = s.origin;
  } catch {
    // Reported below.
  }
  if (origin === null) out.problems.push({ url: startUrl, problem: 'the start URL is not an http(s) URL' });
  else enqueue(`${origin}/sitemap.xml`);
  for (const s of robotsSitemaps) enqueue(s);

  for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
    if (out.urls.length >= maxUrls || out.read.length >= maxSitemaps) {
      out.truncated = true;
      if (out.read.length >= maxSitemaps)
        out.problems.push({ url, problem: `not read: more than ${maxSitemaps} sitemaps (${queue.length + 1} left)` });
      break;
    }
    out.read.push(url);
    const fetched = await fetchSitemap(url, deps, opts, maxBytes);
    if (!fetched.ok) {
      out.problems.push({ url, problem: fetched.problem });
      continue;
    }
    const parsed = parseSitemap(fetched.text, { maxBytes });
    if (parsed.error !== undefined) {
      out.problems.push({
        url,
        problem:
          parsed.error === 'too_large'
            ? `larger than the ${maxBytes} byte cap`
            : parsed.error === 'too_complex'
              ? 'too much markup'
              : 'not well-formed XML',
      });
      continue;
    }
    if (parsed.kind === 'unknown') {
      out.problems.push({ url, problem: 'not a sitemap (no <urlset> or <sitemapindex>)' });
      continue;
    }
    if (parsed.invalid > 0) out.problems.push({ url, problem: `${parsed.invalid} entries without a usable absolute http(s) URL` });
    if (parsed.truncated) out.problems.push({ url, problem: 'more entries than the protocol allows; the rest were dropped' });
    for (const child of parsed.sitemaps) enqueue(child);
    for (const raw of parsed.urls) {
      const u = opts.ignoreQuery ? canonicalUrl(raw, undefined, { ignoreQuery: true }) : raw;
      if (u === null || seenUrls.has(u)) continue;
      if (out.urls.length >= maxUrls) {
        out.truncated = true;
        break;
      }
      seenUrls.add(u);
      out.urls.push(u);
    }
  }
  return out;
}
