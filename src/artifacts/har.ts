// A crawler's HAR in Scrapfly's streaming form (compatibility reference,
// section C2): first `{"log":{"version":"1.2","creator":…,"pages":[…],
// "entries":[]}}` on one line, then one HAR 1.2 entry object per stored
// exchange, a line each. Scrapfly's Python and Go helpers read exactly this
// (the Python one takes entries only from the objects after the first); a
// HAR of a crawl with no capture is one standard JSON document.
//
// Decisions:
// - A page per fetched URL (id `page_<page id>`, title the URL), each entry
//   pointing at its page: a crawl is many top-level loads of one resource.
//   The page list comes from a read of the captures without their bodies,
//   so it streams too.
// - Headers are listed as fetched (a HAR keeps Content-Encoding and gives the
//   decoded content, as browsers' HARs do); `content.size` is the stored
//   body's length, `bodySize` (bytes on the wire) unknown: -1.
// - `content.text` is the body as text when it is UTF-8 and not binary by
//   its type or its bytes; anything else is base64 with `encoding`, so every
//   body comes back byte for byte.
// - The URL is the one the response came from (after redirects); the URL the
//   crawler asked for, when different, is `_requestedUrl` (HAR's custom
//   fields start with `_`).
// - No top-level `error_id` or `http_code`: the SDK would take it for an error.
import { isUtf8 } from 'node:buffer';
import type { CrawlPageCapture } from '../db/rows';
import { isBinaryMime, looksBinary, mimeType } from '../content/convert';
import { headerList, headerValue, parseUrl, reasonPhrase, requestHeaders, type HeaderList } from './exchange';

export interface HarCreator {
  name: string;
  version: string;
  comment?: string;
}

const nameValues = (list: HeaderList) => list.map(([name, value]) => ({ name, value }));

export const harPageId = (pageId: number) => `page_${pageId}`;

/** Everything of the first line before the pages. */
export function harOpening(creator: HarCreator): string {
  return `{"log":{"version":"1.2","creator":${JSON.stringify(creator)},"pages":[`;
}

/** Ends the first line: no entries inside it, they follow a line each. */
export const HAR_LOG_CLOSE = '],"entries":[]}}\n';

export function harPage(x: Pick<CrawlPageCapture, 'page_id' | 'final_url' | 'fetched_at'>): string {
  return JSON.stringify({
    startedDateTime: x.fetched_at.toISOString(),
    id: harPageId(x.page_id),
    title: x.final_url,
    pageTimings: { onContentLoad: -1, onLoad: -1 },
  });
}

/** A body as HAR content: text when it can be read as text and written back to the same bytes, else base64. */
export function harContent(body: Buffer, contentType: string | null): { size: number; mimeType: string; text: string; encoding?: 'base64' } {
  const mime = mimeType(contentType);
  const asText = !isBinaryMime(mime) && !looksBinary(body) && isUtf8(body);
  return {
    size: body.length,
    mimeType: contentType ?? 'x-unknown',
    ...(asText ? { text: body.toString('utf8') } : { text: body.toString('base64'), encoding: 'base64' as const }),
  };
}

export function harEntry(x: CrawlPageCapture): Record<string, unknown> {
  const query = parseUrl(x.final_url)?.searchParams ?? new URLSearchParams();
  const responseHeaders = headerList(x.response_headers);
  return {
    pageref: harPageId(x.page_id),
    startedDateTime: x.fetched_at.toISOString(),
    time: x.duration_ms,
    request: {
      method: 'GET',
      url: x.final_url,
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: nameValues(requestHeaders(x)),
      queryString: [...query].map(([name, value]) => ({ name, value })),
      headersSize: -1,
      bodySize: 0,
    },
    response: {
      status: x.status_code,
      statusText: reasonPhrase(x.status_code, x.status_text),
      httpVersion: 'HTTP/1.1',
      cookies: [],
      headers: nameValues(responseHeaders),
      content: harContent(x.body, headerValue(responseHeaders, 'content-type')),
      redirectURL: headerValue(responseHeaders, 'location') ?? '',
      headersSize: -1,
      bodySize: -1,
    },
    cache: {},
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: x.duration_ms, receive: 0 },
    ...(x.url !== x.final_url ? { _requestedUrl: x.url } : {}),
  };
}

/**
 * The streaming HAR, a chunk at a time: the log line with the page list
 * (from `pages`, bodies not read), then an entry line per capture.
 */
export async function* harChunks(
  creator: HarCreator,
  pages: AsyncIterable<Pick<CrawlPageCapture, 'page_id' | 'final_url' | 'fetched_at'>>,
  captures: AsyncIterable<CrawlPageCapture>,
): AsyncGenerator<Buffer> {
  let line = harOpening(creator);
  let first = true;
  for await (const p of pages) {
    line += `${first ? '' : ','}${harPage(p)}`;
    first = false;
    // A long page list goes out in pieces rather than as one string.
    if (line.length >= 64 * 1024) {
      yield Buffer.from(line, 'utf8');
      line = '';
    }
  }
  yield Buffer.from(line + HAR_LOG_CLOSE, 'utf8');
  for await (const x of captures) yield Buffer.from(`${JSON.stringify(harEntry(x))}\n`, 'utf8');
}
