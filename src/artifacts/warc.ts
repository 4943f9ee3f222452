// A crawler's WARC (WARC/1.0, ISO 28500): a warcinfo record, then for each
// stored exchange a request record and a response record, each record its
// own gzip member (the usual .warc.gz: a reader may start at any record).
//
// Decisions (the rules and the readers' pitfalls are in the Scrapfly
// compatibility reference, section C1):
// - The response block is HTTP/1.1 whatever the transport was: Scrapfly's
//   SDK helpers read the status from `^HTTP/\d\.\d (\d+)`.
// - The body stored is the body after content decoding, so the response
//   headers must describe that: Content-Encoding and Transfer-Encoding are
//   dropped and Content-Length is the stored length. Readers (warcio) decode
//   by those headers; left as fetched, they would gunzip plain bytes.
// - Record IDs are name-based UUIDs (SHA-1 of the crawl, the page and the
//   record's role), and the warcinfo's date is the crawl's end, so the same
//   finished crawl always gives the same bytes (an immutable download).
// - WARC-Target-URI is the URL the response came from (after redirects);
//   the redirect responses themselves were not kept.
// - HTTP header lines are written in latin1 (the bytes a fetch reads as one
//   char each), UTF-8 only for a value holding a character above U+00FF;
//   WARC header values are UTF-8, as WARC 1.1 allows.
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { CrawlPageCapture } from '../db/rows';
import { headerList, reasonPhrase, requestHeaders, requestTarget, type HeaderList } from './exchange';

const gzipAsync = promisify(gzip);
const CRLF = '\r\n';
const RECORD_END = Buffer.from('\r\n\r\n');

/** What the warcinfo record says about the crawl. */
export interface WarcInfo {
  crawlId: string;
  /** `Hookshot/<version>` */
  software: string;
  /** When the crawl ended (the warcinfo's WARC-Date). */
  date: Date;
  filename: string;
  seedUrl?: string | null;
  userAgent?: string | null;
  robots?: 'obey' | 'ignore';
}

/** WARC-Date: UTC to the second, `YYYY-MM-DDThh:mm:ssZ`. */
export function warcDate(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** A name-based (version 5 layout) UUID as a WARC record ID: `<urn:uuid:…>`. */
export function warcRecordId(crawlId: string, name: string): string {
  const h = createHash('sha1').update(`hookshot-warc:${crawlId}:${name}`).digest();
  h.writeUInt8((h.readUInt8(6) & 0x0f) | 0x50, 6);
  h.writeUInt8((h.readUInt8(8) & 0x3f) | 0x80, 8);
  const x = h.subarray(0, 16).toString('hex');
  return `<urn:uuid:${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}>`;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (a SHA-1's 20 bytes are 32 characters, no padding). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out + '='.repeat((8 - (out.length % 8)) % 8);
}

/** `sha1:<base32>` of the parts, the form WARC-Payload-Digest and WARC-Block-Digest take. */
export function sha1Digest(...parts: Uint8Array[]): string {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return `sha1:${base32(h.digest())}`;
}

/** A WARC header value on one line. */
const oneLine = (v: string) => v.replace(/[\r\n]+/g, ' ');

/** One uncompressed record: version line, headers, Content-Length of the block, blank line, the block, CRLF CRLF. */
export function warcRecord(headers: HeaderList, block: Uint8Array[]): Buffer {
  const length = block.reduce((n, b) => n + b.length, 0);
  let head = `WARC/1.0${CRLF}`;
  for (const [name, value] of headers) head += `${name}: ${oneLine(value)}${CRLF}`;
  head += `Content-Length: ${length}${CRLF}${CRLF}`;
  return Buffer.concat([Buffer.from(head, 'utf8'), ...block, RECORD_END]);
}

/** A line's bytes: latin1 gives back the bytes a fetch read as one char each; a char above U+00FF needs UTF-8. */
function lineBytes(line: string): Buffer {
  for (let i = 0; i < line.length; i++) if (line.charCodeAt(i) > 0xff) return Buffer.from(line, 'utf8');
  return Buffer.from(line, 'latin1');
}

/** HTTP start line and headers, ending with the blank line. */
function httpHead(startLine: string, headers: HeaderList): Buffer {
  const lines = [startLine, ...headers.map(([n, v]) => `${n}: ${v}`)];
  return Buffer.concat([...lines.map((l) => lineBytes(`${l}${CRLF}`)), Buffer.from(CRLF)]);
}

/** Headers that described the bytes on the wire, not the decoded body kept. */
const WIRE_ONLY = new Set(['content-encoding', 'transfer-encoding', 'content-length']);

/** The response block's head: HTTP/1.1 status line and the headers, rewritten for the stored body. */
export function responseHead(x: Pick<CrawlPageCapture, 'status_code' | 'status_text' | 'response_headers' | 'body'>): Buffer {
  const reason = reasonPhrase(x.status_code, x.status_text);
  const headers = headerList(x.response_headers).filter(([n]) => !WIRE_ONLY.has(n.toLowerCase()));
  headers.push(['Content-Length', String(x.body.length)]);
  return httpHead(`HTTP/1.1 ${x.status_code} ${reason}`, headers);
}

/** The request block: `GET <path> HTTP/1.1`, Host and the headers sent; a GET has no body. */
export function requestBlock(x: Pick<CrawlPageCapture, 'final_url' | 'request_headers'>): Buffer {
  return httpHead(`GET ${requestTarget(x.final_url)} HTTP/1.1`, requestHeaders(x));
}

export function warcinfoRecord(info: WarcInfo): Buffer {
  const fields: HeaderList = [
    ['software', info.software],
    ['format', 'WARC File Format 1.0'],
    ['conformsTo', 'http://bibnum.bnf.fr/WARC/WARC_ISO_28500_version1_latestdraft.pdf'],
    ['crawler-uuid', info.crawlId],
  ];
  if (info.seedUrl) fields.push(['seed-url', info.seedUrl]);
  if (info.robots) fields.push(['robots', info.robots]);
  if (info.userAgent) fields.push(['http-header-user-agent', info.userAgent]);
  const block = Buffer.from(fields.map(([n, v]) => `${n}: ${oneLine(v)}${CRLF}`).join(''), 'utf8');
  return warcRecord(
    [
      ['WARC-Type', 'warcinfo'],
      ['WARC-Record-ID', warcinfoId(info.crawlId)],
      ['WARC-Date', warcDate(info.date)],
      ['WARC-Filename', info.filename],
      ['WARC-Block-Digest', sha1Digest(block)],
      ['Content-Type', 'application/warc-fields'],
    ],
    [block],
  );
}

export const warcinfoId = (crawlId: string) => warcRecordId(crawlId, 'warcinfo');

/** A capture's request and response records, uncompressed, in that order. */
export function captureRecords(crawlId: string, x: CrawlPageCapture): [request: Buffer, response: Buffer] {
  const requestId = warcRecordId(crawlId, `page:${x.page_id}:request`);
  const responseId = warcRecordId(crawlId, `page:${x.page_id}:response`);
  const date = warcDate(x.fetched_at);
  const reqBlock = requestBlock(x);
  const request = warcRecord(
    [
      ['WARC-Type', 'request'],
      ['WARC-Record-ID', requestId],
      ['WARC-Date', date],
      ['WARC-Target-URI', x.final_url],
      ['WARC-Warcinfo-ID', warcinfoId(crawlId)],
      ['WARC-Concurrent-To', responseId],
      ['WARC-Block-Digest', sha1Digest(reqBlock)],
      ['Content-Type', 'application/http; msgtype=request'],
    ],
    [reqBlock],
  );
  const head = responseHead(x);
  const response = warcRecord(
    [
      ['WARC-Type', 'response'],
      ['WARC-Record-ID', responseId],
      ['WARC-Date', date],
      ['WARC-Target-URI', x.final_url],
      ['WARC-Warcinfo-ID', warcinfoId(crawlId)],
      ['WARC-Payload-Digest', sha1Digest(x.body)],
      ['WARC-Block-Digest', sha1Digest(head, x.body)],
      ['WARC-Scrape-Duration', (x.duration_ms / 1000).toFixed(3)],
      ['Content-Type', 'application/http; msgtype=response'],
    ],
    [head, x.body],
  );
  return [request, response];
}

/**
 * The .warc.gz, a gzip member per record: the warcinfo, then each capture's
 * request and response as the source yields them. Compression runs off the
 * event loop (zlib's thread pool), one record at a time.
 */
export async function* warcGzipRecords(info: WarcInfo, captures: AsyncIterable<CrawlPageCapture>): AsyncGenerator<Buffer> {
  yield await gzipAsync(warcinfoRecord(info));
  for await (const x of captures) {
    const [request, response] = captureRecords(info.crawlId, x);
    yield await gzipAsync(request);
    yield await gzipAsync(response);
  }
}
