// One crawl page: fetched through the address-guarded client, decoded, and
// turned into Firecrawl's page document plus the links the crawler follows.
// The crawl's page activity calls scrapePage; robots.txt has already been
// checked by then (robotsCache.ts), and scope is the caller's business.
//
// Decisions:
// - Only a 2xx answer is ok. A 4xx/5xx answer still gets its document (title,
//   formats: an error page can be worth reading) with metadata.error
//   `HTTP <status>`, but its links are not returned for crawling: like most
//   crawlers (Scrapy's HttpErrorMiddleware) we do not crawl out of error
//   pages, whose links are typically the site's navigation again.
// - No answer at all (address guard, timeout, connection, redirects not
//   followed to the end, body over maxBytes, undecodable Content-Encoding):
//   ok false, statusCode null, a document with metadata only, `error` worded
//   like the scrape job's (src/capture/run.ts).
// - Non-HTML text (text/plain, JSON, XML…): markdown, html and rawHtml all
//   carry the decoded text as served (there is no markup to clean or
//   convert), no title, no links.
// - Binary content (PDF, images, audio, video, archives, octet-stream, or no
//   Content-Type and NUL bytes): ok with its status, every asked text format
//   an empty string, no links. Firecrawl parses PDFs; we do not, and putting a
//   note in markdown would make it look like the page's text to whoever
//   indexes it. metadata.contentType tells the reader what it was.
// - The result's `links` always come from the whole page (navigation
//   included, whatever onlyMainContent says): the crawler needs all of them.
//   They are resolved against the final URL after redirects (and the page's
//   <base>), normalized, with ignoreQuery applied. The `links` format shows
//   the same links with their query kept: it describes the page, not the
//   crawl's dedupe.
// - Every text field of the document is cut at PAGE_FIELD_MAX_BYTES of UTF-8
//   (and `links` at as many bytes of URLs) so one page row stays bounded;
//   the names of the cut fields are listed in metadata.truncatedFields.
// - A page nesting elements deeper than MAX_HTML_NESTING is not parsed at
//   all (htmlContent.ts says why): ok false, rawHtml only.
// - The caller's signal (a cancelled activity) rejects with its reason; it is
//   not a page failure to store.
import type { Dispatcher } from 'undici';
import type { PageDocument } from '../db/rows';
import type { DocumentFormat } from '../shared/contracts/crawl';
import { request } from '../net/httpClient';
import { decodeBody, htmlToMarkdown, isBinaryMime, isHtmlMime, looksBinary, looksLikeHtml, mimeType } from '../content/convert';
import { utf8Prefix } from './bytes';
import { cleanDocument, exceedsNesting, mainContent, MAX_HTML_NESTING, pageTitle, parseHtml } from '../content/htmlContent';
import { extractLinks } from './links';
import { ROBOTS_USER_AGENT } from './robots';
import { BodyTooLargeError, decodeContentEncoding, describeFetchError } from './transport';
import { canonicalUrl } from './urls';

/** The User-Agent header of crawl fetches; its product token is the one robots.txt groups are matched with. */
export const DEFAULT_USER_AGENT = `${ROBOTS_USER_AGENT}/0.1 (+https://github.com/hookshot/hookshot)`;
/** Cap on each text field of a stored page document (markdown, html, rawHtml, links). */
export const PAGE_FIELD_MAX_BYTES = 2 * 1024 * 1024;
/** Redirects followed for one page (the client refuses the sixth). */
export const PAGE_MAX_REDIRECTS = 5;

export interface ScrapePageOptions {
  /** Which document formats to include; the result's `links` are there regardless. */
  formats: DocumentFormat[];
  /** Sent with the request; they override ours (User-Agent and Accept included). */
  headers: Record<string, string>;
  /** The whole fetch: every redirect hop and the body. */
  timeoutMs: number;
  /** Body bytes accepted, on the wire and once decompressed; past it the page fails. */
  maxBytes: number;
  onlyMainContent: boolean;
  /** Drop the query of the result's links (the crawl's ignoreQueryParameters). */
  ignoreQuery: boolean;
  /** User-Agent header; DEFAULT_USER_AGENT when absent. */
  userAgent?: string;
  signal?: AbortSignal;
}

export interface ScrapePageDeps {
  /** The address-guarded dispatcher (createGuardedAgent). */
  http: Dispatcher;
}

export interface ScrapePageResult {
  /** A 2xx answer whose content could be read. */
  ok: boolean;
  /** The final answer's status; null when there was none. */
  statusCode: number | null;
  /** The URL of the final answer (the asked URL when there was none), as fetched, not normalized. */
  finalUrl: string;
  document: PageDocument;
  /** Links to crawl: absolute, normalized, deduped, in document order; empty unless ok and HTML. */
  links: string[];
  /** Why the page failed (same text as document.metadata.error); null when ok. */
  error: string | null;
  contentType: string | null;
}

function capField(text: string, name: string, truncated: string[]): string {
  const cut = utf8Prefix(text, PAGE_FIELD_MAX_BYTES);
  if (cut.cut) truncated.push(name);
  return cut.text;
}

function capLinks(links: string[], truncated: string[]): string[] {
  let bytes = 0;
  const out: string[] = [];
  for (const l of links) {
    // Counted as stored: JSON quotes and a comma around each URL.
    bytes += Buffer.byteLength(l) + 3;
    if (bytes > PAGE_FIELD_MAX_BYTES) {
      truncated.push('links');
      break;
    }
    out.push(l);
  }
  return out;
}

function requestHeaders(opts: ScrapePageOptions): Record<string, string> {
  const headers: Record<string, string> = {
    'user-agent': opts.userAgent ?? DEFAULT_USER_AGENT,
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    // Compressed pages cost less of the byte cap on the wire; transport.ts
    // inflates them under the same cap.
    'accept-encoding': 'gzip, deflate, br',
  };
  for (const [k, v] of Object.entries(opts.headers)) headers[k.toLowerCase()] = v;
  return headers;
}

/**
 * Fetches one page (GET, redirects followed up to PAGE_MAX_REDIRECTS) and
 * builds its document; see the decisions at the top of this file. Rejects
 * only when the caller's signal aborts or on a bug; every failure of the page
 * itself is a result with ok false.
 */
export async function scrapePage(url: string, opts: ScrapePageOptions, deps: ScrapePageDeps): Promise<ScrapePageResult> {
  const want = new Set(opts.formats);
  const failed = (error: string, finalUrl = url): ScrapePageResult => ({
    ok: false,
    statusCode: null,
    finalUrl,
    document: { metadata: { sourceURL: url, url: finalUrl, statusCode: null, contentType: null, error } },
    links: [],
    error,
    contentType: null,
  });

  let status: number;
  let finalUrl: string;
  let contentType: string | null;
  let body: Buffer;
  try {
    const res = await request(deps.http, {
      url,
      method: 'GET',
      headers: requestHeaders(opts),
      timeoutMs: opts.timeoutMs,
      maxRedirects: PAGE_MAX_REDIRECTS,
      maxBodyBytes: opts.maxBytes,
      signal: opts.signal,
    });
    if (res.truncated) return failed(new BodyTooLargeError(opts.maxBytes).message, res.finalUrl);
    status = res.status;
    finalUrl = res.finalUrl;
    contentType = res.headers['content-type'] ?? null;
    try {
      body = await decodeContentEncoding(res.body, res.headers['content-encoding'], opts.maxBytes);
    } catch (err) {
      const message = describeFetchError(err);
      if (message === null) throw err;
      return failed(message, finalUrl);
    }
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const message = describeFetchError(err);
    if (message === null) throw err;
    return failed(message);
  }

  const httpOk = status >= 200 && status < 300;
  const mime = mimeType(contentType);
  const binary = isBinaryMime(mime) || (mime === null && looksBinary(body));
  const html = !binary && (isHtmlMime(mime) || (mime === null && looksLikeHtml(body)));
  let error: string | null = httpOk ? null : `HTTP ${status}`;

  const truncated: string[] = [];
  const document: PageDocument = { metadata: { sourceURL: url, url: finalUrl, statusCode: status, contentType } };
  let links: string[] = [];

  if (binary) {
    for (const f of ['markdown', 'html', 'rawHtml'] as const) if (want.has(f)) document[f] = '';
    if (want.has('links')) document.links = [];
  } else {
    const text = decodeBody(body, contentType).text;
    if (!html) {
      for (const f of ['markdown', 'html', 'rawHtml'] as const) if (want.has(f)) document[f] = capField(text, f, truncated);
      if (want.has('links')) document.links = [];
    } else if (exceedsNesting(text)) {
      if (want.has('rawHtml')) document.rawHtml = capField(text, 'rawHtml', truncated);
      error = `the page nests elements more than ${MAX_HTML_NESTING} deep; it was not converted`;
    } else {
      // Markup the nesting check let through may still break a converter:
      // that is this page's failure, not the activity's, which Temporal would
      // otherwise retry in vain.
      try {
        const pageLinks = extractLinks(text, finalUrl);
        if (httpOk) links = dedupe(pageLinks.map((l) => (opts.ignoreQuery ? canonicalUrl(l, undefined, { ignoreQuery: true }) : l)));
        const parsed = parseHtml(text);
        const title = pageTitle(parsed);
        const cleaned = cleanDocument(parsed);
        const content = opts.onlyMainContent ? mainContent(parsed) : cleaned;
        // Title first, as Firecrawl's metadata lists it.
        document.metadata = title === undefined ? document.metadata : { title, ...document.metadata };
        if (want.has('markdown')) document.markdown = capField(htmlToMarkdown(content, finalUrl), 'markdown', truncated);
        if (want.has('html')) document.html = capField(content, 'html', truncated);
        if (want.has('rawHtml')) document.rawHtml = capField(text, 'rawHtml', truncated);
        if (want.has('links')) document.links = capLinks(pageLinks, truncated);
      } catch (err) {
        links = [];
        error = `could not convert the page: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
  }

  if (truncated.length > 0) document.metadata.truncatedFields = truncated;
  if (error !== null) document.metadata.error = error;
  return { ok: error === null, statusCode: status, finalUrl, document, links, error, contentType };
}

function dedupe(urls: Array<string | null>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const u of urls) {
    if (u === null || seen.has(u)) continue;
    seen.add(u);
    out.push(u);
  }
  return out;
}
