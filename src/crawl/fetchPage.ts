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
//
// What only a Scrapfly crawler asks for (options absent: the Firecrawl
// document, unchanged, and no extra work):
// - contentFormats: document.content, each of the crawler's formats as a
//   string (crawlerContent.ts).
// - capture: the exchange as fetched, for the crawl's WARC and HAR: the
//   request headers sent (Host first; Authorization and Cookie dropped when
//   a redirect left the origin, as they were on the wire), the status code
//   and its standard reason phrase (undici does not report the one on the
//   wire), the response headers as received, the body after content decoding
//   (the headers still say how it travelled), the final URL, when the request
//   started and how long the whole exchange took. Only for an answer read in
//   full; a page with no answer has none.
// - errorCode (always set, cheap): the ERR:: code of a failed page.
// - nofollow (always set, same parse): the links only rel=nofollow leads to.
import { STATUS_CODES } from 'node:http';
import type { Dispatcher } from 'undici';
import type { CrawlPageCapture, PageDocument } from '../db/rows';
import type { CrawlerFormat, DocumentFormat } from '../shared/contracts/crawl';
import { request } from '../net/httpClient';
import { decodeBody, htmlToMarkdown, htmlToText, isBinaryMime, isHtmlMime, looksBinary, looksLikeHtml, mimeType } from '../content/convert';
import { utf8Prefix } from './bytes';
import {
  cleanDocument,
  exceedsNesting,
  mainContent,
  MAX_HTML_NESTING,
  pageMetadata,
  pageTitle,
  parseHtml,
  type PageMetadata,
} from '../content/htmlContent';
import { buildCrawlerContent, type CrawlerTexts } from './crawlerContent';
import { extractPageLinks } from './links';
import { ROBOTS_USER_AGENT } from './robots';
import { BodyTooLargeError, decodeContentEncoding, describeFetchError, fetchErrorCode } from './transport';
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
  /** A Scrapfly crawler's content_formats: document.content holds each (see crawlerContent.ts). */
  contentFormats?: readonly CrawlerFormat[];
  /** Return the exchange as fetched (a crawler's WARC and HAR are built from it). */
  capture?: boolean;
}

/** A page's exchange as fetched (crawl_page_captures without its keys). */
export type PageCapture = Omit<CrawlPageCapture, 'page_id' | 'crawl_id'>;

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
  /** The part of `links` that only rel=nofollow links (or a robots meta nofollow) lead to. */
  nofollow: string[];
  /** Why the page failed (same text as document.metadata.error); null when ok. */
  error: string | null;
  /** The failure's ERR:: code (ERR::SCRAPE::TIMEOUT, …BAD_UPSTREAM_RESPONSE for a 4xx/5xx…); null when ok. */
  errorCode: string | null;
  contentType: string | null;
  /** With opts.capture, the exchange when an answer was read; else null. */
  capture: PageCapture | null;
}

/** The answer a page's document is built from: over HTTP (scrapePage) or rendered (renderedPage.ts). */
export interface PageResponse {
  status: number;
  /** The reason phrase. */
  statusText: string;
  finalUrl: string;
  headers: Record<string, string>;
  contentType: string | null;
  /** After content decoding. */
  body: Buffer;
}

export type PageDocumentOptions = Pick<ScrapePageOptions, 'formats' | 'onlyMainContent' | 'ignoreQuery' | 'contentFormats'>;

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

/** The standard reason phrase of a status code ('' for one without). */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? '';
}

/** A failed page with no answer to read: metadata only. */
export function failedPage(url: string, error: string, errorCode: string, finalUrl = url): ScrapePageResult {
  return {
    ok: false,
    statusCode: null,
    finalUrl,
    document: { metadata: { sourceURL: url, url: finalUrl, statusCode: null, contentType: null, error } },
    links: [],
    nofollow: [],
    error,
    errorCode,
    contentType: null,
    capture: null,
  };
}

// Dropped from the request when a redirect leaves the origin (src/net/httpClient.ts does the same on the wire).
const CROSS_ORIGIN_STRIPPED = new Set(['authorization', 'cookie', 'proxy-authorization']);

export function requestHeaders(opts: Pick<ScrapePageOptions, 'headers' | 'userAgent'>): Record<string, string> {
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
  const failed = (error: string, errorCode: string | null, finalUrl = url) => failedPage(url, error, errorCode ?? 'ERR::SCRAPE::NETWORK', finalUrl);

  const headers = requestHeaders(opts);
  const fetchedAt = new Date();
  const t0 = performance.now();
  let res: Awaited<ReturnType<typeof request>>;
  let body: Buffer;
  try {
    res = await request(deps.http, {
      url,
      method: 'GET',
      headers,
      timeoutMs: opts.timeoutMs,
      maxRedirects: PAGE_MAX_REDIRECTS,
      maxBodyBytes: opts.maxBytes,
      signal: opts.signal,
    });
    if (res.truncated) return failed(new BodyTooLargeError(opts.maxBytes).message, 'ERR::SCRAPE::TOO_LARGE', res.finalUrl);
    try {
      body = await decodeContentEncoding(res.body, res.headers['content-encoding'], opts.maxBytes);
    } catch (err) {
      const message = describeFetchError(err);
      if (message === null) throw err;
      return failed(message, fetchErrorCode(err), res.finalUrl);
    }
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const message = describeFetchError(err);
    if (message === null) throw err;
    return failed(message, fetchErrorCode(err));
  }

  const answer: PageResponse = {
    status: res.status,
    statusText: reasonPhrase(res.status),
    finalUrl: res.finalUrl,
    headers: res.headers,
    contentType: res.headers['content-type'] ?? null,
    body,
  };
  const result = buildPageDocument(url, answer, opts);
  if (opts.capture) {
    const sent: Record<string, string> = { host: new URL(res.finalUrl).host };
    const leftOrigin = new URL(res.finalUrl).origin !== new URL(url).origin;
    for (const [k, v] of Object.entries(headers)) if (!(leftOrigin && CROSS_ORIGIN_STRIPPED.has(k))) sent[k] = v;
    result.capture = {
      fetched_at: fetchedAt,
      duration_ms: Math.round(performance.now() - t0),
      url,
      final_url: res.finalUrl,
      request_headers: sent,
      status_code: res.status,
      status_text: answer.statusText,
      response_headers: res.headers,
      body,
    };
  }
  return result;
}

/**
 * A page's document, links and outcome from its answer (the decisions at the
 * top of this file); `capture` is left null for the caller to fill.
 */
export function buildPageDocument(url: string, res: PageResponse, opts: PageDocumentOptions): ScrapePageResult {
  const want = new Set(opts.formats);
  const { status, finalUrl, contentType, body } = res;
  const httpOk = status >= 200 && status < 300;
  const mime = mimeType(contentType);
  const binary = isBinaryMime(mime) || (mime === null && looksBinary(body));
  const html = !binary && (isHtmlMime(mime) || (mime === null && looksLikeHtml(body)));
  let error: string | null = httpOk ? null : `HTTP ${status}`;
  let errorCode: string | null = httpOk ? null : 'ERR::SCRAPE::BAD_UPSTREAM_RESPONSE';

  const truncated: string[] = [];
  const document: PageDocument = { metadata: { sourceURL: url, url: finalUrl, statusCode: status, contentType } };
  let links: string[] = [];
  let nofollow: string[] = [];
  // A crawler's formats: what they can say about this answer, filled in below.
  let title: string | undefined;
  let meta: PageMetadata | undefined;
  let pageLinks: string[] = [];
  let texts: CrawlerTexts | null = null;
  const plain = (text: string): CrawlerTexts => ({ html: () => text, clean_html: () => text, markdown: () => text, text: () => text });
  const crawlerContent = (formats: NonNullable<typeof opts.contentFormats>, from: CrawlerTexts) =>
    buildCrawlerContent(
      formats,
      {
        url,
        finalUrl,
        statusCode: status,
        statusText: res.statusText,
        contentType,
        headers: res.headers,
        bodyBytes: body.length,
        title,
        meta,
        links: pageLinks,
      },
      from,
      PAGE_FIELD_MAX_BYTES,
      truncated,
    );

  if (binary) {
    for (const f of ['markdown', 'html', 'rawHtml'] as const) if (want.has(f)) document[f] = '';
    if (want.has('links')) document.links = [];
    texts = plain('');
  } else {
    const text = decodeBody(body, contentType).text;
    if (!html) {
      for (const f of ['markdown', 'html', 'rawHtml'] as const) if (want.has(f)) document[f] = capField(text, f, truncated);
      if (want.has('links')) document.links = [];
      texts = plain(text);
    } else if (exceedsNesting(text)) {
      if (want.has('rawHtml')) document.rawHtml = capField(text, 'rawHtml', truncated);
      error = `the page nests elements more than ${MAX_HTML_NESTING} deep; it was not converted`;
      errorCode = 'ERR::SCRAPE::FAILED';
      texts = { ...plain(''), html: () => text };
    } else {
      // Markup the nesting check let through may still break a converter:
      // that is this page's failure, not the activity's, which Temporal would
      // otherwise retry in vain.
      try {
        const found = extractPageLinks(text, finalUrl);
        pageLinks = found.links;
        if (httpOk) {
          const canon = (l: string) => (opts.ignoreQuery ? canonicalUrl(l, undefined, { ignoreQuery: true }) : l);
          links = dedupe(pageLinks.map(canon));
          if (found.nofollow.length > 0) {
            const only = new Set(found.nofollow);
            const followable = new Set(pageLinks.filter((l) => !only.has(l)).map(canon));
            nofollow = dedupe(found.nofollow.map(canon)).filter((l) => !followable.has(l));
          }
        }
        const parsed = parseHtml(text);
        title = pageTitle(parsed);
        if (opts.contentFormats?.includes('page_metadata')) meta = pageMetadata(parsed, finalUrl);
        const cleaned = cleanDocument(parsed);
        const content = opts.onlyMainContent ? mainContent(parsed) : cleaned;
        // Title first, as Firecrawl's metadata lists it.
        document.metadata = title === undefined ? document.metadata : { title, ...document.metadata };
        if (want.has('markdown')) document.markdown = capField(htmlToMarkdown(content, finalUrl), 'markdown', truncated);
        if (want.has('html')) document.html = capField(content, 'html', truncated);
        if (want.has('rawHtml')) document.rawHtml = capField(text, 'rawHtml', truncated);
        if (want.has('links')) document.links = capLinks(pageLinks, truncated);
        if (opts.contentFormats?.length) {
          // Converted here, while the parse they need is at hand: a converter's failure is this page's too.
          texts = { html: () => text, clean_html: () => cleaned, markdown: () => htmlToMarkdown(content, finalUrl), text: () => htmlToText(content) };
          document.content = crawlerContent(opts.contentFormats, texts);
        }
      } catch (err) {
        links = [];
        nofollow = [];
        error = `could not convert the page: ${err instanceof Error ? err.message : String(err)}`;
        errorCode = 'ERR::SCRAPE::FAILED';
        texts = { ...plain(''), html: () => text };
        delete document.content;
      }
    }
  }

  if (opts.contentFormats?.length && document.content === undefined && texts !== null) {
    document.content = crawlerContent(opts.contentFormats, texts);
  }
  if (truncated.length > 0) document.metadata.truncatedFields = truncated;
  if (error !== null) document.metadata.error = error;
  return { ok: error === null, statusCode: status, finalUrl, document, links, nofollow, error, errorCode, contentType, capture: null };
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
