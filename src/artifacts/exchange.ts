// What WARC and HAR both say about one stored exchange: the request's and
// the response's header lists, the reason phrase. A capture keeps headers as
// an object (name → value), as the fetch received them; a value may hold
// several lines (repeated headers joined with "\n"), which become one header
// each, since a raw CR or LF inside a header would break both formats.
import { STATUS_CODES } from 'node:http';
import type { CrawlPageCapture } from '../db/rows';

export type HeaderList = Array<[name: string, value: string]>;

/** RFC 9110 token: anything else cannot be written as a header name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** One header per line of each value (or per item of a list); names that are not tokens are left out. */
export function headerList(headers: Record<string, string | string[]> | null | undefined): HeaderList {
  const out: HeaderList = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!TOKEN.test(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) for (const line of String(v).split(/\r\n|\r|\n/)) out.push([name, line.trim()]);
  }
  return out;
}

/** The stored URL parsed; null if it does not parse (one odd row must not break a whole artifact). */
export function parseUrl(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

/** The first value of a header, by name in any case. */
export function headerValue(list: HeaderList, name: string): string | null {
  const lower = name.toLowerCase();
  for (const [n, v] of list) if (n.toLowerCase() === lower) return v;
  return null;
}

/** The request as sent: Host first (from the URL when the stored headers lack it), then the stored headers. */
export function requestHeaders(x: Pick<CrawlPageCapture, 'final_url' | 'request_headers'>): HeaderList {
  const stored = headerList(x.request_headers);
  const host = headerValue(stored, 'host') ?? parseUrl(x.final_url)?.host ?? '';
  return [['Host', host], ...stored.filter(([n]) => n.toLowerCase() !== 'host')];
}

/** The status line's reason: as received, else the standard phrase, else none. */
export function reasonPhrase(code: number, text: string): string {
  const t = text.replace(/[\r\n]+/g, ' ').trim();
  return t !== '' ? t : (STATUS_CODES[code] ?? '');
}

/** The request target of the request line: path and query of the URL fetched. */
export function requestTarget(url: string): string {
  const u = parseUrl(url);
  return u ? `${u.pathname || '/'}${u.search}` : '/';
}
